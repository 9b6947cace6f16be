// What a run is told. RunSettings is the part every run of a command shares (estimation,
// outputs, how to share the machine): one per command line, in Options (app/options.hpp),
// completed once before any command runs. RunFiles is what differs from run to run (its
// input, its outputs' names, a TR that replaces the header's). A RunOptions joins the two
// where one run starts, from that one RunSettings; the library never parses strings.
#pragma once

#include <string>
#include <vector>

#include "realign/core/estimate.hpp"
#include "realign/core/good_time.hpp"
#include "realign/core/motion_filter.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {

enum class Split { Frames, Points };

// How the outputs are named from the output image: from its stem (out_mean.nii.gz,
// out_rp.txt, ...), or, for `realign bids`, BIDS-Derivatives names from
// <entities>_desc-preproc_bold.nii.gz as fMRIPrep names its derivatives (BidsNext: with
// fMRIPrep's development branch's names for the head-motion reference and transforms).
// run/output_paths.hpp holds the table.
enum class OutputNaming { Stem, Bids, BidsNext };

struct RunSettings {
  // "mean" (two passes), "first", "middle", "median", a 1-based frame number, or a path to a
  // 3D NIfTI.
  std::string reference = "mean";
  EstimateOptions estimate;
  int reslice_degree = 4;
  bool reslice = true;
  bool mask = true;
  OutputType datatype = OutputType::Float32;
  double fd_radius_mm = 50.0;
  double fd_threshold_mm = 0.5;  // frames above it are flagged in the plot and the report
  // A band-stop filter of the parameters for breathing before FD (none by default): adds
  // the filtered FD, which then flags the frames and counts good time.
  FdFilter fd_filter;
  std::vector<double> good_fd_mm = kDefaultGoodFdMm;  // good time's thresholds (report, follow)
  bool report = true;                                 // write the HTML QC report
  bool write_par = false;  // also the rp columns in FSL MCFLIRT's order (.par)
  bool itk_xfm = false;    // a run alone: also the transforms in ITK's format
  // Non-steady-state frames at the start: -1 detects them (nonsteady.hpp), N >= 0 says so.
  int dummy_scans = -1;
  // Refuse to replace outputs that exist (the default replaces them, with a warning).
  bool no_clobber = false;
  Split split = Split::Frames;
  // OpenMP threads per rank: what the process may use (platform/threads.hpp), completed
  // before any command runs; 0 in a library call leaves OpenMP's own count.
  int threads = 0;
  // Refuse inputs whose estimated peak memory on rank 0's node is above this; 0: what the
  // machine (or the job's cgroup, or ulimit -v) has available.
  double max_memory_mb = 0.0;
};

// A series resliced with another's transforms (another echo of a multi-echo run).
struct Companion {
  std::string input, output;
  double echo_time_s = 0.0;          // for its BIDS sidecar; 0: unknown
  std::vector<std::string> sources;  // BIDS URIs of its input, for its sidecar
};

struct RunFiles {
  std::string input;
  std::string output;  // the output image, which names the other outputs
  std::string image;   // the resliced series, when not at `output` (a multi-echo run's echo)
  OutputNaming naming = OutputNaming::Stem;
  std::vector<Companion> companions;  // resliced with this run's transforms
  // > 0: the TR (s) the outputs carry instead of the header's pixdim[4] (`realign bids`
  // takes it from the run's sidecar, RepetitionTime); 0 keeps the header's.
  double repetition_time_s = 0.0;
  // `realign apply`: reslice with these saved transforms (an _xfm.txt) instead of
  // estimating.
  std::string apply_xfm;
  // BIDS derivatives: the BIDS URIs of the files they are made from, and the echo time of
  // the series (s; 0: unknown), for their sidecars.
  std::vector<std::string> sources;
  double echo_time_s = 0.0;
  bool follow = false;  // `realign follow`'s run: OUT_follow.json as well
};

struct RunOptions : RunSettings, RunFiles {
  bool bids() const { return naming != OutputNaming::Stem; }
};

// The options of one run: the command's settings with this run's files.
inline RunOptions run_options(const RunSettings& settings, RunFiles files) {
  return RunOptions{settings, std::move(files)};
}

}  // namespace realign
