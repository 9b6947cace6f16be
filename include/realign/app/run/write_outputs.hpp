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
  // The mean where any frame sees each voxel, 0 where none does (no mask): the head-motion
  // reference of BIDS derivatives; empty when not needed.
  std::vector<float> mean_seen;
};

// The mean image (when resliced) and, unless the run only applies given transforms, the
// rp, .par, confounds, xfm, motion plot and QC report; the ITK transforms with --itk-xfm;
// and for BIDS derivatives the series' sidecar, the head-motion reference (mean_seen) with
// its sidecar, the ITK transforms from it and the brain mask: all under `outs`' temporary
// names (the caller commits them).
void write_outputs(const RunPlan& plan, const MotionRecord& record, const RunImages& images,
                   const RunOptions& opt, OutputSet& outs);

// A companion's (another echo's) BIDS sidecar, beside its series.
void write_companion_sidecar(double tr_s, const Companion& companion, OutputSet& outs);

}  // namespace realign
