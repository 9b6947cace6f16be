// The dataset index of `realign bids`: one self-contained HTML page (inline style and a
// short inline script to sort the table; nothing fetched) with a row of motion measures per
// run, linking each run's QC report, the runs beyond the limits highlighted as in MRIQC's
// group reports, and the runs that failed with their error.
#pragma once

#include <string>
#include <vector>

#include "realign/core/motion_record.hpp"

namespace realign {

// A run's motion in the numbers a group table compares.
struct RunMotionSummary {
  int frames = 0;
  double tr_s = 0.0;        // 0 when unknown
  double mean_fd_mm = 0.0;  // over frames 2..n
  double max_fd_mm = 0.0;
  int frames_over = 0;  // frames with FD above the run's --fd-threshold
  double fd_threshold_mm = 0.5;
  double max_displacement_mm = 0.0;  // of any point within the FD radius, from frame 1
  double voxel_mm = 0.0;             // the largest voxel side
};
RunMotionSummary summarise_motion(const MotionRecord& record);

struct IndexRun {
  std::string name;  // the run's entities, "sub-01_ses-1_task-rest_run-1"
  std::string subject, session, task, run;
  std::string report_href;  // the QC report, relative to the index; "" when none
  bool failed = false;
  std::string error;  // why it failed, one line
  RunMotionSummary motion;
};

// Beyond any of these a run's row is highlighted (and the cell that says why): the
// "stringent" exclusion rules of Parkes et al. 2018 for FD, and a displacement of more than
// a voxel, where realignment starts to matter for the analysis.
struct IndexLimits {
  double mean_fd_mm = 0.25;
  double max_fd_mm = 5.0;
  double over_fraction = 0.2;  // of the frames, above --fd-threshold
  double displacement_voxels = 1.0;
};

// Which limits a run exceeds, for the page and for tests.
struct RunFlags {
  bool mean_fd = false, max_fd = false, over = false, displacement = false;
  bool any() const { return mean_fd || max_fd || over || displacement; }
};
RunFlags flag_run(const RunMotionSummary& m, const IndexLimits& limits);

// The page. `title` names the dataset; `created` is shown as the date; `not_done` names the
// runs of the dataset that have no record yet (a job of the array still to come, or a
// dataset run stopped part-way).
std::string dataset_index_html(const std::vector<IndexRun>& runs, const IndexLimits& limits,
                               const std::string& title, const std::string& created,
                               const std::vector<std::string>& not_done = {});

}  // namespace realign
