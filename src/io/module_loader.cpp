#include "module_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

namespace realign {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> candidates(const char* module) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path dir = exe.parent_path();
  return {dir / module, dir.parent_path() / module,
          dir.parent_path() / REALIGN_MODULE_INSTALL_DIR / module};
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

void* module_entry(const char* module, const char* symbol, std::string& problem) {
  const std::vector<fs::path> places = candidates(module);
  for (const fs::path& p : places) {
    if (access(p.c_str(), F_OK) != 0) continue;
    // RTLD_NOW: a missing symbol is found here, once, not in the middle of a run.
    // RTLD_LOCAL: ITK's symbols stay the module's own.
    void* handle = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      problem = "cannot load " + p.string() + ": " + one_line(dlerror());
      return nullptr;
    }
    void* entry = dlsym(handle, symbol);
    if (!entry) problem = p.string() + " has no " + symbol + " (from another build?)";
    return entry;
  }
  problem = std::string(module) + " not found (looked in";
  for (const fs::path& p : places) problem += " " + p.parent_path().string();
  if (places.empty()) problem += " no place: /proc/self/exe unreadable";
  problem += ")";
  return nullptr;
}

}  // namespace realign
