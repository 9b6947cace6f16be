// Choosing a reference frame for runs where the first frame is a poor target (a
// movement at the start, a saturation frame): the frame most like the run's median.
#pragma once

#include <vector>

namespace realign {

// The frame (0-based) whose voxels are closest, in summed squares, to the voxel-wise
// median over all frames (frames x voxels, frame-major). Ties go to the earliest frame.
int median_frame(const std::vector<std::vector<float>>& samples_by_frame);

}  // namespace realign
