#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "realign/core/bspline.hpp"
#include "realign/core/reslice.hpp"
#include "realign/core/rigid.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;

const std::array<int, 3> kDim{16, 14, 10};

std::vector<float> smooth_volume() {
  std::vector<float> v(kDim[0] * kDim[1] * kDim[2]);
  for (int k = 0; k < kDim[2]; ++k)
    for (int j = 0; j < kDim[1]; ++j)
      for (int i = 0; i < kDim[0]; ++i)
        v[i + kDim[0] * (j + kDim[1] * k)] =
            static_cast<float>(100 + 20 * std::sin(0.4 * i) * std::cos(0.3 * j) + 5 * k);
  return v;
}

Mat4 some_map() { return rigid_matrix({0.7, -1.3, 0.4, 0.05, -0.03, 0.08}); }

TEST(Reslice, VisibleRowsMatchAPerVoxelCheck) {
  const Mat4 m = some_map();
  const RowIntervals rows = visible_rows(kDim, kDim, m, 0.05);
  int mismatches = 0, visible = 0;
  for (int k = 0; k < kDim[2]; ++k)
    for (int j = 0; j < kDim[1]; ++j)
      for (int i = 0; i < kDim[0]; ++i) {
        const Eigen::Vector4d y = m * Eigen::Vector4d(i, j, k, 1);
        bool inside = true;
        for (int d = 0; d < 3; ++d) inside = inside && y[d] >= -0.05 && y[d] <= kDim[d] - 1 + 0.05;
        mismatches += inside != rows.contains(i, j, k);
        visible += inside;
      }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(visible, 300);
  EXPECT_LT(visible, kDim[0] * kDim[1] * kDim[2]);
}

TEST(Reslice, IdentityReproducesTheFrameForEveryDegree) {
  const std::vector<float> v = smooth_volume();
  for (int degree = 0; degree <= 5; ++degree) {
    std::vector<float> coef = v;
    bspline_coefficients(coef.data(), kDim, degree);
    const RowIntervals all = visible_rows(kDim, kDim, Mat4::Identity());
    std::vector<float> out(v.size());
    reslice_frame(pad_coefficients(coef.data(), kDim, degree), Mat4::Identity(), all, NAN,
                  out.data());
    for (std::size_t i = 0; i < v.size(); ++i) ASSERT_NEAR(out[i], v[i], 1e-3) << degree;
  }
}

TEST(Reslice, SamplesWhereTheMapPointsAndFillsOutside) {
  const std::vector<float> v = smooth_volume();
  std::vector<float> coef = v;
  bspline_coefficients(coef.data(), kDim, 4);
  const Mat4 m = some_map();
  const RowIntervals rows = visible_rows(kDim, kDim, m);
  std::vector<float> out(v.size());
  reslice_frame(pad_coefficients(coef.data(), kDim, 4), m, rows, NAN, out.data());
  int checked = 0;
  for (int k = 0; k < kDim[2]; ++k)
    for (int j = 0; j < kDim[1]; ++j)
      for (int i = 0; i < kDim[0]; ++i) {
        const float got = out[i + kDim[0] * (j + kDim[1] * k)];
        if (!rows.contains(i, j, k)) {
          EXPECT_TRUE(std::isnan(got));
          continue;
        }
        const Eigen::Vector4d y = m * Eigen::Vector4d(i, j, k, 1);
        EXPECT_NEAR(got, realign::testing::textbook_spline(coef.data(), kDim, 4, y[0], y[1], y[2]),
                    1e-3);
        ++checked;
      }
  EXPECT_GT(checked, 300);
}

// The vector kernels of degree 4 (AVX2 where the CPU has it, and the SSE2 baseline)
// against the plain evaluation of the same spline.
TEST(Reslice, QuarticKernelsAgreeWithPlainEvaluation) {
  const std::vector<float> v = smooth_volume();
  std::vector<float> coef = v;
  bspline_coefficients(coef.data(), kDim, 4);
  const PaddedCoefficients padded = pad_coefficients(coef.data(), kDim, 4);
  const Mat4 m = some_map();
  const RowIntervals rows = visible_rows(kDim, kDim, m);
  for (bool avx2 : {true, false}) {
    reslice_use_avx2(avx2);
    std::vector<float> out(v.size());
    reslice_frame(padded, m, rows, NAN, out.data());
    for (int k = 0; k < kDim[2]; ++k)
      for (int j = 0; j < kDim[1]; ++j)
        for (int i = 0; i < kDim[0]; ++i) {
          if (!rows.contains(i, j, k)) continue;
          const Eigen::Vector4d y = m * Eigen::Vector4d(i, j, k, 1);
          ASSERT_NEAR(out[i + kDim[0] * (j + kDim[1] * k)],
                      realign::testing::textbook_spline(coef.data(), kDim, 4, y[0], y[1], y[2]),
                      2e-3)
              << (avx2 ? "avx2" : "sse2");
        }
  }
  reslice_use_avx2(true);
}

TEST(Reslice, MaskAndMeanFollowCoverage) {
  // Frame A sees everything; frame B is shifted by 2 voxels in i so it misses two
  // columns.
  Mat4 shift = Mat4::Identity();
  shift(0, 3) = 2.0;
  const RowIntervals a = visible_rows(kDim, kDim, Mat4::Identity());
  const RowIntervals b = visible_rows(kDim, kDim, shift);
  RowIntervals common = a;
  common.intersect(b);
  EXPECT_TRUE(common.contains(kDim[0] - 3, 0, 0));
  EXPECT_FALSE(common.contains(kDim[0] - 2, 0, 0));
  EXPECT_FALSE(common.contains(kDim[0] - 1, 5, 5));

  const std::size_t n = static_cast<std::size_t>(kDim[0]) * kDim[1] * kDim[2];
  std::vector<float> fa(n, 10.0f), fb(n, 20.0f);
  MeanImage mean;
  mean.reset(n);
  mean.add(fa.data(), a);
  mean.add(fb.data(), b);
  const std::vector<float> m = mean.result(NAN);
  EXPECT_FLOAT_EQ(m[0], 15.0f);            // both frames cover it
  EXPECT_FLOAT_EQ(m[kDim[0] - 1], 10.0f);  // only A covers it
  common.apply(fb.data(), NAN);
  EXPECT_TRUE(std::isnan(fb[kDim[0] - 1]));
  EXPECT_FLOAT_EQ(fb[0], 20.0f);
}

}  // namespace
