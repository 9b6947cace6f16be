#include <gtest/gtest.h>
#include <itkBSplineInterpolateImageFunction.h>
#include <itkImage.h>

#include <random>
#include <vector>

#include "realign/core/bspline.hpp"
#include "test_support.hpp"

namespace {

using Image = itk::Image<float, 3>;

struct Fixture {
  std::array<int, 3> dim{12, 10, 9};
  std::vector<float> samples;
  Image::Pointer image;

  Fixture() {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    samples.resize(dim[0] * dim[1] * dim[2]);
    for (float& v : samples) v = u(rng);
    image = Image::New();
    Image::RegionType region;
    region.SetSize({static_cast<itk::SizeValueType>(dim[0]),
                    static_cast<itk::SizeValueType>(dim[1]),
                    static_cast<itk::SizeValueType>(dim[2])});
    image->SetRegions(region);
    image->Allocate();
    std::copy(samples.begin(), samples.end(), image->GetBufferPointer());
  }
};

std::vector<std::array<double, 3>> random_points(const std::array<int, 3>& dim, int n) {
  std::mt19937 rng(11);
  std::vector<std::array<double, 3>> p(n);
  for (auto& x : p)
    for (int d = 0; d < 3; ++d)
      x[d] = std::uniform_real_distribution<double>(0.0, dim[d] - 1.0)(rng);
  // Include the corners, where the mirror boundary matters most.
  p.push_back({0.0, 0.0, 0.0});
  p.push_back({dim[0] - 1.0, dim[1] - 1.0, dim[2] - 1.0});
  p.push_back({0.1, dim[1] - 1.2, 0.4});
  return p;
}

class BSplineVsItk : public ::testing::TestWithParam<int> {};

TEST_P(BSplineVsItk, ValueAndGradientMatchItk) {
  const int degree = GetParam();
  Fixture fx;
  auto interp = itk::BSplineInterpolateImageFunction<Image, double, double>::New();
  interp->SetSplineOrder(degree);
  interp->SetInputImage(fx.image);

  std::vector<float> coef = fx.samples;
  realign::bspline_coefficients(coef.data(), fx.dim, degree);
  const realign::PaddedCoefficients padded = realign::pad_coefficients(coef.data(), fx.dim, degree);

  for (const auto& p : random_points(fx.dim, 200)) {
    itk::ContinuousIndex<double, 3> ci;
    for (int d = 0; d < 3; ++d) ci[d] = p[d];
    const double expect = interp->EvaluateAtContinuousIndex(ci);
    const auto expect_grad = interp->EvaluateDerivativeAtContinuousIndex(ci);
    double grad[3];
    const double got = realign::padded_value_gradient(padded, p[0], p[1], p[2], grad);
    EXPECT_NEAR(got, expect, 1e-5) << "degree " << degree;
    EXPECT_NEAR(realign::padded_value(padded, p[0], p[1], p[2]), expect, 1e-5);
    // Linear interpolation has no derivative at the knots; compare elsewhere.
    const bool at_knot = degree == 1 && (p[0] == std::floor(p[0]) || p[1] == std::floor(p[1]) ||
                                         p[2] == std::floor(p[2]));
    if (!at_knot)
      for (int d = 0; d < 3; ++d) EXPECT_NEAR(grad[d], expect_grad[d], 1e-5) << "axis " << d;
  }
}

INSTANTIATE_TEST_SUITE_P(Degrees, BSplineVsItk, ::testing::Values(1, 2, 3, 4));

TEST(BSpline, InterpolatesTheSamplesForEveryDegree) {
  Fixture fx;
  for (int degree = 0; degree <= realign::kMaxSplineDegree; ++degree) {
    std::vector<float> coef = fx.samples;
    realign::bspline_coefficients(coef.data(), fx.dim, degree);
    const realign::PaddedCoefficients padded =
        realign::pad_coefficients(coef.data(), fx.dim, degree);
    for (int k = 0; k < fx.dim[2]; k += 2)
      for (int j = 0; j < fx.dim[1]; j += 3)
        for (int i = 0; i < fx.dim[0]; i += 1) {
          const float sample = fx.samples[i + fx.dim[0] * (j + fx.dim[1] * k)];
          EXPECT_NEAR(realign::padded_value(padded, i, j, k), sample, 2e-5) << "degree " << degree;
          EXPECT_NEAR(realign::testing::textbook_spline(coef.data(), fx.dim, degree, i, j, k),
                      sample, 2e-5)
              << "degree " << degree;
        }
  }
}

// The closed-form weights of the hot paths against the textbook definition of the
// B-spline (truncated-power sum in bspline_weights) for every degree.
TEST(BSpline, ClosedFormWeightsMatchTheGeneralDefinition) {
  for (double x : {0.0, 0.3, 0.5, 0.77, 1.49, 2.5, 3.999}) {
    double w[6], dw[6], wg[6], dwg[6];
    auto check = [&](int degree, int first) {
      const int first_general = realign::bspline_weights(degree, x, wg, dwg);
      EXPECT_EQ(first, first_general) << degree;
      for (int k = 0; k <= degree; ++k) {
        EXPECT_NEAR(w[k], wg[k], 1e-12) << "degree " << degree << " x " << x;
      }
    };
    check(1, realign::spline_weights<1>(x, w));
    check(2, realign::spline_weights<2>(x, w));
    check(3, realign::spline_weights<3>(x, w));
    check(4, realign::spline_weights<4>(x, w));
    const int f2 = realign::spline_weights_derivs<2>(x, w, dw);
    realign::bspline_weights(2, x, wg, dwg);
    for (int k = 0; k <= 2; ++k) EXPECT_NEAR(dw[k], dwg[k], 1e-12);
    const int f3 = realign::spline_weights_derivs<3>(x, w, dw);
    realign::bspline_weights(3, x, wg, dwg);
    for (int k = 0; k <= 3; ++k) EXPECT_NEAR(dw[k], dwg[k], 1e-12);
    (void)f2;
    (void)f3;
  }
}

// Every component of the gradient against central differences of the value, for every
// degree that has a continuous gradient (2 to 5), away from the mirrored edges; the value
// that comes with the gradient is the value itself.
TEST(BSpline, GradientMatchesFiniteDifferenceOfValue) {
  Fixture fx;
  const double h = 1e-5;
  for (int degree = 2; degree <= 5; ++degree) {
    std::vector<float> coef = fx.samples;
    realign::bspline_coefficients(coef.data(), fx.dim, degree);
    const realign::PaddedCoefficients view = realign::pad_coefficients(coef.data(), fx.dim, degree);
    auto value = [&](double x, double y, double z) { return realign::padded_value(view, x, y, z); };
    int checked = 0;
    for (const auto& p : random_points(fx.dim, 50)) {
      if (p[0] < 1 || p[1] < 1 || p[2] < 1 || p[0] > fx.dim[0] - 2 || p[1] > fx.dim[1] - 2 ||
          p[2] > fx.dim[2] - 2)
        continue;
      double grad[3];
      const double v = realign::padded_value_gradient(view, p[0], p[1], p[2], grad);
      EXPECT_NEAR(v, value(p[0], p[1], p[2]), 1e-9) << "degree " << degree;
      const double fd[3] = {(value(p[0] + h, p[1], p[2]) - value(p[0] - h, p[1], p[2])) / (2 * h),
                            (value(p[0], p[1] + h, p[2]) - value(p[0], p[1] - h, p[2])) / (2 * h),
                            (value(p[0], p[1], p[2] + h) - value(p[0], p[1], p[2] - h)) / (2 * h)};
      for (int a = 0; a < 3; ++a)
        EXPECT_NEAR(grad[a], fd[a], 1e-5) << "degree " << degree << ", axis " << a << " at ("
                                          << p[0] << ", " << p[1] << ", " << p[2] << ")";
      ++checked;
    }
    EXPECT_GE(checked, 10) << "degree " << degree;
  }
}

}  // namespace
