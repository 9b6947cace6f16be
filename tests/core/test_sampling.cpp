// Where the reference is sampled: inside the trusted interior, at every sub-voxel offset.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "realign/core/sampling.hpp"

namespace realign {
namespace {

Grid grid_of(std::array<int, 3> dim, Vec3 vox) {
  Grid g;
  g.dim = dim;
  g.vox2world.topLeftCorner<3, 3>() = vox.asDiagonal();
  return g;
}

// The margin follows the smoothing: 2.5 standard deviations of the kernel (Gaussian plus
// the linear B-spline's 1/6 voxel^2), at least a voxel, at most an eighth of the axis.
TEST(Sampling, InteriorMarginFollowsTheKernelWidth) {
  const Grid g = grid_of({64, 64, 34}, Vec3(3.0, 3.0, 3.5));
  auto expected = [](double fwhm, double vox) {
    const double s = fwhm / std::sqrt(8.0 * std::log(2.0)) / vox;
    return std::max(1.0, kEdgeMarginSigmas * std::sqrt(s * s + 1.0 / 6.0));
  };
  const Interior in = trusted_interior(g, 5.0);
  EXPECT_NEAR(in.lo[0], expected(5.0, 3.0), 1e-12);
  EXPECT_NEAR(in.hi[1], 63 - expected(5.0, 3.0), 1e-12);
  EXPECT_NEAR(in.lo[2], expected(5.0, 3.5), 1e-12);
  EXPECT_GT(in.lo[0], 1.9);  // about two voxels at the defaults
  EXPECT_GT(trusted_interior(g, 10.0).lo[2], in.lo[2]);
  EXPECT_DOUBLE_EQ(trusted_interior(g, 0.0).lo[0], 1.0);
  // Six slices keep at least three quarters of their length.
  const Interior thin = trusted_interior(grid_of({64, 64, 6}, Vec3(3, 3, 3)), 5.0);
  EXPECT_DOUBLE_EQ(thin.lo[2], 5.0 / 8.0);
  // A single slice is a slab of its own thickness.
  const Interior flat = trusted_interior(grid_of({40, 20, 1}, Vec3(3, 3, 3)), 5.0);
  EXPECT_DOUBLE_EQ(flat.lo[2], -0.5);
  EXPECT_DOUBLE_EQ(flat.hi[2], 0.5);
  EXPECT_TRUE(in.contains(in.lo[0], 50.0, 20.0));
  EXPECT_FALSE(in.contains(in.lo[0] - 0.01, 30.0, 20.0));
}

TEST(Sampling, PointsFillTheInteriorAtEverySubVoxelOffset) {
  const Grid g = grid_of({64, 64, 34}, Vec3(3.0, 3.0, 3.5));
  const SampleSet s = sample_grid(g, 4.0, 5.0);
  const Interior in = trusted_interior(g, 5.0);
  ASSERT_GT(s.size(), 20000u);
  // One point per 4 mm cell of the interior, give or take the cells cut by its edge.
  double cells = 1.0;
  const double vox[3] = {3.0, 3.0, 3.5};
  for (int a = 0; a < 3; ++a) cells *= (in.hi[a] - in.lo[a]) * vox[a] / 4.0;
  EXPECT_NEAR(static_cast<double>(s.size()), cells, 0.05 * cells);
  double phase_sum[3] = {0, 0, 0}, phase_sq[3] = {0, 0, 0};
  for (std::size_t p = 0; p < s.size(); ++p) {
    ASSERT_TRUE(in.contains(s.x[p], s.y[p], s.z[p])) << p;
    const double v[3] = {s.x[p], s.y[p], s.z[p]};
    for (int a = 0; a < 3; ++a) {
      const double f = v[a] - std::floor(v[a]);
      phase_sum[a] += f;
      phase_sq[a] += f * f;
    }
  }
  // Uniform offsets in [0, 1): mean 1/2 and variance 1/12. SPM's half-voxel jitter on a
  // 4 mm grid of 4 mm slices would put every z offset below 1/2.
  for (int a = 0; a < 3; ++a) {
    const double mean = phase_sum[a] / s.size(), var = phase_sq[a] / s.size() - mean * mean;
    EXPECT_NEAR(mean, 0.5, 0.02) << "axis " << a;
    EXPECT_NEAR(var, 1.0 / 12.0, 0.005) << "axis " << a;
  }
}

TEST(Sampling, SameSetEveryTimeAndPlanarSeriesStayInTheirSlice) {
  const Grid g = grid_of({40, 36, 20}, Vec3(3.0, 3.0, 4.0));
  const SampleSet a = sample_grid(g, 4.0, 5.0), b = sample_grid(g, 4.0, 5.0);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.z, b.z);
  const SampleSet flat = sample_grid(grid_of({40, 20, 1}, Vec3(3.0, 3.0, 3.0)), 4.0, 5.0);
  ASSERT_GT(flat.size(), 30u);
  for (double z : flat.z) EXPECT_EQ(z, 0.0);
}

}  // namespace
}  // namespace realign
