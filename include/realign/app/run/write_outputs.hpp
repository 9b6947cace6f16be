// Stage 5 of a run, on rank 0: the companions of the resliced series, written under
// temporary names and renamed into place together.
#pragma once

#include <vector>

#include "realign/app/platform/output_set.hpp"
#include "realign/app/run/run_options.hpp"
#include "realign/app/run/run_plan.hpp"
#include "realign/core/motion_record.hpp"

namespace realign {

struct RunImages {
  std::vector<float> mean_before;  // for the report; empty when none is written
  std::vector<float> mean_after;   // empty without reslicing
};

// The mean image (when resliced) and, unless the run only applies given transforms, the
// rp, .par, confounds, xfm, motion plot and QC report, under `outs`' temporary names (the
// caller commits them).
void write_outputs(const RunPlan& plan, const MotionRecord& record, const RunImages& images,
                   const RunOptions& opt, OutputSet& outs);

}  // namespace realign
