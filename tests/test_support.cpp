#include "test_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <vector>

namespace fs = std::filesystem;

namespace realign::testing {
namespace {
std::vector<fs::path>& created() {
  static std::vector<fs::path> dirs;
  static bool registered = false;
  if (!registered) {
    registered = true;
    std::atexit([] {
      std::error_code ec;
      if (std::getenv("REALIGN_KEEP_TEST_FILES")) return;
      for (auto& d : created()) fs::remove_all(d, ec);
    });
  }
  return dirs;
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::random_device rd;
  for (;;) {
    fs::path p = fs::temp_directory_path() / ("realign-" + tag + "-" + std::to_string(rd()));
    if (fs::create_directory(p)) {
      created().push_back(p);
      return p.string();
    }
  }
}

std::string shared_dir() {
  const char* env = std::getenv("REALIGN_SHARED_DIR");
  fs::path p = env ? fs::path(env) : fs::path(REALIGN_SHARED_DIR);
  std::error_code ec;
  if (fs::is_directory(p / "data" / "real", ec)) return fs::canonical(p).string();
  return "";
}

}  // namespace realign::testing
