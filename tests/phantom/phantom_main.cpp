// realign-phantom: test data with known motion, and how far an estimate is from it.
//   realign-phantom [options] OUT.nii[.gz]                   a synthetic head
//   realign-phantom --from RUN.nii.gz --frame K [...] OUT    a real volume, moved
//   realign-phantom compare TRUTH_rp.txt EST_rp.txt IMAGE    the error of an estimate
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "phantom.hpp"
#include "realign/io/errors.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/io/nifti_io.hpp"

namespace {

using namespace realign;

struct Args {
  PhantomSpec synthetic;
  std::vector<int> dim{64, 64, 34};
  std::vector<double> voxel{3.0, 3.0, 3.5};
  std::string output, truth, datatype = "int16";
  std::string from, motion;
  int frame = 1;
  RealismSpec realism;
  bool quiet = false;
};

void add_synthetic(CLI::App& app, Args& a) {
  PhantomSpec& s = a.synthetic;
  app.add_option("output", a.output, "phantom series (.nii or .nii.gz)");
  app.add_option("--truth", a.truth, "true parameters in rp format (default: <stem>_truth_rp.txt)");
  app.add_option("--dim", a.dim, "grid size (3 numbers)")->expected(3)->capture_default_str();
  app.add_option("--voxel", a.voxel, "voxel size in mm (3 numbers)")
      ->expected(3)
      ->capture_default_str();
  app.add_option("--frames", s.frames, "number of frames")
      ->capture_default_str()
      ->check(CLI::Range(2, 100000));
  app.add_option("--max-trans", s.max_trans_mm, "largest translation, mm")->capture_default_str();
  app.add_option("--max-rot", s.max_rot_deg, "largest rotation, degrees")->capture_default_str();
  app.add_option("--spikes", s.spikes, "frames with a sudden jump")->capture_default_str();
  app.add_option("--noise", s.noise, "noise sd as a fraction of mean head signal")
      ->capture_default_str();
  app.add_option("--tr", s.tr_s, "repetition time, s")->capture_default_str();
  app.add_flag("--oblique", s.oblique, "tilted voxel grid (synthetic head)");
  app.add_option("--seed", s.seed, "random seed")->capture_default_str();
  app.add_option("--datatype", a.datatype, "uint8 int16 uint16 int32 float32 float64")
      ->capture_default_str();
  app.add_flag("-q,--quiet", a.quiet, "no message on success");
}

void add_from_volume(CLI::App& app, Args& a) {
  RealismSpec& r = a.realism;
  app.add_option("--from", a.from,
                 "move a volume of this real run instead of drawing a head (its grid; --dim, "
                 "--voxel and --oblique do not apply)")
      ->check(CLI::ExistingFile);
  app.add_option("--frame", a.frame, "with --from: the frame to move (1-based)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option(
         "--motion", a.motion,
         "with --from: the motion itself, an rp file (one row per frame, the first all zeros)")
      ->check(CLI::ExistingFile);
  app.add_option("--receive-field", r.receive_field,
                 "with --from: stationary multiplicative field of this amplitude (0.2 = +-20%), "
                 "fixed in scanner space")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--activation", r.activation,
                 "with --from: blobs whose signal rises by this fraction in the on blocks")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--task-motion", r.task_motion_mm,
                 "with --from: motion following the task boxcar, mm of z (and mm/50 rad of pitch)")
      ->check(CLI::Range(0.0, 20.0));
  app.add_option("--block", r.block_frames, "frames per block of the task boxcar")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--nonsteady", r.nonsteady_frames,
                 "with --from: the first N frames brighter (before T1 equilibrium)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--nonsteady-gain", r.nonsteady_gain,
                 "brightness excess of the first non-steady-state frame")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 5.0));
}

Phantom make(Args& a) {
  PhantomSpec& s = a.synthetic;
  if (a.from.empty()) {
    std::copy(a.dim.begin(), a.dim.end(), s.dim.begin());
    std::copy(a.voxel.begin(), a.voxel.end(), s.voxel_mm.begin());
    return make_phantom(s);
  }
  SeriesFile run(a.from);
  if (a.frame > run.frames())
    throw UsageError(fmt::format("--frame {}: {} has {} frames", a.frame, a.from, run.frames()));
  Volume source{run.grid(), std::vector<float>(run.grid().voxels())};
  run.read_frames(a.frame - 1, a.frame, source.data.data());
  FromVolumeSpec spec{
      {s.frames, s.max_trans_mm, s.max_rot_deg, s.spikes, s.seed}, a.realism, s.noise, s.tr_s, {}};
  if (!a.motion.empty()) spec.given_motion = read_rp(a.motion);
  return make_phantom_from_volume(source, spec);
}

struct CompareArgs {
  std::string truth, estimate, image;
  int from_frame = 1, block = 0;
};

void add_compare(CLI::App& compare, CompareArgs& c) {
  compare.add_option("truth", c.truth, "the phantom's _truth_rp.txt")
      ->required()
      ->check(CLI::ExistingFile);
  compare.add_option("estimate", c.estimate, "the estimate's _rp.txt")
      ->required()
      ->check(CLI::ExistingFile);
  compare.add_option("image", c.image, "the phantom (for the grid centre)")
      ->required()
      ->check(CLI::ExistingFile);
  compare
      .add_option("--from-frame", c.from_frame,
                  "measure frames from this one on (1-based), re-based to it")
      ->check(CLI::PositiveNumber);
  compare
      .add_option("--block", c.block,
                  "also the error that follows a boxcar of blocks of this many frames (off first)")
      ->check(CLI::NonNegativeNumber);
}

// Prints "mean_mm M max_mm X frames N" and, with a block, "task_mm T".
void compare_rp(const CompareArgs& c) {
  const std::vector<RigidParams> truth = read_rp(c.truth), est = read_rp(c.estimate);
  if (truth.size() != est.size())
    throw InputError(c.estimate,
                     fmt::format("{} rows, the truth has {}", est.size(), truth.size()));
  const Vec3 centre = read_nifti_header(c.image).grid.centre_mm();
  const Displacement d = parameter_error(truth, est, centre, c.from_frame - 1);
  std::string line = fmt::format("mean_mm {:.4f} max_mm {:.4f} frames {}", d.mean_mm, d.max_mm,
                                 truth.size() - (c.from_frame - 1));
  if (c.block > 0)
    line +=
        fmt::format(" task_mm {:.4f}",
                    task_correlated_error(truth, est, task_boxcar(truth.size(), c.block), centre));
  std::printf("%s\n", line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CompareArgs c;
  CLI::App app{"realign-phantom: fMRI series with known motion, for tests and demos"};
  add_synthetic(app, a);
  add_from_volume(app, a);
  CLI::App* compare = app.add_subcommand(
      "compare",
      "mean and max displacement error of an estimate against a phantom's truth (50 mm sphere)");
  add_compare(*compare, c);
  CLI11_PARSE(app, argc, argv);
  try {
    if (*compare) {
      compare_rp(c);
      return 0;
    }
    if (a.output.empty()) throw UsageError("an output path is needed");
    if (a.truth.empty()) a.truth = split_image_path(a.output).first + "_truth_rp.txt";
    write_phantom(make(a), a.output, a.truth, a.datatype);
    if (!a.quiet)
      std::fprintf(stderr, "realign-phantom: wrote %s and %s\n", a.output.c_str(), a.truth.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "realign-phantom: error: %s\n", e.what());
    return exit_status_of(e);
  }
}
