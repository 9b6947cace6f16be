// Choosing a reference frame for runs where the first frame is a poor target (a
// movement at the start, a saturation frame): the frame most like the run's median.
#pragma once

#include <vector>

#include "realign/nifti_io.hpp"

namespace realign {

// The frame (0-based) whose voxels are closest, in summed squares, to the voxel-wise
// median over all frames. The median is taken on every `stride`-th voxel along each axis:
// a run's typical frame shows at that resolution, and rank 0 then holds frames/stride^3
// of the series instead of all of it. Ties go to the earliest frame.
// Frames before `first` (non-steady-state) take no part; the result counts from `first`.
int median_frame(const SeriesFile& file, int stride = 3, int first = 0);

// The same on frames held in memory (frames x voxels, frame-major), for tests.
int median_frame(const std::vector<std::vector<float>>& samples_by_frame);

}  // namespace realign
