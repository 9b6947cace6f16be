// Resampling frames into the reference grid with a B-spline, SPM's edge mask and the
// mean image.
#pragma once

#include <vector>

#include "realign/core/bspline.hpp"
#include "realign/core/volume.hpp"

namespace realign {

// For each row (j, k) of the output grid, the voxels lo..hi (inclusive) that a frame can
// see; rows with lo > hi see nothing. Because the map is affine, a row's visible voxels
// are one interval, which keeps the mask exact and cheap.
struct RowIntervals {
  std::array<int, 3> dim{0, 0, 0};
  std::vector<int> lo, hi;

  bool contains(int i, int j, int k) const {
    const std::size_t r = static_cast<std::size_t>(k) * dim[1] + j;
    return i >= lo[r] && i <= hi[r];
  }
  void intersect(const RowIntervals& o);
  // Writes `fill` into every voxel of vol outside the intervals.
  void apply(float* vol, float fill) const;
};

// Voxels of out_grid whose source point, through `out_to_frame` (output voxels to frame
// voxels), lies inside the frame grid or at most `tol` voxel outside it.
RowIntervals visible_rows(const std::array<int, 3>& out_dim, const std::array<int, 3>& frame_dim,
                          const Mat4& out_to_frame, double tol = 0.05);

// Samples a frame (its padded B-spline coefficients) at out_to_frame * v for every output
// voxel v that `visible` admits (computed with tol <= 0.05), writing `fill` elsewhere.
void reslice_frame(const PaddedCoefficients& coef, const Mat4& out_to_frame,
                   const RowIntervals& visible, float fill, float* out);

// Lets the 4th-degree kernel use AVX2+FMA when the CPU has them (the default) or pins it
// to the SSE2 baseline; returns whether AVX2 will be used. For tests and benchmarks.
bool reslice_use_avx2(bool allow);

// Running per-voxel sums for the mean image over the frames that cover each voxel.
struct MeanImage {
  std::vector<double> sum;
  std::vector<float> count;

  void reset(std::size_t voxels);
  void add(const float* resliced, const RowIntervals& covered);
  // Mean where count > 0, `fill` elsewhere.
  std::vector<float> result(float fill) const;
};

}  // namespace realign
