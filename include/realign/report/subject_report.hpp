// The report of a subject's runs (app/subject.hpp): one self-contained HTML page with a
// summary row and the motion of every run, each linking to the run's own QC report.
#pragma once

#include <string>
#include <vector>

#include "realign/core/motion_record.hpp"

namespace realign {

struct SubjectRun {
  const MotionRecord* motion = nullptr;  // parameters relative to frame 1 of the first run
  std::string report_href;               // the run's own report, relative; "" for none
};

// Writes the page: a table with one row per run (frames, reference, FD, frames above the
// threshold, the largest translation and rotation from frame 1 of the first run, a link to
// the run's report), then per run its translations, rotations and FD over frames. Throws
// OutputError(path, ...) when it cannot be written, std::invalid_argument for a run
// without a record.
void write_subject_report(const std::string& path, const std::vector<SubjectRun>& runs);

}  // namespace realign
