// Stage 3 of a run: every frame's motion, fitted where its frames are and then known to
// every rank.
#pragma once

#include <vector>

#include "realign/app/run/local_frames.hpp"
#include "realign/app/run/run_options.hpp"
#include "realign/app/run/run_plan.hpp"
#include "realign/core/estimate.hpp"
#include "realign/core/motion_record.hpp"

namespace realign {

struct MotionEstimate {
  // Per frame, the world correction into the reference's space: the frame's realigned
  // voxel-to-world is corrections[f] * vox2world.
  std::vector<Mat4> corrections;
  std::vector<int> iterations;   // in the final pass
  std::vector<int> unconverged;  // frames that hit the cap or lost overlap
  ReceiveFieldOutcome receive_field;
};

// The reference's sample points with its smoothed values and gradients.
SampleSet reference_points(const float* reference, const Grid& grid, const EstimateOptions& est);

// The fitter of every frame against those points: their Jacobian, thinned by quality when
// `select` (a run of more than two frames). `realign follow` builds the same one per run,
// which is why its parameters equal a batch `--ref first` run's.
FrameFitter reference_fitter(SampleSet points, const Grid& grid, bool select,
                             const EstimateOptions& est);

// Collective. One pass to the reference, or (--ref mean) SPM's two: every frame to the
// first-pass reference, the mean of the moved frames at the sample points, then every
// frame to that mean; with --intensity coil, the receive field estimated from pass 1 is
// divided out of the frames in between. Rank 0 warns about each frame that did not converge.
MotionEstimate estimate_motion(const RunPlan& plan, const LocalFrames& local,
                               const RunOptions& opt);

// The record every writer reads: parameters relative to frame 1 (SPM's rp), the matrices
// to reslice with (into frame 1's space, or the reference file's own, or as `apply` was
// given them) and the motion measures. Rank 0 warns when the motion is implausible.
MotionRecord record_motion(const RunPlan& plan, const MotionEstimate& estimate,
                           const RunOptions& opt);

}  // namespace realign
