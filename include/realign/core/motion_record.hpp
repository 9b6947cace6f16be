// What a run found, from estimation to every writer: the one record the rp file, the
// confounds, the plots and the QC report are all written from.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "realign/core/good_time.hpp"
#include "realign/core/motion_filter.hpp"
#include "realign/core/rigid.hpp"
#include "realign/core/volume.hpp"

namespace realign {

// What became of the receive coil's profile (--intensity coil): the max - min of its log
// over the volume as estimated (NaN when not estimated), and whether it was divided out.
struct ReceiveFieldOutcome {
  double log_span = std::numeric_limits<double>::quiet_NaN();
  bool removed = false;
  int every = 1;  // estimated from one frame in `every` (more than 1: left in early)
};

struct MotionRecord {
  std::string input_name;  // the input file's name, for titles
  Grid grid;               // the input's grid
  double tr_s = 0.0;       // 0 when unknown
  std::string reference;   // how the reference was chosen, in words

  std::vector<RigidParams> rp;  // rp convention, row 0 zero (unless origin_run says otherwise)
  // One of several runs of a subject: the file whose frame 1 every run's parameters are
  // relative to (SPM's convention for several sessions). Empty: the run's own frame 1.
  std::string origin_run;
  // Relative to its own first frame although one of several runs of a subject (fMRIPrep's
  // convention; relative_to_own_run): the run origin_run was, and this run's first frame
  // relative to that run's first frame. Empty: not re-based.
  std::string offset_from;
  RigidParams offset{};
  // Per-frame world (RAS mm) matrices: corrected vox2world = xfm[n] * vox2world.
  std::vector<Mat4> xfm;
  std::vector<int> iterations;   // per frame, in the final pass; empty when unknown
  std::vector<int> unconverged;  // 0-based indices; written 1-based like every frame number
  // Non-steady-state frames at the start (0 = none), and whether --dummy-scans said so
  // rather than the detection.
  int nonsteady = 0;
  bool nonsteady_given = false;
  ReceiveFieldOutcome receive_field;

  // As in metrics.hpp; NaN (element 0) is written "n/a". An empty vector means "not
  // computed" (DVARS without a resliced series) and is written as a column of "n/a".
  std::vector<double> fd, rmsd, dvars;
  std::vector<double> std_dvars;  // dvars over its expected value under the null (dvars_null)
  double fd_radius_mm = 50.0;
  double fd_threshold_mm = 0.5;  // frames above it are flagged in the plots and the report
  double rmsd_radius_mm = 80.0;
  // With --fd-filter, FD of the parameters filtered for breathing (motion_filter.hpp),
  // beside the unfiltered fd; empty without a filter.
  FdFilter fd_filter;
  std::vector<double> fd_filtered;
  // The thresholds of good time (good_time.hpp) in the report.
  std::vector<double> good_fd_mm = kDefaultGoodFdMm;

  // The FD that flags frames (motion outliers, the frames above the threshold) and counts
  // good time: the filtered one when the run asked for a filter, as XCP-D censors.
  const std::vector<double>& censor_fd() const { return fd_filter.active() ? fd_filtered : fd; }
};

}  // namespace realign
