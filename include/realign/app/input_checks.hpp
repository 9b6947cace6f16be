// What rank 0 decides about the input before any rank commits to work: whether the
// node has the memory for it, and how many of its first frames are non-steady-state.
#pragma once

#include <vector>

#include "realign/app/options.hpp"
#include "realign/io/frame_file.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {

// Refuses (InputError) an input whose estimated peak on rank 0's node, with ranks_here
// ranks sharing it, exceeds --max-memory or what the machine or job allows.
void check_memory(const Options& opt, const NiftiInfo& input, int ranks_here);

// The non-steady-state frames at the start of the run: --dummy-scans (UsageError when it
// leaves fewer than two frames), or detected from the global means of the first frames
// (core/nonsteady.hpp), logged when there are any. At least two frames are left.
int nonsteady_frames(const Options& opt, const FrameFile& file);

// The same from the global means of the first kNonsteadyWindow frames (of `frames`), for
// callers that see the frames one by one (`realign follow`); means may be empty when
// --dummy-scans is given.
int nonsteady_frames(const Options& opt, const std::vector<double>& means, int frames);
double global_mean(const float* v, std::size_t n);

}  // namespace realign
