// Gaussian smoothing with the width given in millimetres, so anisotropic voxels get a
// different kernel per axis.
#pragma once

#include <array>
#include <vector>

#include "realign/volume.hpp"

namespace realign {

// Sampled Gaussian of standard deviation sigma_vox voxels, truncated at
// round(6 sigma) and normalised to sum 1 (as SPM's realign does).
std::vector<double> gaussian_kernel(double sigma_vox);

// Separable convolution; outside the volume counts as zero, as in SPM's spm_conv_vol,
// so edge voxels lose weight rather than gaining mirrored signal. in and out may alias.
void gaussian_smooth(const float* in, float* out, const std::array<int, 3>& dim,
                     const Vec3& voxel_mm, double fwhm_mm);

}  // namespace realign
