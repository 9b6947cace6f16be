// Everything a realign run is told, filled by the command line; the library never parses
// strings.
#pragma once

#include <string>

#include "realign/core/estimate.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {

enum class Split { Frames, Points };

// How the outputs are named from `output`: from its stem (out_mean.nii.gz, out_rp.txt, ...),
// or, for `realign bids`, BIDS-Derivatives names from <entities>_desc-preproc_bold.nii.gz.
enum class OutputNaming { Stem, Bids };

struct Options {
  std::string input;
  std::string output;
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
  bool report = true;            // write <stem>_report.html
  Split split = Split::Frames;
  int threads = 0;  // 0: the detected count (threads.hpp), the default
  // Refuse inputs whose estimated peak memory on rank 0's node is above this; 0: what the
  // machine (or the job's cgroup, or ulimit -v) has available.
  double max_memory_mb = 0.0;
  // `realign apply`: reslice with these saved transforms (an _xfm.txt) instead of
  // estimating.
  std::string apply_xfm;
  bool write_par = false;  // also <stem>.par in FSL MCFLIRT's column order
  // Non-steady-state frames at the start: -1 detects them (nonsteady.hpp), N >= 0 says so.
  int dummy_scans = -1;
  // Refuse to replace outputs that exist (the default replaces them, with a warning).
  bool no_clobber = false;
  OutputNaming naming = OutputNaming::Stem;
  // > 0: the TR (s) the outputs carry instead of the header's pixdim[4] (`realign bids`
  // takes it from the run's sidecar, RepetitionTime); 0 keeps the header's.
  double repetition_time_s = 0.0;
};

}  // namespace realign
