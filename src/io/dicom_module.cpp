#include "dicom_module.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "realign/io/dicom_io.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

struct Loaded {
  RealignDicomRead read = nullptr;
  std::string problem;  // why read is null
};

// Where the module may be, relative to the running executable (not to the working
// directory or a search path, so that the module found is the one built or installed with
// it): beside it (build/realign), one directory up (the test binaries in build/tests), and
// the install layout (bin/realign, lib/realign/).
std::vector<fs::path> candidates() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path dir = exe.parent_path();
  return {dir / REALIGN_DICOM_MODULE, dir.parent_path() / REALIGN_DICOM_MODULE,
          dir.parent_path() / REALIGN_DICOM_INSTALL_DIR / REALIGN_DICOM_MODULE};
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

// The first candidate that exists is the one loaded: a module there that does not load is
// reported as such rather than passed over for another build's.
Loaded load() {
  Loaded out;
  const std::vector<fs::path> places = candidates();
  for (const fs::path& p : places) {
    if (access(p.c_str(), F_OK) != 0) continue;
    // RTLD_NOW: a missing symbol is found here, once, not in the middle of a follow.
    // RTLD_LOCAL: ITK's and GDCM's symbols stay the module's own.
    void* handle = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      out.problem = "cannot load " + p.string() + ": " + one_line(dlerror());
      return out;
    }
    out.read = reinterpret_cast<RealignDicomRead>(dlsym(handle, REALIGN_DICOM_READ_SYMBOL));
    if (!out.read)
      out.problem = p.string() + " has no " REALIGN_DICOM_READ_SYMBOL " (from another build?)";
    return out;  // never closed: the reader is used until the process ends
  }
  out.problem = REALIGN_DICOM_MODULE " not found (looked in";
  for (const fs::path& p : places) out.problem += " " + p.parent_path().string();
  if (places.empty()) out.problem += " no place: /proc/self/exe unreadable";
  out.problem += ")";
  return out;
}

}  // namespace

RealignDicomRead dicom_reader(const std::string& dicom_file) {
  // Loaded by the first reader, once, whichever thread that is.
  static const Loaded loaded = load();
  if (!loaded.read)
    throw DicomSupportMissing(dicom_file, "DICOM support is missing: " + loaded.problem);
  return loaded.read;
}

}  // namespace realign
