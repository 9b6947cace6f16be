#include "test_support.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <vector>

#include "phantom.hpp"
#include "realign/core/bspline.hpp"

namespace fs = std::filesystem;

namespace realign::testing {
namespace {

// The library logs progress at info level; tests only want warnings and errors.
const bool kQuietLogs = [] {
  spdlog::set_level(spdlog::level::warn);
  return true;
}();
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

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

std::string shared_dir() {
  const char* env = std::getenv("REALIGN_SHARED_DIR");
  fs::path p = env ? fs::path(env) : fs::path(REALIGN_SHARED_DIR);
  std::error_code ec;
  if (fs::is_directory(p / "data" / "real", ec)) return fs::canonical(p).string();
  return "";
}

double textbook_spline(const float* coef, const std::array<int, 3>& dim, int degree, double x,
                       double y, double z) {
  double wx[8], wy[8], wz[8];
  const int fx = realign::bspline_weights(degree, x, wx, nullptr);
  const int fy = realign::bspline_weights(degree, y, wy, nullptr);
  const int fz = realign::bspline_weights(degree, z, wz, nullptr);
  double s = 0.0;
  for (int k = 0; k <= degree; ++k)
    for (int j = 0; j <= degree; ++j)
      for (int i = 0; i <= degree; ++i) {
        const std::size_t idx =
            realign::mirror_index(fx + i, dim[0]) +
            static_cast<std::size_t>(dim[0]) *
                (realign::mirror_index(fy + j, dim[1]) +
                 static_cast<std::size_t>(dim[1]) * realign::mirror_index(fz + k, dim[2]));
        s += wx[i] * wy[j] * wz[k] * coef[idx];
      }
  return s;
}

Volume synthetic_slab(int first, int count) {
  PhantomSpec spec;
  spec.frames = 1;
  spec.noise = 0.0;
  const Phantom p = make_phantom(spec);
  const Grid& g = p.series.grid;
  Volume v;
  v.grid.dim = {g.dim[0], g.dim[1], count};
  v.grid.vox2world = g.vox2world;
  v.grid.vox2world.col(3) = g.vox2world * Eigen::Vector4d(0, 0, first, 1);
  const std::size_t plane = static_cast<std::size_t>(g.dim[0]) * g.dim[1];
  v.data.assign(p.series.frame(0) + first * plane, p.series.frame(0) + (first + count) * plane);
  return v;
}

}  // namespace realign::testing
