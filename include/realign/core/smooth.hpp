// Gaussian smoothing with the width given in millimetres, so anisotropic voxels get a
// different kernel per axis.
#pragma once

#include <array>
#include <vector>

#include "realign/core/volume.hpp"

namespace realign {

// The smoothing kernel of SPM's realign (spm_smoothkern with its default linear basis):
// a Gaussian of standard deviation sigma_vox voxels convolved with the linear B-spline
// (the triangle that spans one voxel either side), sampled at whole voxels. The triangle
// adds 1/6 voxel^2 of variance, which damps the content near the Nyquist frequency that
// interpolation of sampled data gets wrong. Truncated at round(6 sigma) + 1 and
// normalised to sum 1; sigma_vox <= 1e-3 gives {1}.
std::vector<double> smoothing_kernel(double sigma_vox);

// Separable convolution with smoothing_kernel on each axis. Nothing is known outside
// the grid (a slab cuts through the head), so each output voxel is the weighted mean of
// the voxels that exist: the kernel is truncated at the edges and renormalised, as
// SPM's spm_conv_vol does through-plane. Padding with zeros would darken the edge slices
// into a stationary feature that pulls every frame towards "no motion". in and out may
// alias.
void gaussian_smooth(const float* in, float* out, const std::array<int, 3>& dim,
                     const Vec3& voxel_mm, double fwhm_mm);

}  // namespace realign
