// Several runs of one subject in one space (subject.hpp): what the first run leaves for
// the others to be registered to.
#pragma once

#include "realign/app/run/estimate_motion.hpp"
#include "realign/app/run/local_frames.hpp"
#include "realign/app/run/run_options.hpp"
#include "realign/app/run/run_plan.hpp"
#include "realign/core/motion_record.hpp"

namespace realign {

// Collective, once the first run's motion is known. The reference --ref chose for the
// first run, as an image the later runs take as a reference file would be taken: a frame
// of the first run (first, middle, median, N) or the reference file as they are; for
// `mean`, the mean of the first run's frames resliced with their final transforms (the
// image the register-to-mean pass aligned to, in frame 1's space). Its matrices say how
// that image's space relates to the first run's resliced series and its frame 1.
CommonReference first_run_reference(const RunPlan& plan, const MotionEstimate& estimate,
                                    const MotionRecord& record, const LocalFrames& local,
                                    const RunOptions& opt);

}  // namespace realign
