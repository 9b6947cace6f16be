// The smoothing applied before estimation: SPM's kernel, widths in millimetres, and edges
// where nothing is known beyond the grid.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "realign/core/smooth.hpp"

namespace realign {
namespace {

const double kFwhmToSigma = 1.0 / std::sqrt(8.0 * std::log(2.0));

double sum_of(const std::vector<double>& k) { return std::accumulate(k.begin(), k.end(), 0.0); }

// Second moment about the centre tap.
double variance_of(const std::vector<double>& k) {
  const int half = static_cast<int>(k.size() / 2);
  double v = 0.0;
  for (int i = -half; i <= half; ++i) v += k[i + half] * i * i;
  return v / sum_of(k);
}

TEST(Smooth, KernelIsNormalisedSymmetricAndHasTheTriangleVariance) {
  for (double sigma : {0.5, 0.7, 1.3, 2.5}) {
    const std::vector<double> k = smoothing_kernel(sigma);
    ASSERT_EQ(k.size() % 2, 1u);
    EXPECT_NEAR(sum_of(k), 1.0, 1e-12);
    for (std::size_t i = 0; i < k.size() / 2; ++i) EXPECT_DOUBLE_EQ(k[i], k[k.size() - 1 - i]);
    // A Gaussian convolved with the linear B-spline: sigma^2 + 1/6, the triangle's variance.
    EXPECT_NEAR(variance_of(k), sigma * sigma + 1.0 / 6.0, 2e-3) << "sigma " << sigma;
  }
  EXPECT_EQ(smoothing_kernel(0.0), std::vector<double>{1.0});
}

// Far from the edges an impulse spreads into the product of three kernels, which for a
// wide kernel is the sampled Gaussian of variance sigma^2 + 1/6 voxel^2 on each axis, with
// sigma from the FWHM in mm and the voxel size of that axis.
TEST(Smooth, ImpulseResponseIsTheAnalyticGaussianPerAxis) {
  const std::array<int, 3> dim{41, 41, 31};
  const Vec3 vox(2.0, 2.0, 3.0);
  const double fwhm = 10.0;
  std::vector<float> v(41 * 41 * 31, 0.0f);
  const int c[3] = {20, 20, 15};
  auto at = [&](int i, int j, int k) { return (static_cast<std::size_t>(k) * 41 + j) * 41 + i; };
  v[at(c[0], c[1], c[2])] = 1.0f;
  gaussian_smooth(v.data(), v.data(), dim, vox, fwhm);
  double total = 0.0;
  for (float x : v) total += x;
  EXPECT_NEAR(total, 1.0, 1e-5);
  double var[3];
  for (int a = 0; a < 3; ++a) {
    const double s = fwhm * kFwhmToSigma / vox[a];
    var[a] = s * s + 1.0 / 6.0;
  }
  const double norm = 1.0 / std::sqrt(8.0 * M_PI * M_PI * M_PI * var[0] * var[1] * var[2]);
  const double peak = norm;
  for (int k = 8; k <= 22; k += 2)
    for (int j = 12; j <= 28; j += 4)
      for (int i = 12; i <= 28; i += 4) {
        const double dx = i - c[0], dy = j - c[1], dz = k - c[2];
        const double expect =
            norm * std::exp(-0.5 * (dx * dx / var[0] + dy * dy / var[1] + dz * dz / var[2]));
        EXPECT_NEAR(v[at(i, j, k)], expect, 2e-3 * peak) << i << " " << j << " " << k;
      }
}

// Outside the grid counts as missing, not as zero: a uniform volume stays uniform up to
// its edge slices (zero padding would darken them into a stationary feature).
TEST(Smooth, EdgesAreRenormalisedNotDarkened) {
  const std::array<int, 3> dim{12, 10, 8};
  std::vector<float> v(12 * 10 * 8, 100.0f);
  gaussian_smooth(v.data(), v.data(), dim, Vec3(3.0, 3.0, 3.5), 8.0);
  for (float x : v) EXPECT_NEAR(x, 100.0f, 1e-3f);

  // A ramp along z keeps its level in the middle; at an edge slice the mean of what
  // exists lies inside the slab, so the value moves towards the interior, never to 0.
  std::vector<float> ramp(12 * 10 * 8);
  for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = 10.0f * (i / (12 * 10)) + 50.0f;
  gaussian_smooth(ramp.data(), ramp.data(), dim, Vec3(3.0, 3.0, 3.5), 5.0);
  EXPECT_NEAR(ramp[4 * 120], 90.0f, 1e-3f);  // linear data: symmetric weights keep it
  EXPECT_GT(ramp[0], 50.0f);
  EXPECT_LT(ramp[0], 60.0f);
  EXPECT_LT(ramp[7 * 120], 120.0f);
  EXPECT_GT(ramp[7 * 120], 110.0f);
}

TEST(Smooth, ZeroWidthLeavesTheVolumeAlone) {
  const std::array<int, 3> dim{5, 4, 3};
  std::vector<float> v(60), out(60);
  std::iota(v.begin(), v.end(), 1.0f);
  gaussian_smooth(v.data(), out.data(), dim, Vec3(2, 2, 2), 0.0);
  EXPECT_EQ(v, out);
}

}  // namespace
}  // namespace realign
