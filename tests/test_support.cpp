#include "test_support.hpp"

#include <nifti1_io.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "phantom.hpp"
#include "realign/core/bspline.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/io/nifti_header.hpp"
#include "realign/io/nifti_io.hpp"

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

void write_file(const std::string& path, const std::string& bytes) {
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f.flush()) throw std::runtime_error("cannot write " + path);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

struct LogCapture::State {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1024);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
};

LogCapture::LogCapture(spdlog::level::level_enum level) : state_(std::make_unique<State>()) {
  auto logger = std::make_shared<spdlog::logger>("capture", state_->sink);
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

LogCapture::~LogCapture() { spdlog::set_default_logger(state_->previous); }

std::string LogCapture::text() const {
  std::string out;
  for (const std::string& line : state_->sink->last_formatted()) out += line;
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
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

std::string shared_dicom(const std::string& name) {
  const std::string dir = shared_dir();
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir + "/data/dicom/" + name, ec)) return "";
  return dir + "/data/dicom/" + name;
}

Series dcm2niix_series(const std::string& dicom) {
  if (run_command("command -v dcm2niix >/dev/null 2>&1").status != 0) return {};
  const std::string out = temp_dir("dcm2niix");
  const bool one_file = fs::is_regular_file(dicom);
  const CommandOutput c =
      run_command("dcm2niix -z n -f converted " + std::string(one_file ? "-s y " : "") + "-o '" +
                  out + "' '" + dicom + "' 2>&1");
  std::vector<std::string> made;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().extension() == ".nii") made.push_back(e.path().string());
  if (c.status != 0 || made.size() != 1)
    throw std::runtime_error("dcm2niix " + dicom + ": exit " + std::to_string(c.status) + ", " +
                             std::to_string(made.size()) + " NIfTI files: " + c.text);
  return read_series(made[0]);
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

Volume real_volume(const std::string& run, int frame) {
  const std::string path = shared_dir() + "/data/real/" + run + ".nii.gz";
  if (shared_dir().empty() || !std::filesystem::exists(path)) return {};
  SeriesFile file(path);
  Volume v{file.grid(), std::vector<float>(file.grid().voxels())};
  file.read_frames(frame - 1, frame, v.data.data());
  return v;
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

namespace {

// What shared_phantom() knows: a synthetic phantom, stored as a scanner would store it.
struct SharedPhantom {
  const char* name;
  PhantomSpec spec;
  const char* datatype;
  const char* extension;
};

const std::vector<SharedPhantom>& shared_phantoms() {
  static const std::vector<SharedPhantom> list = [] {
    std::vector<SharedPhantom> l;
    // The phantom: 64x64x34 at 3x3x3.5 mm, 40 frames, up to 2 mm / 2 deg with
    // spikes and 1% noise, stored as int16 and gzipped (tests/app/test_pipeline.cpp).
    l.push_back({"straight", PhantomSpec{}, "int16", ".nii.gz"});
    return l;
  }();
  return list;
}

const SharedPhantom& shared_entry(const std::string& name) {
  for (const SharedPhantom& e : shared_phantoms())
    if (name == e.name) return e;
  throw std::invalid_argument("no shared phantom named '" + name + "'");
}

struct SharedPaths {
  fs::path series, truth, noise;
};

SharedPaths shared_paths(const SharedPhantom& e, const std::string& stem) {
  return {stem + e.extension, stem + "_truth_rp.txt", stem + "_noise.txt"};
}

// The phantom as written in dir, or nothing when the noise file (written last) is absent.
std::unique_ptr<PhantomInput> read_shared(const SharedPhantom& e, const fs::path& dir) {
  const SharedPaths paths = shared_paths(e, (dir / e.name).string());
  std::ifstream noise(paths.noise);
  double sd = 0.0;
  if (!(noise >> sd)) return nullptr;
  auto in = std::make_unique<PhantomInput>();
  in->path = paths.series.string();
  in->spec = e.spec;
  in->phantom.series = read_series(in->path);
  in->phantom.truth = read_rp(paths.truth.string());
  in->phantom.noise_sd = sd;
  return in;
}

}  // namespace

std::vector<std::string> shared_phantom_names() {
  std::vector<std::string> names;
  for (const SharedPhantom& e : shared_phantoms()) names.emplace_back(e.name);
  return names;
}

std::string write_shared_phantom(const std::string& name, const std::string& dir) {
  const SharedPhantom& e = shared_entry(name);
  const Phantom p = make_phantom(e.spec);
  const SharedPaths paths = shared_paths(e, (fs::path(dir) / e.name).string());
  // Temporary names, then renames with the noise file last: a reader never sees a
  // phantom half written.
  const SharedPaths tmp = shared_paths(e, (fs::path(dir) / ("." + std::string(e.name) + "-" +
                                                            std::to_string(std::random_device{}())))
                                              .string());
  fs::remove(paths.noise);
  write_phantom(p, tmp.series.string(), tmp.truth.string(), e.datatype);
  {
    std::ofstream noise(tmp.noise);
    char text[64];
    std::snprintf(text, sizeof text, "%.17g\n", p.noise_sd);
    noise << text;
    if (!noise.flush()) throw std::runtime_error("cannot write " + tmp.noise.string());
  }
  fs::rename(tmp.series, paths.series);
  fs::rename(tmp.truth, paths.truth);
  fs::rename(tmp.noise, paths.noise);
  return paths.series.string();
}

const PhantomInput& shared_phantom(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<PhantomInput>> cache;
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<PhantomInput>& slot = cache[name];
  if (slot) return *slot;
  const SharedPhantom& e = shared_entry(name);
  if (const char* dir = std::getenv("REALIGN_TEST_PHANTOMS")) {
    slot = read_shared(e, dir);
    if (!slot)
      std::fprintf(stderr, "note: phantom '%s' is not in REALIGN_TEST_PHANTOMS=%s; rendering it\n",
                   name.c_str(), dir);
  }
  if (!slot) {
    const std::string own = temp_dir("phantom-" + name);
    write_shared_phantom(name, own);
    slot = read_shared(e, own);
  }
  return *slot;
}

CommandOutput run_command(const std::string& cmd) {
  CommandOutput out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) out.text += buf;
  out.status = pclose(p);
  return out;
}

void write_small_series(const std::string& dir) {
  Grid g;
  g.dim = {13, 11, 7};
  g.vox2world.diagonal() << 3.0, 3.0, 3.5, 1.0;
  const int frames = 5;
  std::vector<float> data(g.voxels() * frames);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = 100.0f * std::sin(0.013f * i) + 40.0f;
  data[17] = std::nanf("");
  for (const char* name : {"f.nii", "f.nii.gz"})
    write_image(dir + "/" + name, make_header(g, frames, 2.0, 16), g, frames, data.data(),
                OutputType::Float32);
  NiftiHeader scaled = make_header(g, frames, 2.0, datatype_from_name("int16"));
  static_cast<nifti_1_header*>(const_cast<void*>(scaled.raw.get()))->scl_slope = 0.5f;
  static_cast<nifti_1_header*>(const_cast<void*>(scaled.raw.get()))->scl_inter = -3.0f;
  for (const char* name : {"s.nii", "s.nii.gz"})
    write_image(dir + "/" + name, scaled, g, frames, data.data(), OutputType::Input);
}

std::vector<float> write_damaged_gzips(const std::string& dir) {
  Grid g;
  g.dim = {16, 16, 8};
  std::vector<float> data(g.voxels() * 3);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(std::sin(i * 0.01));
  write_image(dir + "/ok.nii.gz", make_header(g, 3, 1.0, 16), g, 3, data.data(),
              OutputType::Float32);
  const std::string bytes = slurp(dir + "/ok.nii.gz");
  write_file(dir + "/short.nii.gz", bytes.substr(0, bytes.size() * 3 / 4));
  std::string flipped = bytes;
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 32; ++i) flipped[i] ^= 0x5a;
  write_file(dir + "/flipped.nii.gz", flipped);
  return data;
}

std::string big_endian_int16_nii(const std::array<int, 3>& dim, int frames) {
  Grid g;
  g.dim = dim;
  const NiftiHeader h = make_header(g, frames, 2.0, datatype_from_name("int16"));
  nifti_1_header be = *static_cast<const nifti_1_header*>(h.raw.get());
  be.vox_offset = 352.0f;
  std::memcpy(be.magic, "n+1\0", 4);
  swap_nifti_header(&be, 1);
  std::vector<std::int16_t> values(g.voxels() * frames);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<std::int16_t>(i * 37 - 500);
  nifti_swap_2bytes(values.size(), values.data());
  std::string bytes(reinterpret_cast<const char*>(&be), sizeof(be));
  bytes.append(4, '\0');
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * 2);
  return bytes;
}

Volume rounded_first_frame(PhantomSpec spec) {
  spec.frames = 1;
  const Phantom p = make_phantom(spec);
  Volume v{p.series.grid, p.series.data};
  for (float& x : v.data) x = std::nearbyint(x);
  return v;
}

}  // namespace realign::testing
