// Helpers shared by the tests: temporary directories, files, the optional shared data, the
// shared phantoms, and the log.
#pragma once

#include <spdlog/common.h>

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "phantom.hpp"
#include "realign/core/volume.hpp"
#include "realign/io/errors.hpp"

namespace realign::testing {

// A fresh empty directory under the system temp dir, removed at process exit.
std::string temp_dir(const std::string& tag);

// The whole file as bytes ("" when it cannot be read).
std::string slurp(const std::string& path);

// Writes bytes to path as they are, making the directories above it first; throws
// std::runtime_error when it cannot.
void write_file(const std::string& path, const std::string& bytes);

// The lines of text without their line ends (a last line counts without one too).
std::vector<std::string> lines_of(const std::string& text);

// The fields of a line of a TSV file, empty ones included ("a\t\tb" has three).
std::vector<std::string> split_tabs(const std::string& line);

// What a shell command prints (stdout; add 2>&1 for stderr) and its exit status.
struct CommandOutput {
  std::string text;
  int status = -1;  // pclose's status: 0 when the command exited with 0
};
CommandOutput run_command(const std::string& cmd);

// While it lives, the default logger is one that keeps what is logged at `level` and above
// (the last 1024 messages, formatted); the logger before it is back when it goes.
//   LogCapture capture(spdlog::level::warn);
//   ...
//   EXPECT_NE(capture.text().find("..."), std::string::npos);
class LogCapture {
 public:
  explicit LogCapture(spdlog::level::level_enum level);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  // The messages kept so far, one line each.
  std::string text() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// How many times needle occurs in text (overlaps counted).
std::size_t count_of(const std::string& text, const std::string& needle);

// A small series of 5 frames on a 13x11x7 grid, written four ways into `dir`: f.nii and
// f.nii.gz as float32 (one voxel NaN), s.nii and s.nii.gz as int16 with scl_slope 0.5 and
// scl_inter -3 (stored values, then scaling).
void write_small_series(const std::string& dir);

// A float32 .nii.gz of 3 frames on a 16x16x8 grid as dir/ok.nii.gz, and two damaged copies
// of it beside it: dir/short.nii.gz, its first three quarters, and dir/flipped.nii.gz, with
// 32 bytes from its middle on XORed with 0x5a. Returns the series' values.
std::vector<float> write_damaged_gzips(const std::string& dir);

// A big-endian .nii (int16, vox_offset 352) of `frames` frames on a grid of `dim`, whose
// voxel n holds n * 37 - 500: a file in the other byte order, as bytes.
std::string big_endian_int16_nii(const std::array<int, 3>& dim, int frames);

// Path of ../shared beside the source tree, or "" when it is absent.
std::string shared_dir();

// The shared real DICOM folder data/dicom/<name> (siemens-mosaic_decnef_sub-1_run-2,
// ge-slices_dcmqa-nih_mr_0005), or "" when the shared data are absent.
std::string shared_dicom(const std::string& name);

// What Debian's dcm2niix makes of DICOM files, read back: the NIfTI it converts `dicom` to
// (a directory, or one file with -s y), as realign reads a NIfTI (the grid from its
// header's sform, the values scaled). An empty series (frames 0) when dcm2niix is not
// installed; throws std::runtime_error when it fails or makes not one NIfTI.
Series dcm2niix_series(const std::string& dicom);

// The B-spline value at (x, y, z) the textbook way: weights from the truncated-power
// definition (bspline_weights), indices mirrored one by one, a plain triple sum. An
// independent check on the padded, vectorised evaluation of the library.
double textbook_spline(const float* coef, const std::array<int, 3>& dim, int degree, double x,
                       double y, double z);

// Frame `frame` (1-based) of the shared real run data/real/<run>.nii.gz, or an empty
// volume when the shared data are absent.
Volume real_volume(const std::string& run, int frame);

// A real-looking source for phantoms without the shared data: frame 0 of the synthetic
// head (64x64x34 at 3x3x3.5 mm, noiseless), cut to slices [first, first + count) so that
// the slab cuts through the head as real EPI slabs do.
Volume synthetic_slab(int first, int count);

// A phantom as a test reads it: the NIfTI file that is the run's input, the spec it was
// made from, and the phantom with its truth and noise level (its series is the file's
// content, read back).
struct PhantomInput {
  std::string path;
  PhantomSpec spec;
  Phantom phantom;
};

// Phantoms that several test processes read, by name (shared_phantom_names()). Rendering
// one costs seconds, and ctest runs every test in its own process, so under ctest the
// setup test phantoms.render (tests/CMakeLists.txt) writes them once per ctest run into
// the directory named by the environment variable REALIGN_TEST_PHANTOMS, and the tests
// that need them read them there. Without that variable (the test binary run by hand), or
// when a phantom is missing there, it is rendered into a temporary directory on first
// use, once per process. Throws std::invalid_argument for an unknown name.
const PhantomInput& shared_phantom(const std::string& name);

// The names shared_phantom() knows.
std::vector<std::string> shared_phantom_names();

// Renders phantom `name` into dir, as the setup test does: the series, its truth as an rp
// file and its noise level; returns the series' path.
std::string write_shared_phantom(const std::string& name, const std::string& dir);

// Frame 0 of the phantom `spec` describes (spec.frames set to 1), rounded as int16 storage
// rounds it: the volume the DICOM tests write.
Volume rounded_first_frame(PhantomSpec spec);

// The one line `call` ends with as an InputError, or "" when it returns.
template <class Call>
std::string input_error_of(Call&& call) {
  try {
    call();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace realign::testing
