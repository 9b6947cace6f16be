#include "realign/app/run/common_reference.hpp"

#include <filesystem>

#include "realign/app/run/reslice_stream.hpp"

namespace realign {

CommonReference first_run_reference(const RunPlan& plan, const MotionEstimate& estimate,
                                    const MotionRecord& record, const LocalFrames& local,
                                    const RunOptions& opt) {
  CommonReference c;
  c.grid = plan.input.grid;
  c.first_run = std::filesystem::path(opt.input).filename().string();
  const Mat4 frame1 = estimate.corrections[0];  // frame 1 into the reference's space
  switch (plan.reference.kind) {
    case ReferenceChoice::Mean:
      // Resliced with record.xfm, so already in the common space (frame 1's).
      // Non-steady-state frames stay out of it, as out of the register-to-mean mean.
      c.volume = realigned_mean(record.xfm, local, opt, plan.nonsteady);
      c.words = "the mean of " + c.first_run + " after realignment (its register-to-mean pass)";
      break;
    case ReferenceChoice::Frame:
      // The frame's own space is where frame 1's correction maps to; the common space is
      // frame 1's.
      c.volume = plan.reference_volume;
      c.to_common = frame1.inverse();
      c.words = plan.reference_words + " of " + c.first_run;
      break;
    case ReferenceChoice::File:
      // The first run's series lie in the file's space; its parameters start at frame 1.
      c.volume = plan.reference_volume;
      c.origin = frame1;
      c.words = plan.reference_words + " (the reference of " + c.first_run + ")";
      break;
  }
  return c;
}

}  // namespace realign
