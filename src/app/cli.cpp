#include "realign/app/cli.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <mpi.h>  // only for the Open MPI version in --version

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

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
  realign --ref middle --no-clobber bold.nii.gz r.nii.gz
      the middle frame as reference (MCFLIRT's default); refuse to replace outputs
  realign apply --xfm r_xfm.txt echo2.nii.gz echo2_r.nii.gz
      reslice another series with the transforms a run saved
  realign follow --timeout 10 --fd-threshold 0.3 /scanner/export run1/out.nii.gz
      real time: a line per volume as the scanner writes them; outputs at the end
  realign bids /data/ds /data/ds/derivatives/realign --participant-label 01 02
      a BIDS dataset into a BIDS-Derivatives one (fMRIPrep's names), with index.html
  realign --ref first run1.nii.gz run2.nii.gz run3.nii.gz -o sub-01/
      several runs of one subject in one space (SPM's sessions): sub-01/run1.nii.gz,
      ... with every run's outputs, and sub-01/subject_report.html

Outputs (from the output path's stem, here OUT for OUT.nii.gz):
  OUT.nii.gz            resliced series (float32 unless --datatype input)
  OUT_mean.nii.gz       mean of the resliced frames
  OUT_rp.txt            SPM-style motion parameters: tx ty tz (mm) pitch roll yaw (rad)
  OUT_confounds.tsv     trans_*, rot_*, framewise_displacement, rmsd, dvars, std_dvars,
                        the 24-parameter motion expansion and one-hot outlier columns
                        (fMRIPrep's names; + OUT_confounds.json sidecar)
  OUT_xfm.txt           per-frame 4x4 world (RAS mm) matrices
  OUT_motion.svg        motion plot (translations, rotations, FD)
  OUT_report.html       QC report: summary, motion plots, mean image before and after
  OUT.par               with --par: the rp columns in FSL MCFLIRT's order
  Every file and column: docs/outputs.md

Exit status:
  0       success (frames that did not converge only warn)
  1       input refused: unreadable or invalid file, bad header or reference, constant
          or all-NaN series, memory estimate above the limit
  2       command-line usage error (one line naming the option, then this pointer)
  3       an output could not be written (missing or unwritable directory, existing
          outputs with --no-clobber, disk full, file-size limit)
  4       internal error, or another MPI rank failed
  5       realign bids: some runs failed, the others completed (listed in index.html)
  128+N   interrupted by signal N (130 SIGINT, 143 SIGTERM); temporaries are removed.
          Under mpirun, Ctrl-C reaches the ranks as SIGTERM and mpirun exits 1
)";

// A check that names what the option accepts: "expects a number from 0 to 50, got 'abc'".
// CLI11 puts the option's name in front.
CLI::Validator number_in(double lo, double hi, bool whole = false) {
  const std::string what =
      fmt::format("expects {} from {:g} to {:g}", whole ? "a whole number" : "a number", lo, hi);
  return CLI::Validator(
      [=](std::string& v) -> std::string {
        double x = 0.0;
        std::size_t used = 0;
        try {
          x = std::stod(v, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        const bool ok =
            used == v.size() && used > 0 && x >= lo && x <= hi && (!whole || x == std::floor(x));
        return ok ? std::string() : what + ", got '" + v + "'";
      },
      fmt::format("{:g}-{:g}", lo, hi));
}

CLI::Validator one_of(const std::vector<std::string>& words) {
  const std::string list = fmt::format("{}", fmt::join(words, ", "));
  return CLI::Validator(
      [=](std::string& v) -> std::string {
        for (const auto& w : words)
          if (v == w) return {};
        return "expects one of " + list + ", got '" + v + "'";
      },
      list);
}

// Strings CLI11 fills, turned into the enums of Options after parsing.
struct Raw {
  Options options;
  std::string datatype = "float32", split = "frames", intensity = "coil";
  std::string apply_input, apply_output;
  std::vector<std::string> paths;  // INPUT OUTPUT, or with -o the runs of one subject
  std::string outdir;
  FollowOptions follow;
  BidsOptions bids;
  bool quiet = false, verbose = false;
};

void add_positionals(CLI::App& app, Raw& c) {
  app.add_option("paths", c.paths,
                 "INPUT OUTPUT: a 4D NIfTI series (.nii or .nii.gz) and its resliced output, "
                 "which names the other outputs; with -o, RUN1 RUN2 ...: the runs of one "
                 "subject");
  app.add_option("-o,--outdir", c.outdir,
                 "several runs of one subject (SPM's sessions) into one space: every run "
                 "registered to the first run's reference, parameters relative to frame 1 of "
                 "the first run; OUTDIR/<run's file name> and its outputs per run, and "
                 "OUTDIR/subject_report.html");
}

void add_estimation_options(CLI::App& app, Raw& c) {
  app.add_option("--ref", c.options.reference,
                 "reference: mean (two passes, as SPM), first, middle (frame n/2 counted from "
                 "0, MCFLIRT's default), median (the frame closest to the run's voxel-wise "
                 "median), a frame number (1-based) or a 3D NIfTI on the same grid; the log "
                 "names the frame used")
      ->capture_default_str();
  app.add_option("--fwhm", c.options.estimate.fwhm_mm, "smoothing before estimation, FWHM in mm")
      ->capture_default_str()
      ->check(number_in(0.0, 50.0));
  app.add_option("--sep", c.options.estimate.sep_mm, "sample point spacing in mm")
      ->capture_default_str()
      ->check(number_in(0.1, 100.0));
  app.add_option("--quality", c.options.estimate.quality,
                 "fraction of the information kept when thinning sample points (0-1]")
      ->capture_default_str()
      ->check(number_in(1e-6, 1.0));
  app.add_option("--intensity", c.intensity,
                 "intensity model of the fit: coil (one scale per frame, and the receive coil's "
                 "profile, fixed in the scanner, divided out when one is found; --ref mean "
                 "only), global (one scale per frame, as SPM) or linear (a scale per frame "
                 "that varies linearly across the volume)")
      ->capture_default_str()
      ->check(one_of({"coil", "global", "linear"}));
  app.add_option("--dummy-scans", c.options.dummy_scans,
                 "non-steady-state frames at the start (kept out of the reference, flagged in "
                 "the confounds); default: detected from the frames' global means")
      ->check(number_in(0, 100000, true));
  app.add_flag("--robust", c.options.estimate.robust,
               "robust estimation: reweight the sample points by their residuals (Tukey's "
               "biweight), so that activation and artefacts pull the motion less");
  app.add_option("--est-degree", c.options.estimate.degree, "B-spline degree for estimation")
      ->capture_default_str()
      ->check(number_in(1, 5, true));
  app.add_option("--reslice-degree", c.options.reslice_degree, "B-spline degree for reslicing")
      ->capture_default_str()
      ->check(number_in(0, 5, true));
  app.add_option("--max-iter", c.options.estimate.max_iter,
                 "Gauss-Newton iterations at most, per frame and pass")
      ->capture_default_str()
      ->check(number_in(1, 10000, true));
  app.add_option("--tol", c.options.estimate.tol,
                 "stop when the relative decrease of the mean squared residual is below this")
      ->capture_default_str()
      ->check(number_in(1e-16, 1.0));
}

void add_output_options(CLI::App& app, Raw& c) {
  app.add_flag("!--no-reslice", c.options.reslice,
               "estimate only: write parameters and reports, no images");
  app.add_flag("!--no-mask", c.options.mask, "keep voxels that some frames cannot see");
  app.add_flag("--par", c.options.write_par,
               "also write OUT.par: the rp columns in FSL MCFLIRT's order (rotations first)");
  app.add_option("--datatype", c.datatype, "output datatype: float32, or input (rounded, clamped)")
      ->capture_default_str()
      ->check(one_of({"float32", "input"}));
  app.add_option("--fd-radius", c.options.fd_radius_mm,
                 "head radius in mm for framewise displacement")
      ->capture_default_str()
      ->check(number_in(1.0, 1000.0));
  app.add_option("--fd-threshold", c.options.fd_threshold_mm,
                 "FD in mm above which a frame is flagged in the plot and the report")
      ->capture_default_str()
      ->check(number_in(0.0, 1000.0));
  app.add_flag("!--no-report", c.options.report, "do not write the HTML QC report");
}

void add_run_options(CLI::App& app, Raw& c) {
  app.add_option("--split", c.split,
                 "MPI work split: frames (blocks of frames per rank) or points (sample points of "
                 "each frame)")
      ->capture_default_str()
      ->check(one_of({"frames", "points"}));
  app.add_option("--threads", c.options.threads,
                 "OpenMP threads per rank; 0, the default, means detected: OMP_NUM_THREADS, else "
                 "the least of the CPUs in the affinity mask, the cgroup's CPU quota and "
                 "SLURM_CPUS_PER_TASK")
      ->check(number_in(0, 4096, true));
  app.add_option("--max-memory", c.options.max_memory_mb,
                 "refuse inputs needing more than this many MB on rank 0's node (default: "
                 "what the machine, the job's cgroup or ulimit -v allows)")
      ->check(number_in(1, 1e12));
  app.add_flag("--no-clobber", c.options.no_clobber,
               "refuse to replace outputs that exist (by default they are replaced, with a "
               "warning, all at once at the end of a run)");
  app.add_flag("-q,--quiet", c.quiet, "warnings and errors only");
  app.add_flag("-v,--verbose", c.verbose, "debug output");
}

CLI::App* add_apply(CLI::App& app, Raw& c) {
  CLI::App* apply = app.add_subcommand(
      "apply",
      "reslice a series with transforms saved by an earlier run (OUT_xfm.txt), without "
      "estimating: another echo, or any series on the same grid with as many frames; "
      "--reslice-degree, --datatype, --no-mask, --threads, --max-memory, --no-clobber, -q "
      "and -v apply, any other option is refused");
  apply->add_option("--xfm", c.options.apply_xfm, "the OUT_xfm.txt of an earlier run")
      ->required()
      ->check(CLI::ExistingFile);
  apply->add_option("input", c.apply_input, "series to reslice (.nii or .nii.gz)");
  apply->add_option("output", c.apply_output, "resliced output; OUT_mean beside it");

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
                   "a directory filled with one 3D NIfTI, or one multi-frame DICOM (.dcm), "
                   "per volume (named with a frame number; a file is taken when closed, "
                   "renamed into place, or unchanged for --settle), or a 4D NIfTI read as a "
                   "stream")
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

CLI::App* add_bids(CLI::App& app, Raw& c) {
  BidsOptions& b = c.bids;
  CLI::App* bids = app.add_subcommand(
      "bids",
      "every BOLD run of a BIDS dataset (sub-*/[ses-*/]func/*_bold.nii[.gz]) realigned into a "
      "BIDS-Derivatives dataset in OUT_DIR (fMRIPrep's names), one subject and session after "
      "another, each over all MPI ranks; OUT_DIR/index.html tabulates the motion of every run. "
      "A run that fails is listed with its error and the others go on: exit status 5 says some "
      "failed. The estimation, output and thread options apply to every run");
  bids->add_option("bids_dir", b.bids_dir, "the BIDS dataset")->required();
  bids->add_option("out_dir", b.out_dir, "the derivative dataset (made if missing)")->required();
  bids->add_option("--participant-label", b.filter.participants,
                   "subjects to process, with or without sub- (default: all)");
  bids->add_option("--session-label", b.filter.sessions,
                   "sessions to process, with or without ses- (default: all)");
  bids->add_option("--task", b.filter.tasks, "tasks to process (default: all)");
  bids->add_option("--group-index", b.group_index,
                   "process only group N (0-based; a group is a subject's runs of one session, "
                   "in the order --list-groups prints), e.g. $SLURM_ARRAY_TASK_ID")
      ->check(number_in(0, 1e6, true));
  bids->add_flag("--list-groups", b.list_groups,
                 "print the groups (index, subject and session, runs) and exit");
  bids->add_flag("--index-only", b.index_only,
                 "rebuild OUT_DIR/index.html from the run records in OUT_DIR, run nothing "
                 "(after a Slurm array)");
  return bids;
}

std::string joined_command_line(int argc, char** argv) {
  std::string s = "realign";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    s += a.find_first_of(" \t'\"") == std::string::npos ? " " + a : " '" + a + "'";
  }
  return s;
}

// The parsed strings as Options.
Command to_command(const Raw& c, bool applying, bool following) {
  Command out;
  out.options = c.options;
  out.kind = applying ? Command::Apply : following ? Command::Follow : Command::Run;
  if (!applying && !following && c.outdir.empty() && c.paths.size() == 2) {
    out.options.input = c.paths[0];
    out.options.output = c.paths[1];
  }
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
  out.options.estimate.intensity = c.intensity == "linear" ? IntensityModel::Linear
                                   : c.intensity == "coil" ? IntensityModel::Coil
                                                           : IntensityModel::Global;
  out.quiet = c.quiet;
  out.verbose = c.verbose;
  out.follow.run = out.options;
  out.bids.run = out.options;
  if (!applying && !following && !c.outdir.empty()) {
    out.kind = Command::Subject;
    out.subject = subject_job(c.paths, c.outdir, out.options);
  }
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

namespace {

const char* kHelpPointer = "Run 'realign --help' for the options and what they accept.\n";

// One line naming the problem, then where to look; exit status 2.
int usage_error(bool print, const std::string& message) {
  if (print) std::fprintf(stderr, "realign: error: %s\n%s", message.c_str(), kHelpPointer);
  return 2;
}

// CLI11's messages in realign's words where they are unclear.
std::string describe(const CLI::Error& e) {
  const std::string what = e.what();
  const std::string name = e.get_name();
  if (name == "ArgumentMismatch") return what.substr(0, what.find(':')) + ": needs a value";
  if (what.find("not expected") != std::string::npos) {
    const std::size_t colon = what.find(": ");
    return "unknown option or extra argument:" +
           (colon == std::string::npos ? " " + what : what.substr(colon + 1));
  }
  if (what == "--xfm is required") return "apply: --xfm is required (the OUT_xfm.txt of a run)";
  return what;
}

// What is missing from `realign INPUT OUTPUT` or `realign apply --xfm X INPUT OUTPUT`.
std::string missing_paths(const std::string& input, const std::string& output, bool applying) {
  const std::string form =
      applying ? "realign apply --xfm XFM INPUT OUTPUT" : "realign [OPTIONS] INPUT OUTPUT";
  if (input.empty()) return "missing the input series and the output path: " + form;
  if (output.empty()) return "missing the output path after " + input + ": " + form;
  return {};
}

// --ref: a keyword, a frame number, or a file; a bare word that is none of them is a typo.
std::string check_reference_word(const std::string& ref) {
  for (const char* k : {"mean", "first", "middle", "median"})
    if (ref == k) return {};
  if (!ref.empty() && ref.find_first_not_of("0123456789") == std::string::npos) return {};
  std::error_code ec;
  if (ref.find_first_of("/.") != std::string::npos || std::filesystem::exists(ref, ec)) return {};
  return "--ref: '" + ref +
         "' is not a file, nor one of mean, first, middle, median or a frame number (1-based)";
}

// `apply` reslices with saved transforms: an option of the estimation or of its reports
// would be silently ignored, so it is refused.
std::string check_apply_options(const CLI::App& app) {
  const std::vector<std::string> used = {
      "--reslice-degree", "--datatype", "--no-mask", "--threads", "--max-memory",
      "--no-clobber",     "--quiet",    "--verbose", "--version", "--help"};
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional() || o->count() == 0) continue;
    const bool allowed = std::any_of(used.begin(), used.end(),
                                     [&](const std::string& u) { return o->check_name(u); });
    const std::string n = o->get_name(false, true);
    if (!allowed)
      return "apply: " + n +
             " is not used by apply, which reslices with saved transforms (it takes "
             "--reslice-degree, --datatype, --no-mask, --threads, --max-memory, --no-clobber)";
  }
  return {};
}

// The checks CLI11 cannot make alone; the first problem found, or "".
std::string check_parsed(const CLI::App& app, const Raw& c, bool applying) {
  if (applying) {
    if (!c.options.reslice) return "apply: --no-reslice leaves nothing to do";
    std::string m = check_apply_options(app);
    return m.empty() ? missing_paths(c.apply_input, c.apply_output, true) : m;
  }
  std::string m;
  if (!c.outdir.empty() && c.paths.empty())
    m = "-o " + c.outdir + ": missing the runs: realign [OPTIONS] RUN1 RUN2 ... -o OUTDIR";
  else if (c.outdir.empty() && c.paths.size() > 2)
    m = "several runs need -o OUTDIR: realign [OPTIONS] RUN1 RUN2 ... -o OUTDIR";
  else if (c.outdir.empty())
    m = missing_paths(c.paths.empty() ? "" : c.paths[0], c.paths.size() < 2 ? "" : c.paths[1],
                      false);
  return m.empty() ? check_reference_word(c.options.reference) : m;
}

}  // namespace

int parse_command_line(int argc, char** argv, bool print, Command& out) {
  Raw c;
  CLI::App app{"realign: rigid-body motion correction of 4D fMRI (SPM12-style, MPI + OpenMP)"};
  app.name("realign");
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
  CLI::App* bids = add_bids(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return print ? app.exit(e) : 0;  // --help, --version
    return usage_error(print, describe(e));
  }
  if (follow->parsed()) {
    if (!c.outdir.empty()) return usage_error(print, "follow: -o is for several runs of a subject");
    out = to_command(c, false, true);
    return -1;
  }
  if (bids->parsed()) {
    if (!c.outdir.empty()) return usage_error(print, "bids: -o is for several runs of a subject");
    const std::string problem = check_reference_word(c.options.reference);
    if (!problem.empty()) return usage_error(print, problem);
    out = to_command(c, false, false);
    out.kind = Command::Bids;
    out.bids = c.bids;
    out.bids.run = out.options;
    out.bids.command_line = joined_command_line(argc, argv);
    return -1;
  }
  const std::string problem = check_parsed(app, c, apply->parsed());
  if (!problem.empty()) return usage_error(print, problem);
  out = to_command(c, apply->parsed(), false);
  return -1;
}

}  // namespace realign
