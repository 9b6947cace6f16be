#include "realign/app/cli.hpp"

#include <mpi.h>  // only for the Open MPI version in --version

#include <CLI/CLI.hpp>
#include <cstdio>

namespace realign {
namespace {

const char* kExamples = R"(
Examples:
  realign bold.nii.gz bold_realigned.nii.gz
      one process, OpenMP threads on the cores it may use
  mpirun --bind-to hwthread --map-by core realign bold.nii bold_r.nii
      one MPI rank per core
  realign --ref first --no-reslice bold.nii.gz est/bold.nii.gz
      parameters and reports only, every frame registered to frame 1
  realign --ref 10 --reslice-degree 1 --datatype input bold.nii r.nii
      frame 10 as reference, trilinear reslicing, the input's datatype
  realign apply --xfm r_xfm.txt echo2.nii.gz echo2_r.nii.gz
      reslice another series with the transforms a run saved
  realign follow --timeout 10 --fd-threshold 0.3 /scanner/export run1/out.nii.gz
      real time: a line per volume as the scanner writes them; outputs at the end

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

// Strings CLI11 fills, turned into the enums of Options after parsing.
struct Raw {
  Options options;
  std::string datatype = "float32", split = "frames", intensity = "global";
  std::string apply_input, apply_output;
  FollowOptions follow;
  bool quiet = false, verbose = false;
};

void add_positionals(CLI::App& app, Raw& c) {
  app.add_option("input", c.options.input, "4D NIfTI series (.nii or .nii.gz)");
  app.add_option("output", c.options.output,
                 "resliced output (.nii or .nii.gz); names the other outputs");
}

void add_estimation_options(CLI::App& app, Raw& c) {
  app.add_option("--ref", c.options.reference,
                 "reference: mean (two passes, as SPM), first, median (the frame closest to "
                 "the run's voxel-wise median), a frame number (1-based) or a 3D NIfTI on "
                 "the same grid; the log names the frame used")
      ->capture_default_str();
  app.add_option("--fwhm", c.options.estimate.fwhm_mm, "smoothing before estimation, FWHM in mm")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 50.0));
  app.add_option("--sep", c.options.estimate.sep_mm, "sample point spacing in mm")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 100.0));
  app.add_option("--quality", c.options.estimate.quality,
                 "fraction of the information kept when thinning sample points (0-1]")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 1.0));
  app.add_option("--intensity", c.intensity,
                 "intensity model of the fit: global (one scale per frame, as SPM) or linear "
                 "(a scale that varies linearly across the volume: a receive coil's profile)")
      ->capture_default_str()
      ->check(CLI::IsMember({"global", "linear"}));
  app.add_option("--dummy-scans", c.options.dummy_scans,
                 "non-steady-state frames at the start (kept out of the reference, flagged in "
                 "the confounds); default: detected from the frames' global means")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--robust", c.options.estimate.robust,
               "robust estimation: reweight the sample points by their residuals (Tukey's "
               "biweight), so that activation and artefacts pull the motion less");
  app.add_option("--est-degree", c.options.estimate.degree, "B-spline degree for estimation")
      ->capture_default_str()
      ->check(CLI::Range(1, 5));
  app.add_option("--reslice-degree", c.options.reslice_degree, "B-spline degree for reslicing")
      ->capture_default_str()
      ->check(CLI::Range(0, 5));
  app.add_option("--max-iter", c.options.estimate.max_iter,
                 "Gauss-Newton iterations at most, per frame and pass")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--tol", c.options.estimate.tol,
                 "stop when the relative decrease of the mean squared residual is below this")
      ->capture_default_str()
      ->check(CLI::Range(1e-16, 1.0));
}

void add_output_options(CLI::App& app, Raw& c) {
  app.add_flag("!--no-reslice", c.options.reslice,
               "estimate only: write parameters and reports, no images");
  app.add_flag("!--no-mask", c.options.mask, "keep voxels that some frames cannot see");
  app.add_flag("--par", c.options.write_par,
               "also write OUT.par: the rp columns in FSL MCFLIRT's order (rotations first)");
  app.add_option("--datatype", c.datatype, "output datatype: float32, or input (rounded, clamped)")
      ->capture_default_str()
      ->check(CLI::IsMember({"float32", "input"}));
  app.add_option("--fd-radius", c.options.fd_radius_mm,
                 "head radius in mm for framewise displacement")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1000.0));
  app.add_option("--fd-threshold", c.options.fd_threshold_mm,
                 "FD in mm above which a frame is flagged in the plot and the report")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0));
  app.add_flag("!--no-report", c.options.report, "do not write the HTML QC report");
}

void add_run_options(CLI::App& app, Raw& c) {
  app.add_option("--split", c.split,
                 "MPI work split: frames (blocks of frames per rank) or points (sample points of "
                 "each frame)")
      ->capture_default_str()
      ->check(CLI::IsMember({"frames", "points"}));
  app.add_option("--threads", c.options.threads,
                 "OpenMP threads per rank (default: OMP_NUM_THREADS, else the least of the CPUs in "
                 "the affinity mask, the cgroup's CPU quota and SLURM_CPUS_PER_TASK)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--max-memory", c.options.max_memory_mb,
                 "refuse inputs needing more than this many MB on rank 0's node (default: "
                 "what the machine, the job's cgroup or ulimit -v allows)")
      ->check(CLI::PositiveNumber);
  app.add_flag("-q,--quiet", c.quiet, "warnings and errors only");
  app.add_flag("-v,--verbose", c.verbose, "debug output");
}

CLI::App* add_apply(CLI::App& app, Raw& c) {
  CLI::App* apply = app.add_subcommand(
      "apply",
      "reslice a series with transforms saved by an earlier run (OUT_xfm.txt), without "
      "estimating: another echo, or any series on the same grid with as many frames; "
      "--reslice-degree, --datatype, --no-mask and --threads apply");
  apply->add_option("--xfm", c.options.apply_xfm, "the OUT_xfm.txt of an earlier run")
      ->required()
      ->check(CLI::ExistingFile);
  apply->add_option("input", c.apply_input, "series to reslice (.nii or .nii.gz)")->required();
  apply->add_option("output", c.apply_output, "resliced output; OUT_mean beside it")->required();

  return apply;
}

CLI::App* add_follow(CLI::App& app, Raw& c) {
  FollowOptions& f = c.follow;
  CLI::App* follow = app.add_subcommand(
      "follow",
      "real time: the motion of each volume as it arrives, one TSV line per volume on stdout; "
      "at the end (the series ends, --timeout, Ctrl-C or SIGTERM) the outputs a batch run of "
      "the volumes seen writes, into OUTPUT's names. The estimation, output and thread "
      "options apply");
  follow
      ->add_option("source", f.source,
                   "a directory filled with one 3D NIfTI per volume (named with a frame number; "
                   "a file is taken when closed, renamed into place, or unchanged for "
                   "--settle), or a 4D NIfTI read as a stream")
      ->required();
  follow->add_option("output", f.run.output, "batch outputs at the end (.nii or .nii.gz)");
  follow->add_option("--ref", f.reference, "reference: first (the first volume) or a 3D NIfTI")
      ->capture_default_str();
  follow
      ->add_option("--ref-volumes", f.reference_volumes,
                   "reference: the mean of the first N volumes (their lines come once the N "
                   "are in)")
      ->check(CLI::Range(1, 10000));
  follow
      ->add_option("--reslice-to", f.reslice_to,
                   "directory for each resliced volume (rNAME), written before its line")
      ->check(CLI::ExistingDirectory);
  follow->add_option("--timeout", f.timeout_s, "end after S seconds without a new volume")
      ->check(CLI::Range(0.0, 1e6));
  follow
      ->add_option("--gap-wait", f.gap_wait_s,
                   "seconds a later volume waits for a missing or unfinished earlier one")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  follow
      ->add_option("--settle", f.settle_s,
                   "seconds a file must stay unchanged to be tried when no close or rename "
                   "is seen")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  return follow;
}

// The parsed strings as Options.
Command to_command(const Raw& c, bool applying, bool following) {
  Command out;
  out.options = c.options;
  out.kind = applying ? Command::Apply : following ? Command::Follow : Command::Run;
  if (following) {
    out.follow = c.follow;
    out.options.input = c.follow.source;
    out.options.output = c.follow.run.output;
  }
  if (applying) {
    out.options.input = c.apply_input;
    out.options.output = c.apply_output;
  }
  out.options.datatype = c.datatype == "input" ? OutputType::Input : OutputType::Float32;
  out.options.split = c.split == "points" ? Split::Points : Split::Frames;
  out.options.estimate.intensity =
      c.intensity == "linear" ? IntensityModel::Linear : IntensityModel::Global;
  out.quiet = c.quiet;
  out.verbose = c.verbose;
  out.follow.run = out.options;
  return out;
}

}  // namespace

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

int parse_command_line(int argc, char** argv, bool print, Command& out) {
  Raw c;
  CLI::App app{"realign: rigid-body motion correction of 4D fMRI (SPM12-style, MPI + OpenMP)"};
  app.footer(kExamples);
  app.fallthrough();  // -q/-v may follow the subcommand name
  app.set_version_flag("--version",
                       std::string("realign ") + REALIGN_VERSION + "\n" + build_info());
  add_positionals(app, c);
  add_estimation_options(app, c);
  add_output_options(app, c);
  add_run_options(app, c);
  CLI::App* apply = add_apply(app, c);
  CLI::App* follow = add_follow(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = print ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 2);
    return code == 0 ? 0 : 2;
  }
  if (apply->parsed() && !c.options.reslice) {
    if (print) std::fprintf(stderr, "realign: error: apply: --no-reslice leaves nothing to do\n");
    return 2;
  }
  if (follow->parsed()) {
    out = to_command(c, false, true);
    return -1;
  }
  if (!apply->parsed() && (c.options.input.empty() || c.options.output.empty())) {
    if (print) std::fprintf(stderr, "%s", app.help().c_str());
    return 2;
  }
  out = to_command(c, apply->parsed(), false);
  return -1;
}

}  // namespace realign
