// realign: command line only. Parses options into realign::Options and runs the library.
#include <mpi.h>  // only for the Open MPI version in --version
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <string>

#include "realign/distribute.hpp"
#include "realign/metrics.hpp"
#include "realign/nifti_io.hpp"
#include "realign/options.hpp"
#include "realign/output_set.hpp"
#include "realign/outputs.hpp"
#include "realign/phantom.hpp"
#include "realign/pipeline.hpp"
#include "realign/progress.hpp"

namespace {

const char* kExamples = R"(
Examples:
  realign bold.nii.gz bold_realigned.nii.gz
      one process, OpenMP threads on all cores
  mpirun --bind-to hwthread --map-by core realign bold.nii bold_r.nii
      one MPI rank per core
  realign --ref first --no-reslice bold.nii.gz est/bold.nii.gz
      parameters and reports only, every frame registered to frame 1
  realign --ref 10 --reslice-degree 1 --datatype input bold.nii r.nii
      frame 10 as reference, trilinear reslicing, the input's datatype
  realign apply --xfm r_xfm.txt echo2.nii.gz echo2_r.nii.gz
      reslice another series with the transforms a run saved
  realign phantom --frames 40 --datatype int16 phantom.nii.gz
      test data with known motion (truth in phantom_truth_rp.txt)

Outputs (from the output path's stem, here OUT for OUT.nii.gz):
  OUT.nii.gz            resliced series (float32 unless --datatype input)
  OUT_mean.nii.gz       mean of the resliced frames
  OUT_rp.txt            SPM-style motion parameters: tx ty tz (mm) pitch roll yaw (rad)
  OUT_confounds.tsv     trans_*, rot_*, framewise_displacement, rmsd, dvars and the
                        24-parameter motion expansion (+ OUT_confounds.json sidecar)
  OUT_xfm.txt           per-frame 4x4 world (RAS mm) matrices
  OUT_motion.svg        motion plot (translations, rotations, FD)
  OUT_report.html       QC report: summary, motion plots, mean image before and after
  OUT.par               with --par: the rp columns in FSL MCFLIRT's order
  Every file and column: docs/outputs.md

Exit status:
  0       success (frames that did not converge only warn)
  1       input refused: unreadable or invalid file, bad header or reference, constant
          or all-NaN series, memory estimate above the limit
  2       command-line usage error
  3       an output could not be written (missing directory, disk full, permission)
  4       internal error, or another MPI rank failed
  128+N   stopped by signal N (130 SIGINT, 143 SIGTERM); temporaries are removed
)";

// The second line of --version: what a batch log needs to tell two builds apart.
std::string build_info() {
  std::string s = "built with ";
#if defined(__clang__)
  s += "Clang " __clang_version__;
#elif defined(__GNUC__)
  s += "GCC " __VERSION__;
#else
  s += "an unknown compiler";
#endif
#ifdef REALIGN_BUILD_TYPE
  s += std::string(", ") + (REALIGN_BUILD_TYPE[0] ? REALIGN_BUILD_TYPE : "no build type");
#endif
#if defined(REALIGN_MARCH_NATIVE) && REALIGN_MARCH_NATIVE
  s += ", -march=native";
#else
  s += ", portable (no -march=native)";
#endif
#ifdef _OPENMP
  s += ", OpenMP " + std::to_string(_OPENMP);
#endif
#ifdef OMPI_MAJOR_VERSION
  s += ", Open MPI " + std::to_string(OMPI_MAJOR_VERSION) + "." +
       std::to_string(OMPI_MINOR_VERSION) + "." + std::to_string(OMPI_RELEASE_VERSION);
#endif
  return s;
}

void print_summary(const realign::RunResult& r, double fd_radius) {
  double max_t = 0, max_r = 0, mean_fd = 0;
  for (const auto& q : r.rp) {
    for (int k = 0; k < 3; ++k) max_t = std::max(max_t, std::fabs(q[k]));
    for (int k = 3; k < 6; ++k) max_r = std::max(max_r, std::fabs(q[k]));
  }
  const std::vector<double> fd = realign::framewise_displacement(r.rp, fd_radius);
  for (std::size_t f = 1; f < fd.size(); ++f) mean_fd += fd[f] / (fd.size() - 1);
  spdlog::info("motion: max |translation| {:.3f} mm, max |rotation| {:.3f} deg, mean FD {:.3f} mm",
               max_t, max_r * 180.0 / M_PI, mean_fd);
  spdlog::info(
      "time: read {:.2f} s, estimate {:.2f} s, reslice {:.2f} s, write {:.2f} s, total {:.2f} s",
      r.seconds_read, r.seconds_estimate, r.seconds_reslice, r.seconds_write, r.seconds_total);
  spdlog::info("memory: peak {:.0f} MB summed over ranks ({:.2f} x the float32 series)",
               r.peak_memory_mb, r.series_mb > 0 ? r.peak_memory_mb / r.series_mb : 0.0);
  for (const auto& o : r.outputs) spdlog::info("wrote {}", o);
}

}  // namespace

int main(int argc, char** argv) {
  realign::MpiSession mpi(&argc, &argv);
  realign::install_signal_handlers(mpi.rank() == 0);
  auto logger = spdlog::stderr_color_mt("realign");
  logger->set_pattern("realign: %^%l%$: %v");
  spdlog::set_default_logger(logger);

  realign::Options opt;
  std::string datatype = "float32", split = "frames";
  bool quiet = false, verbose = false;
  CLI::App app{"realign: rigid-body motion correction of 4D fMRI (SPM12-style, MPI + OpenMP)"};
  app.footer(kExamples);
  app.fallthrough();  // -q/-v may follow the subcommand name
  app.set_version_flag("--version",
                       std::string("realign ") + REALIGN_VERSION + "\n" + build_info());
  app.add_option("input", opt.input, "4D NIfTI series (.nii or .nii.gz)");
  app.add_option("output", opt.output,
                 "resliced output (.nii or .nii.gz); names the other outputs");
  app.add_option("--ref", opt.reference,
                 "reference: mean (two passes, as SPM), first, median (the frame closest to "
                 "the run's voxel-wise median), a frame number (1-based) or a 3D NIfTI on "
                 "the same grid; the log names the frame used")
      ->capture_default_str();
  app.add_option("--fwhm", opt.estimate.fwhm_mm, "smoothing before estimation, FWHM in mm")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 50.0));
  app.add_option("--sep", opt.estimate.sep_mm, "sample point spacing in mm")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 100.0));
  app.add_option("--quality", opt.estimate.quality,
                 "fraction of the information kept when thinning sample points (0-1]")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1.0));
  std::string intensity = "global";
  app.add_option("--intensity", intensity,
                 "intensity model of the fit: global (one scale per frame, as SPM) or linear "
                 "(a scale that varies linearly across the volume: a receive coil's profile)")
      ->capture_default_str()
      ->check(CLI::IsMember({"global", "linear"}));
  app.add_option("--dummy-scans", opt.dummy_scans,
                 "non-steady-state frames at the start (kept out of the reference, flagged in "
                 "the confounds); default: detected from the frames' global means")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--robust", opt.estimate.robust,
               "robust estimation: reweight the sample points by their residuals (Tukey's "
               "biweight), so that activation and artefacts pull the motion less");
  app.add_option("--est-degree", opt.estimate.degree, "B-spline degree for estimation")
      ->capture_default_str()
      ->check(CLI::Range(1, 5));
  app.add_option("--reslice-degree", opt.reslice_degree, "B-spline degree for reslicing")
      ->capture_default_str()
      ->check(CLI::Range(0, 5));
  app.add_option("--max-iter", opt.estimate.max_iter,
                 "Gauss-Newton iterations at most, per frame and pass")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--tol", opt.estimate.tol,
                 "stop when the relative decrease of the mean squared residual is below this")
      ->capture_default_str()
      ->check(CLI::Range(1e-16, 1.0));
  app.add_flag("!--no-reslice", opt.reslice,
               "estimate only: write parameters and reports, no images");
  app.add_flag("!--no-mask", opt.mask, "keep voxels that some frames cannot see");
  app.add_flag("--par", opt.write_par,
               "also write OUT.par: the rp columns in FSL MCFLIRT's order (rotations first)");
  app.add_option("--datatype", datatype, "output datatype: float32, or input (rounded, clamped)")
      ->capture_default_str()
      ->check(CLI::IsMember({"float32", "input"}));
  app.add_option("--fd-radius", opt.fd_radius_mm, "head radius in mm for framewise displacement")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1000.0));
  app.add_option("--fd-threshold", opt.fd_threshold_mm,
                 "FD in mm above which a frame is flagged in the plot and the report")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  app.add_flag("!--no-report", opt.report, "do not write the HTML QC report");
  app.add_option("--split", split,
                 "MPI work split: frames (blocks of frames per rank) or points (sample points of "
                 "each frame)")
      ->capture_default_str()
      ->check(CLI::IsMember({"frames", "points"}));
  app.add_option("--threads", opt.threads,
                 "OpenMP threads per rank (default: OMP_NUM_THREADS or all)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--max-memory", opt.max_memory_mb,
                 "refuse inputs needing more than this many MB on rank 0's node (default: "
                 "what the machine, the job's cgroup or ulimit -v allows)")
      ->check(CLI::PositiveNumber);
  app.add_flag("-q,--quiet", quiet, "warnings and errors only");
  app.add_flag("-v,--verbose", verbose, "debug output");

  realign::PhantomSpec ph;
  std::string ph_out, ph_rp, ph_type = "int16";
  CLI::App* phantom =
      app.add_subcommand("phantom", "write a synthetic 4D head with known rigid motion");
  phantom->add_option("output", ph_out, "phantom series (.nii or .nii.gz)")->required();
  phantom->add_option("--truth", ph_rp,
                      "true parameters in rp format (default: <stem>_truth_rp.txt)");
  std::vector<int> ph_dim(ph.dim.begin(), ph.dim.end());
  std::vector<double> ph_vox(ph.voxel_mm.begin(), ph.voxel_mm.end());
  phantom->add_option("--dim", ph_dim, "grid size (3 numbers)")->expected(3)->capture_default_str();
  phantom->add_option("--voxel", ph_vox, "voxel size in mm (3 numbers)")
      ->expected(3)
      ->capture_default_str();
  phantom->add_option("--frames", ph.frames, "number of frames")
      ->capture_default_str()
      ->check(CLI::Range(2, 100000));
  phantom->add_option("--max-trans", ph.max_trans_mm, "largest translation, mm")
      ->capture_default_str();
  phantom->add_option("--max-rot", ph.max_rot_deg, "largest rotation, degrees")
      ->capture_default_str();
  phantom->add_option("--spikes", ph.spikes, "frames with a sudden jump")->capture_default_str();
  phantom->add_option("--noise", ph.noise, "noise sd as a fraction of mean head signal")
      ->capture_default_str();
  phantom->add_option("--tr", ph.tr_s, "repetition time, s")->capture_default_str();
  phantom->add_flag("--oblique", ph.oblique, "tilted voxel grid");
  phantom->add_option("--seed", ph.seed, "random seed")->capture_default_str();
  phantom->add_option("--datatype", ph_type, "uint8 int16 uint16 int32 float32 float64")
      ->capture_default_str();
  std::string ph_from;
  int ph_frame = 1;
  realign::RealismSpec real;
  phantom
      ->add_option("--from", ph_from,
                   "move a volume of this real run instead of drawing a head (its grid; "
                   "--dim, --voxel and --oblique do not apply)")
      ->check(CLI::ExistingFile);
  std::string ph_motion;
  phantom
      ->add_option("--motion", ph_motion,
                   "with --from: the motion itself, an rp file (one row per frame, the "
                   "first all zeros) instead of drift and spikes")
      ->check(CLI::ExistingFile);
  phantom->add_option("--frame", ph_frame, "with --from: the frame to move (1-based)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  phantom
      ->add_option("--receive-field", real.receive_field,
                   "with --from: stationary multiplicative field of this amplitude (0.2 = "
                   "+-20%), fixed in scanner space")
      ->check(CLI::Range(0.0, 0.9));
  phantom
      ->add_option("--activation", real.activation,
                   "with --from: blobs whose signal rises by this fraction in the on blocks")
      ->check(CLI::Range(0.0, 1.0));
  phantom
      ->add_option("--task-motion", real.task_motion_mm,
                   "with --from: motion following the task boxcar, mm of z (and mm/50 rad "
                   "of pitch)")
      ->check(CLI::Range(0.0, 20.0));
  phantom->add_option("--block", real.block_frames, "frames per block of the task boxcar")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  phantom
      ->add_option("--nonsteady", real.nonsteady_frames,
                   "with --from: the first N frames brighter (before T1 equilibrium)")
      ->check(CLI::Range(0, 100000));
  phantom
      ->add_option("--nonsteady-gain", real.nonsteady_gain,
                   "brightness excess of the first non-steady-state frame")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 5.0));

  CLI::App* apply = app.add_subcommand(
      "apply",
      "reslice a series with transforms saved by an earlier run (OUT_xfm.txt), without "
      "estimating: another echo, or any series on the same grid with as many frames; "
      "--reslice-degree, --datatype, --no-mask and --threads apply");
  std::string ap_in, ap_out;
  apply->add_option("--xfm", opt.apply_xfm, "the OUT_xfm.txt of an earlier run")
      ->required()
      ->check(CLI::ExistingFile);
  apply->add_option("input", ap_in, "series to reslice (.nii or .nii.gz)")->required();
  apply->add_option("output", ap_out, "resliced output; OUT_mean beside it")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = mpi.rank() == 0 ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 2);
    return code == 0 ? 0 : 2;
  }
  spdlog::set_level(quiet     ? spdlog::level::warn
                    : verbose ? spdlog::level::debug
                              : spdlog::level::info);
  if (mpi.rank() != 0 && !verbose) spdlog::set_level(spdlog::level::err);
  realign::Progress::configure(mpi.rank() == 0);

  try {
    if (*phantom) {
      if (mpi.rank() != 0) return 0;
      std::copy(ph_dim.begin(), ph_dim.end(), ph.dim.begin());
      std::copy(ph_vox.begin(), ph_vox.end(), ph.voxel_mm.begin());
      if (ph_rp.empty()) ph_rp = realign::split_image_path(ph_out).first + "_truth_rp.txt";
      realign::Phantom p;
      if (ph_from.empty()) {
        p = realign::make_phantom(ph);
      } else {
        realign::SeriesFile run(ph_from);
        if (ph_frame > run.frames())
          throw realign::UsageError(
              fmt::format("--frame {}: {} has {} frames", ph_frame, ph_from, run.frames()));
        realign::Volume source{run.grid(), std::vector<float>(run.grid().voxels())};
        run.read_frames(ph_frame - 1, ph_frame, source.data.data());
        realign::FromVolumeSpec spec{
            {ph.frames, ph.max_trans_mm, ph.max_rot_deg, ph.spikes, ph.seed},
            real,
            ph.noise,
            ph.tr_s};
        if (!ph_motion.empty()) spec.given_motion = realign::read_rp(ph_motion);
        p = realign::make_phantom_from_volume(source, spec);
      }
      realign::write_phantom(p, ph_out, ph_rp, ph_type);
      spdlog::info("wrote {} and {}", ph_out, ph_rp);
      return 0;
    }
    if (*apply) {
      if (!opt.reslice) throw realign::UsageError("apply: --no-reslice leaves nothing to do");
      opt.input = ap_in;
      opt.output = ap_out;
    }
    if (opt.input.empty() || opt.output.empty()) {
      if (mpi.rank() == 0) std::fprintf(stderr, "%s", app.help().c_str());
      return 2;
    }
    opt.datatype = datatype == "input" ? realign::OutputType::Input : realign::OutputType::Float32;
    opt.split = split == "points" ? realign::Split::Points : realign::Split::Frames;
    opt.estimate.intensity =
        intensity == "linear" ? realign::IntensityModel::Linear : realign::IntensityModel::Global;
    realign::RunResult r = realign::run_realign(opt);
    if (mpi.rank() == 0) print_summary(r, opt.fd_radius_mm);
    return 0;
  } catch (const realign::RunError& e) {
    realign::silence_signal_messages();
    if (mpi.rank() == 0) spdlog::error("{}", e.what());
    return e.status();
  } catch (const std::exception& e) {
    // Only this rank knows: end every rank rather than leave peers waiting.
    const int status = realign::exit_status_of(e);
    realign::silence_signal_messages();
    if (mpi.size() > 1) realign::abort_all(e.what(), status);
    spdlog::error("{}", e.what());
    return status;
  }
}
