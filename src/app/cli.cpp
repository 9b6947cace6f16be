#include "realign/app/cli.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <mpi.h>  // only for the Open MPI version in --version

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "realign/app/run/output_paths.hpp"

namespace realign {
namespace {

const char* kExitStatus = R"(
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

const char* kRunExamples = R"(
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
  realign --ref first run1.nii.gz run2.nii.gz run3.nii.gz -o sub-01/
      several runs of one subject in one space (SPM's sessions): sub-01/run1.nii.gz,
      ... with every run's outputs, and sub-01/subject_report.html
  realign apply --xfm r_xfm.txt echo2.nii.gz echo2_r.nii.gz
      reslice another series with the transforms a run saved
  realign follow --timeout 10 --fd-threshold 0.3 /scanner/export run1/out.nii.gz
      real time: a line per volume as the scanner writes them; outputs at the end
  realign bids /data/ds /data/ds/derivatives/realign participant --participant-label 01
      a BIDS dataset into a BIDS-Derivatives one (fMRIPrep's names), with index.html
  Each command has its own help: realign apply --help, realign follow --help,
  realign bids --help.
)";

const char* kFollowFooter = R"(
Lines on stdout, one per volume, tab-separated, flushed at once:
  frame trans_x trans_y trans_z rot_x rot_y rot_z framewise_displacement rmsd
  latency_ms flagged
  (mm and rad relative to the first volume; FD and rmsd n/a for it; flagged 1 above
  --fd-threshold)

Examples:
  realign follow --timeout 30 /data/rt/export run1/out.nii.gz
      a line per volume as the scanner writes them; run1/out.nii.gz and its
      companions (realign --help lists them) for the volumes seen, at the end
  realign follow --ref previous_mean.nii --reslice-to /data/rt/resliced /data/rt/export
      lines only, against a previous run's mean; each volume resliced as it comes
  realign follow bold.nii.gz replay/out.nii
      a 4D file read as a stream: the same lines and outputs as realign --ref first
)";

const char* kBidsExamples = R"(
Examples:
  realign bids /data/ds /data/ds/derivatives/realign participant
  mpirun -n 4 realign bids /data/ds /data/out --participant-label 01 02 --task rest
  realign bids /data/ds /data/out --list-groups       # what would run, numbered
  realign bids /data/ds /data/out --group-index $SLURM_ARRAY_TASK_ID
)";

std::string main_footer() {
  return std::string(kRunExamples) +
         "\nOutputs (from the output path's stem, here OUT for OUT.nii.gz):\n" +
         describe_outputs(OutputNaming::Stem) + "  Every file and column: docs/outputs.md\n" +
         kExitStatus;
}

std::string bids_footer() {
  return std::string(kBidsExamples) +
         "\nOutputs per run in OUT_DIR/sub-X/[ses-Y/]func/, <run> the source's entities:\n" +
         describe_outputs(OutputNaming::Bids) +
         "  <run>_desc-realign_qc.json\n      the run's motion summary, or its error\n"
         "  and OUT_DIR/dataset_description.json, OUT_DIR/index.html. Every name: "
         "docs/bids.md\n" +
         kExitStatus;
}

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

// "notch:LO-HI" (breaths per minute, 0 < LO < HI) into `out`; what is wrong, or "".
std::string read_fd_filter(const std::string& v, FdFilter& out) {
  const std::string wrong =
      "expects notch:LO-HI, a stop band in breaths per minute with 0 < LO < HI (notch:12-18, "
      "say), got '" +
      v + "'";
  const std::string kind = "notch:";
  if (v.rfind(kind, 0) != 0) return wrong;
  const std::string band = v.substr(kind.size());
  const std::size_t dash = band.find('-');
  if (dash == std::string::npos || dash == 0) return wrong;
  double lo = 0.0, hi = 0.0;
  std::size_t used_lo = 0, used_hi = 0;
  try {
    lo = std::stod(band.substr(0, dash), &used_lo);
    hi = std::stod(band.substr(dash + 1), &used_hi);
  } catch (const std::exception&) {
    return wrong;
  }
  if (used_lo != dash || used_hi != band.size() - dash - 1 || !(lo > 0) || !(hi > lo) ||
      !std::isfinite(hi))
    return wrong;
  out = FdFilter{lo, hi};
  return {};
}

// Comma-separated FD thresholds in mm into `out`, ascending; what is wrong, or "".
std::string read_thresholds(const std::string& v, std::vector<double>& out) {
  const std::string wrong =
      "expects up to 8 distinct thresholds in mm, each above 0 and at most 1000, "
      "comma-separated (0.2,0.3,0.4, say), got '" +
      v + "'";
  std::vector<double> t;
  std::stringstream in(v);
  for (std::string item; std::getline(in, item, ',');) {
    double x = 0.0;
    std::size_t used = 0;
    try {
      x = std::stod(item, &used);
    } catch (const std::exception&) {
      return wrong;
    }
    if (used != item.size() || !(x > 0 && x <= 1000)) return wrong;
    t.push_back(x);
  }
  std::sort(t.begin(), t.end());
  if (t.empty() || t.size() > 8 || std::adjacent_find(t.begin(), t.end()) != t.end() ||
      v.back() == ',')
    return wrong;
  out = t;
  return {};
}

// HOST:PORT (an IPv6 address in brackets); what is wrong, or "".
std::string read_host_port(const std::string& v) {
  const std::string wrong =
      "expects HOST:PORT with a port from 1 to 65535 (localhost:5000, 192.168.2.10:8888, "
      "[::1]:5000), got '" +
      v + "'";
  const std::size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == v.size()) return wrong;
  const std::string host = v.substr(0, colon), port = v.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) return wrong;
  const int p = std::stoi(port);
  const bool bracketed = host.front() == '[' && host.back() == ']' && host.size() > 2;
  if (p < 1 || p > 65535 || (host.find(':') != std::string::npos && !bracketed)) return wrong;
  return {};
}

// A check made of one of the readers above (the form is shown as the option's type).
template <class Read>
CLI::Validator form(Read read) {
  return CLI::Validator([=](std::string& v) -> std::string { return read(v); }, "");
}

// The words CLI11 fills, turned into the enums of RunSettings after parsing.
struct Raw {
  explicit Raw(Options& options) : o(options) {}
  Options& o;
  std::string datatype = "float32", split = "frames", intensity = "coil";
  std::string apply_input, apply_output;
  std::string fd_filter, good_fd = fmt::format("{}", fmt::join(kDefaultGoodFdMm, ","));
};

const char* kEstimation = "Reference and estimation";
const char* kOutputs = "Reslicing and outputs";
const char* kRunning = "Running";

void add_reference(CLI::App& app, Raw& r, const std::string& what, const std::string& shown) {
  app.add_option("--ref", r.o.run.reference, what)->default_str(shown)->group(kEstimation);
}

// A number option with its range, its default shown, in a help group.
template <class T>
CLI::Option* add_number(CLI::App& app, const char* name, T& value, const char* what, double lo,
                        double hi, const char* group) {
  return app.add_option(name, value, what)
      ->capture_default_str()
      ->check(number_in(lo, hi, std::is_integral_v<T>))
      ->group(group);
}

void add_estimation(CLI::App& app, Raw& r) {
  RunSettings& s = r.o.run;
  EstimateOptions& e = s.estimate;
  add_number(app, "--fwhm", e.fwhm_mm, "smoothing before estimation, FWHM in mm", 0.0, 50.0,
             kEstimation);
  add_number(app, "--sep", e.sep_mm, "sample point spacing in mm", 0.1, 100.0, kEstimation);
  add_number(app, "--quality", e.quality,
             "fraction of the information kept when thinning sample points (0-1]", 1e-6, 1.0,
             kEstimation);
  app.add_option("--intensity", r.intensity,
                 "intensity model of the fit: coil (one scale per frame, and the receive coil's "
                 "profile, fixed in the scanner, divided out when one is found; --ref mean "
                 "only), global (one scale per frame, as SPM) or linear (a scale per frame "
                 "that varies linearly across the volume)")
      ->capture_default_str()
      ->check(one_of({"coil", "global", "linear"}))
      ->group(kEstimation);
  app.add_option("--dummy-scans", s.dummy_scans,
                 "non-steady-state frames at the start (kept out of the reference, flagged in "
                 "the confounds); default: detected from the frames' global means")
      ->check(number_in(0, 100000, true))
      ->group(kEstimation);
  app.add_flag("--robust", e.robust,
               "robust estimation: reweight the sample points by their residuals (Tukey's "
               "biweight), so that activation and artefacts pull the motion less")
      ->group(kEstimation);
  add_number(app, "--est-degree", e.degree, "B-spline degree for estimation", 1, 5, kEstimation);
  add_number(app, "--max-iter", e.max_iter, "Gauss-Newton iterations at most, per frame and pass",
             1, 10000, kEstimation);
  add_number(app, "--tol", e.tol,
             "a frame has converged when an iteration moves no point within 50 mm of the "
             "centre by more than this many mm",
             1e-9, 1.0, kEstimation);
}

// What `apply` shares with a run: how frames are resliced and stored.
void add_reslicing(CLI::App& app, Raw& r) {
  add_number(app, "--reslice-degree", r.o.run.reslice_degree, "B-spline degree for reslicing", 0, 5,
             kOutputs);
  app.add_flag("!--no-mask", r.o.run.mask, "keep voxels that some frames cannot see")
      ->group(kOutputs);
  app.add_option("--datatype", r.datatype, "output datatype: float32, or input (rounded, clamped)")
      ->capture_default_str()
      ->check(one_of({"float32", "input"}))
      ->group(kOutputs);
}

void add_outputs(CLI::App& app, Raw& r, bool itk_option) {
  RunSettings& s = r.o.run;
  add_reslicing(app, r);
  if (itk_option)
    app.add_flag("--itk-xfm", s.itk_xfm,
                 "also write the per-frame transforms in ITK's text format (OUT_itk_xfm.txt: the "
                 "mean's points to each frame's, LPS), for antsApplyTransforms and fMRIPrep")
        ->group(kOutputs);
  app.add_flag("!--no-reslice", s.reslice, "estimate only: write parameters and reports, no images")
      ->group(kOutputs);
  app.add_flag("--par", s.write_par,
               "also write the rp columns in FSL MCFLIRT's order (rotations first) as a .par "
               "file")
      ->group(kOutputs);
  add_number(app, "--fd-radius", s.fd_radius_mm, "head radius in mm for framewise displacement",
             1.0, 1000.0, kOutputs);
  add_number(app, "--fd-threshold", s.fd_threshold_mm,
             "FD in mm above which a frame is flagged in the plot and the report", 0.0, 1000.0,
             kOutputs);
  app.add_option("--fd-filter", r.fd_filter,
                 "notch:LO-HI: filter the motion parameters for breathing before FD (FIRMM's and "
                 "XCP-D's notch, a stop band in breaths per minute, e.g. notch:12-18; causal), "
                 "for short TRs where breathing shows as motion: adds the filtered FD "
                 "(framewise_displacement_filtered), which then flags frames and counts good "
                 "time; refused when the band reaches the Nyquist frequency of the TR (30/TR "
                 "per minute)")
      ->type_name("notch:LO-HI")
      ->check(form([](const std::string& v) {
        FdFilter f;
        return read_fd_filter(v, f);
      }))
      ->group(kOutputs);
  app.add_option("--good-fd", r.good_fd,
                 "FD thresholds in mm for good time (FIRMM's): the minutes of data at or below "
                 "each, in the QC report (and follow's status line and OUTPUT_follow.json)")
      ->type_name("MM,MM,...")
      ->capture_default_str()
      ->check(form([](const std::string& v) {
        std::vector<double> t;
        return read_thresholds(v, t);
      }))
      ->group(kOutputs);
  app.add_flag("!--no-report", s.report, "do not write the HTML QC report")->group(kOutputs);
}

// How the command shares the machine and what it says. `ranks`: options of MPI runs.
void add_running(CLI::App& app, Raw& r, bool ranks) {
  RunSettings& s = r.o.run;
  if (ranks)
    app.add_option("--split", r.split,
                   "MPI work split: frames (dealt to the ranks in turn) or points (sample "
                   "points of each frame)")
        ->capture_default_str()
        ->check(one_of({"frames", "points"}))
        ->group(kRunning);
  app.add_option("--threads", s.threads,
                 "OpenMP threads per rank; 0, the default, means detected: OMP_NUM_THREADS, else "
                 "the least of the CPUs in the affinity mask, the cgroup's CPU quota and "
                 "SLURM_CPUS_PER_TASK")
      ->check(number_in(0, 4096, true))
      ->group(kRunning);
  if (ranks)
    app.add_option("--max-memory", s.max_memory_mb,
                   "refuse inputs needing more than this many MB on rank 0's node (default: "
                   "what the machine, the job's cgroup or ulimit -v allows)")
        ->check(number_in(1, 1e12))
        ->group(kRunning);
  app.add_flag("--no-clobber", s.no_clobber,
               "refuse to replace outputs that exist (by default they are replaced, with a "
               "warning, all at once at the end of a run)")
      ->group(kRunning);
  app.add_flag("-q,--quiet", r.o.quiet, "warnings and errors only")->group(kRunning);
  app.add_flag("-v,--verbose", r.o.verbose, "debug output")->group(kRunning);
}

const char* kRunReference =
    "reference: mean (two passes, as SPM), first, middle (frame n/2 counted from 0, MCFLIRT's "
    "default), median (the frame closest to the run's voxel-wise median), a frame number "
    "(1-based) or a 3D NIfTI on the same grid; the log names the frame used";

void add_main(CLI::App& app, Raw& r) {
  app.add_option("paths", r.o.paths,
                 "INPUT OUTPUT: a 4D NIfTI series (.nii or .nii.gz), or a directory of a run "
                 "exported as DICOM, and its resliced output, which names the other outputs; "
                 "with -o, RUN1 RUN2 ...: the runs of one subject (NIfTI)");
  app.add_option("-o,--outdir", r.o.outdir,
                 "several runs of one subject (SPM's sessions) into one space: every run "
                 "registered to the first run's reference, parameters relative to frame 1 of "
                 "the first run; OUTDIR/<run's file name> and its outputs per run, and "
                 "OUTDIR/subject_report.html");
  app.add_option("--other-echoes", r.o.other_echoes,
                 "E2[,E3...]: the other echoes of a multi-echo run (same grid, as many frames), "
                 "resliced with INPUT's motion (INPUT is echo 1, estimated once) into "
                 "OUT_echo-2, OUT_echo-3, ... in the order given")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->group(kOutputs);
  add_reference(app, r, kRunReference, "mean");
  add_estimation(app, r);
  add_outputs(app, r, true);
  add_running(app, r, true);
}

const char* kApplyWhat =
    "reslice a series with transforms saved by an earlier run (OUT_xfm.txt), without "
    "estimating: another echo, or any series on the same grid with as many frames. Writes "
    "OUTPUT and OUTPUT's _mean";
const char* kFollowWhat =
    "real time: the motion of each volume as it arrives, one TSV line per volume on stdout; "
    "at the end (the series ends, --timeout, Ctrl-C or SIGTERM) the outputs a batch run of "
    "the volumes seen writes, into OUTPUT's names";
const char* kBidsWhat =
    "every BOLD run of a BIDS dataset (sub-*/[ses-*/]func/*_bold.nii[.gz]) realigned into a "
    "BIDS-Derivatives dataset in OUT_DIR (fMRIPrep's names), one subject and session after "
    "another, each over all MPI ranks; OUT_DIR/index.html tabulates the motion of every run. "
    "A run that fails is listed with its error and the others go on: exit status 5 says some "
    "failed";

// A subcommand with its one required path (apply's is --xfm, added apart).
CLI::App* add_command(CLI::App& app, const char* name, const char* what, const char* path,
                      std::string& value, const char* path_what) {
  CLI::App* command = app.add_subcommand(name, what);
  if (path) command->add_option(path, value, path_what)->required();
  return command;
}

CLI::App* add_apply(CLI::App& app, Raw& r) {
  std::string none;
  CLI::App* apply = add_command(app, "apply", kApplyWhat, nullptr, none, nullptr);
  apply->add_option("--xfm", r.o.apply_xfm, "the OUT_xfm.txt of an earlier run")
      ->required()
      ->check(CLI::ExistingFile);
  apply->add_option("INPUT", r.apply_input, "series to reslice (.nii or .nii.gz)");
  apply->add_option("OUTPUT", r.apply_output, "resliced output; OUTPUT's _mean beside it");
  add_reslicing(*apply, r);
  add_running(*apply, r, true);
  apply->remove_option(apply->get_option("--split"));
  apply->footer(kExitStatus);
  return apply;
}

CLI::App* add_follow(CLI::App& app, Raw& r) {
  FollowOptions& f = r.o.follow;
  CLI::App* follow = add_command(
      app, "follow", kFollowWhat, "SOURCE", f.source,
      "a directory filled with one 3D NIfTI or one DICOM file (a multi-frame image, a "
      "Siemens mosaic) per volume, or one DICOM file per slice (named with a number; a file "
      "is taken when closed, renamed into place, or unchanged for --settle), or a 4D NIfTI "
      "read as a stream");
  follow->add_option("OUTPUT", f.output, "batch outputs at the end (.nii or .nii.gz)");
  add_reference(*follow, r,
                "reference: first (the first volume) or a 3D NIfTI on the volumes' grid (a "
                "previous run's mean, say)",
                "first");
  follow
      ->add_option("--ref-volumes", f.reference_volumes,
                   "reference: the mean of the first N volumes (their lines come once the N "
                   "are in)")
      ->check(number_in(1, 10000, true))
      ->group(kEstimation);
  add_estimation(*follow, r);
  follow
      ->add_option("--reslice-to", f.reslice_to,
                   "directory for each resliced volume (rNAME), written before its line")
      ->check(CLI::ExistingDirectory)
      ->group(kOutputs);
  add_outputs(*follow, r, true);
  follow
      ->add_option("--send", f.send,
                   "HOST:PORT: also send each volume's line as one JSON object per line (JSON "
                   "Lines: the line's fields and the volume's file name) over TCP to a listener "
                   "there (neurofeedback software), from its own thread: never delays a line; a "
                   "listener that starts late gets the lines from then on, one that stalls "
                   "loses lines (counted), one that goes away is reconnected to")
      ->type_name("HOST:PORT")
      ->check(form(read_host_port));
  follow
      ->add_option("--criterion-minutes", f.criterion_minutes,
                   "minutes of good data wanted at each --good-fd threshold (FIRMM's default "
                   "is 12.5): the status line and OUTPUT_follow.json predict the further scan "
                   "time that gives them at the run's rate so far")
      ->type_name("MINUTES")
      ->check(number_in(0.01, 10000.0));
  follow->add_option("--timeout", f.timeout_s, "end after S seconds without a new volume")
      ->check(number_in(0.0, 1e6));
  follow
      ->add_option("--gap-wait", f.gap_wait_s,
                   "seconds a later volume waits for a missing or unfinished earlier one")
      ->capture_default_str()
      ->check(number_in(0.0, 3600.0));
  follow
      ->add_option("--settle", f.settle_s,
                   "seconds a file must stay unchanged to be tried when no close or rename "
                   "is seen")
      ->capture_default_str()
      ->check(number_in(0.0, 3600.0));
  add_running(*follow, r, false);
  follow->footer(std::string(kFollowFooter) + kExitStatus);
  return follow;
}

CLI::App* add_bids(CLI::App& app, Raw& r) {
  BidsOptions& b = r.o.bids;
  CLI::App* bids = add_command(app, "bids", kBidsWhat, "BIDS_DIR", b.bids_dir, "the BIDS dataset");
  bids->add_option("OUT_DIR", b.out_dir, "the derivative dataset (made if missing)")->required();
  bids->add_option("ANALYSIS_LEVEL", r.o.bids.analysis_level,
                   "participant (the BIDS-Apps form; realign has no group level)");
  bids->add_option("--participant-label,--participant_label", b.filter.participants,
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
  bids->add_option("--fmriprep-names", b.fmriprep_names,
                   "names of the head-motion reference and transforms fMRIPrep --derivatives "
                   "takes: current (desc-hmc_boldref, from-orig_to-boldref; fMRIPrep 23.2 to "
                   "25) or next (space-orig_desc-hmc_boldref, from-orig_to-run; its development "
                   "branch)")
      ->capture_default_str()
      ->check(one_of({"current", "next"}));
  bids->add_flag("--force", b.force,
                 "redo every run; by default a run whose outputs are complete and were made by "
                 "this version with the same options is skipped");
  add_reference(*bids, r,
                std::string(kRunReference) +
                    "; sbref: the run's _sbref (echo 1's for multi-echo) when it is on the "
                    "run's grid",
                "mean");
  add_estimation(*bids, r);
  add_outputs(*bids, r, false);
  add_running(*bids, r, true);
  bids->footer(bids_footer());
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

// The words as RunSettings' enums, and the command.
void finish_options(const Raw& r, const CLI::App& app, const CLI::App& apply,
                    const CLI::App& follow, const CLI::App& bids, Options& o) {
  RunSettings& s = o.run;
  s.datatype = r.datatype == "input" ? OutputType::Input : OutputType::Float32;
  if (!r.fd_filter.empty()) read_fd_filter(r.fd_filter, s.fd_filter);  // checked by CLI11
  read_thresholds(r.good_fd, s.good_fd_mm);
  s.split = r.split == "points" ? Split::Points : Split::Frames;
  s.estimate.intensity = r.intensity == "linear" ? IntensityModel::Linear
                         : r.intensity == "coil" ? IntensityModel::Coil
                                                 : IntensityModel::Global;
  const CLI::App& used = follow.parsed() ? follow : bids.parsed() ? bids : app;
  const CLI::Option* ref = used.get_option_no_throw("--ref");
  o.reference_given = ref != nullptr && ref->count() > 0;
  if (apply.parsed()) {
    o.command = Command::Apply;
    o.paths = {r.apply_input, r.apply_output};
  } else if (follow.parsed()) {
    o.command = Command::Follow;
  } else if (bids.parsed()) {
    o.command = Command::Bids;
  } else {
    o.command = o.outdir.empty() ? Command::Run : Command::Subject;
  }
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

// One line naming the problem, then where to look; exit status 2.
ParseOutcome usage_error(const std::string& message, const std::string& command) {
  ParseOutcome out;
  out.status = 2;
  out.stderr_text = "realign: error: " + message + "\nRun 'realign " +
                    (command.empty() ? "" : command + " ") +
                    "--help' for the options and what they accept.\n";
  return out;
}

// Edits (insertions, deletions, substitutions, swaps of neighbours) from a to b.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The long option of `app` closest to `word` when it is a likely typo of it, or "".
std::string closest_option(const CLI::App& app, const std::string& word) {
  std::string best;
  std::size_t best_distance = 3;  // at most two edits
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& name : o->get_lnames()) {
      const std::size_t d = edit_distance(word, "--" + name);
      if (d < best_distance) {
        best_distance = d;
        best = "--" + name;
      }
    }
  }
  return best;
}

// The word CLI11 did not expect that explains the error: the first option among them, or
// else the first word. CLI11 lists them last first ("... not expected: b --fwhm").
std::string first_extra(const std::string& what) {
  const std::size_t colon = what.find(": ");
  std::istringstream in(colon == std::string::npos ? what : what.substr(colon + 2));
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.insert(words.begin(), w);
  for (const std::string& w : words)
    if (w.rfind("-", 0) == 0) return w;
  return words.empty() ? std::string() : words.front();
}

// An option of the main command that a subcommand does not take is refused by name.
std::string not_taken_by(const CLI::App& main_app, const CLI::App& used, const std::string& word) {
  const std::string name = word.substr(0, word.find('='));
  if (!used.get_parent() || main_app.get_option_no_throw(name) == nullptr) return {};
  const std::string command = used.get_name();
  return command + ": " + name + " is not used by " + command +
         (command == "apply" ? ", which reslices with saved transforms (it takes "
                               "--reslice-degree, --datatype, --no-mask, --threads, "
                               "--max-memory, --no-clobber)"
                             : "");
}

// A word CLI11 did not expect: an unknown option (with the likely one meant), an option of
// the main command that a subcommand does not take, or a word with no place.
std::string describe_extra(const CLI::App& main_app, const CLI::App& used,
                           const std::string& what) {
  const std::string word = first_extra(what);
  const std::string not_taken = not_taken_by(main_app, used, word);
  if (!not_taken.empty()) return not_taken;
  const std::string prefix = used.get_parent() ? used.get_name() + ": " : "";
  if (word.rfind("-", 0) != 0) return prefix + "unexpected extra argument '" + word + "'";
  const std::string near = closest_option(used, word.substr(0, word.find('=')));
  return prefix + "unknown option " + word + (near.empty() ? "" : "; did you mean " + near + "?");
}

// OUT_DIR missing because an option that takes a list took it: say which.
std::string missing_out_dir(const BidsOptions& b) {
  const std::pair<const char*, const std::vector<std::string>*> lists[] = {
      {"--participant-label", &b.filter.participants},
      {"--session-label", &b.filter.sessions},
      {"--task", &b.filter.tasks}};
  for (const auto& [name, values] : lists)
    if (values->size() > 1)
      return fmt::format(
          "bids: OUT_DIR is missing: {} took '{}' as its values (a list goes on to the next "
          "option: put BIDS_DIR and OUT_DIR first)",
          name, fmt::join(*values, " "));
  return "bids: missing OUT_DIR: realign bids BIDS_DIR OUT_DIR [participant]";
}

// CLI11's messages in realign's words where they are unclear.
std::string describe(const CLI::Error& e, const CLI::App& main_app, const CLI::App& used,
                     const Options& o) {
  const std::string what = e.what();
  const std::string name = e.get_name();
  if (name == "ArgumentMismatch") return what.substr(0, what.find(':')) + ": needs a value";
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr)
    return describe_extra(main_app, used, what);
  if (what == "--xfm is required") return "apply: --xfm is required (the OUT_xfm.txt of a run)";
  if (what == "OUT_DIR is required") return missing_out_dir(o.bids);
  if (what == "BIDS_DIR is required")
    return "bids: missing BIDS_DIR and OUT_DIR: realign bids BIDS_DIR OUT_DIR [participant]";
  if (what == "SOURCE is required") return "follow: missing SOURCE: realign follow SOURCE [OUTPUT]";
  return (used.get_parent() ? used.get_name() + ": " : "") + what;
}

// What is missing from `realign INPUT OUTPUT` or `realign apply --xfm X INPUT OUTPUT`.
std::string missing_paths(const std::string& input, const std::string& output, bool applying) {
  const std::string form =
      applying ? "realign apply --xfm XFM INPUT OUTPUT" : "realign [OPTIONS] INPUT OUTPUT";
  if (input.empty()) return "missing the input series and the output path: " + form;
  if (output.empty()) return "missing the output path after " + input + ": " + form;
  return {};
}

bool names_a_file(const std::string& ref) {
  std::error_code ec;
  return ref.find_first_of("/.") != std::string::npos || std::filesystem::exists(ref, ec);
}

// --ref: a keyword, a frame number, or a file; a bare word that is none of them is a typo.
// `follow` takes its first volume or a file.
std::string check_reference_word(const std::string& ref, bool following) {
  if (following)
    return ref == "first" || names_a_file(ref)
               ? std::string()
               : "--ref: '" + ref + "' is not a file, nor first (follow's references)";
  for (const char* k : {"mean", "first", "middle", "median"})
    if (ref == k) return {};
  if (!ref.empty() && ref.find_first_not_of("0123456789") == std::string::npos) return {};
  if (names_a_file(ref)) return {};
  return "--ref: '" + ref +
         "' is not a file, nor one of mean, first, middle, median or a frame number (1-based)";
}

// The checks CLI11 cannot make alone; the first problem found, or "".
std::string check_parsed(const Options& o) {
  switch (o.command) {
    case Command::Apply:
      return missing_paths(o.paths[0], o.paths[1], true);
    case Command::Follow:
      return o.reference_given ? check_reference_word(o.run.reference, true) : std::string();
    case Command::Bids:
      if (!o.bids.analysis_level.empty() && o.bids.analysis_level != "participant")
        return "bids: analysis level '" + o.bids.analysis_level +
               "': realign bids runs at the participant level only (realign bids BIDS_DIR "
               "OUT_DIR [participant])";
      return o.run.reference == "sbref" ? std::string()
                                        : check_reference_word(o.run.reference, false);
    case Command::Subject:
      if (!o.other_echoes.empty()) return "--other-echoes: one run at a time (without -o)";
      if (o.paths.empty())
        return "-o " + o.outdir + ": missing the runs: realign [OPTIONS] RUN1 RUN2 ... -o OUTDIR";
      return check_reference_word(o.run.reference, false);
    case Command::Run:
      break;
  }
  if (o.paths.size() > 2)
    return "several runs need -o OUTDIR: realign [OPTIONS] RUN1 RUN2 ... -o OUTDIR";
  const std::string m =
      missing_paths(o.paths.empty() ? "" : o.paths[0], o.paths.size() < 2 ? "" : o.paths[1], false);
  return m.empty() ? check_reference_word(o.run.reference, false) : m;
}

// The subcommand the words name, for the pointer to its help ("" for the main command).
std::string command_of(const CLI::App& apply, const CLI::App& follow, const CLI::App& bids) {
  for (const CLI::App* a : {&apply, &follow, &bids})
    if (a->parsed()) return a->get_name();
  return {};
}

}  // namespace

ParseOutcome parse_command_line(int argc, char** argv, Options& out) {
  Raw r(out);
  CLI::App app{"realign: rigid-body motion correction of 4D fMRI (SPM12-style, MPI + OpenMP)"};
  app.name("realign");
  app.footer(main_footer());
  app.set_version_flag("--version",
                       std::string("realign ") + REALIGN_VERSION + "\n" + build_info());
  add_main(app, r);
  CLI::App* apply = add_apply(app, r);
  CLI::App* follow = add_follow(app, r);
  CLI::App* bids = add_bids(app, r);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const std::string command = command_of(*apply, *follow, *bids);
    if (e.get_exit_code() == 0) {  // --help, --version
      std::ostringstream o, err;
      ParseOutcome done;
      done.status = app.exit(e, o, err);
      done.stdout_text = o.str();
      done.stderr_text = err.str();
      return done;
    }
    const CLI::App& used = apply->parsed()    ? *apply
                           : follow->parsed() ? *follow
                           : bids->parsed()   ? *bids
                                              : app;
    return usage_error(describe(e, app, used, out), command);
  }
  finish_options(r, app, *apply, *follow, *bids, out);
  out.bids.command_line = joined_command_line(argc, argv);
  const std::string problem = check_parsed(out);
  if (!problem.empty()) return usage_error(problem, command_of(*apply, *follow, *bids));
  return {};
}

}  // namespace realign
