// What rank 0 decides about the input before any rank commits to work: whether the
// node has the memory for it, whether its TR suits --fd-filter, and how many of its first
// frames are non-steady-state.
#pragma once

#include <vector>

#include "realign/app/run/reference_choice.hpp"
#include "realign/app/run/run_options.hpp"
#include "realign/io/frame_file.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {

// Refuses (InputError) an input whose estimated peak on rank 0's node, with ranks_here
// ranks sharing it, exceeds --max-memory or what the machine or job allows.
void check_memory(const RunOptions& opt, const NiftiInfo& input, int ranks_here);

// Refuses (UsageError, exit status 2) an --fd-filter that the input's TR cannot carry:
// the band at or above the Nyquist frequency, or no TR at all. One line, naming the input
// and the TR.
void check_fd_filter(const RunOptions& opt, double tr_s);

// The non-steady-state frames at the start of a run.
struct NonsteadyFrames {
  int count = 0;              // frames 1..count
  bool given = false;         // --dummy-scans said so
  double brighter_pct = 0.0;  // detected: frame 1 against the steady state, in percent
};

// --dummy-scans (UsageError when it leaves fewer than two frames), or detected from the
// global means of the first frames (core/nonsteady.hpp). At least two frames are left.
NonsteadyFrames nonsteady_frames(const RunOptions& opt, const FrameFile& file);

// The same from the global means of the first kNonsteadyWindow frames (of `frames`), for
// callers that see the frames one by one (`realign follow`); means may be empty when
// --dummy-scans is given.
NonsteadyFrames nonsteady_frames(const RunOptions& opt, const std::vector<double>& means,
                                 int frames);

// The log line on them, true for the reference the run uses: kept out of a mean or median;
// a reference frame among them is a warning (its contrast is not the run's), with
// `advice` on what to give instead.
void log_nonsteady(const NonsteadyFrames& n, const ReferenceChoice& reference,
                   const std::string& advice);

double global_mean(const float* v, std::size_t n);

}  // namespace realign
