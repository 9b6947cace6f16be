// The receive coil's profile as a quadratic log field: its terms, its span and dividing it
// out, against fields written down by hand. Estimating it from a moving phantom is tested
// in tests/app/test_accuracy.cpp (Accuracy.ReceiveFieldIsDividedOut).
#include <gtest/gtest.h>

#include <cmath>

#include "realign/core/receive_field.hpp"

namespace realign {
namespace {

Grid grid_of(int nx, int ny, int nz) {
  Grid g;
  g.dim = {nx, ny, nz};
  return g;
}

TEST(ReceiveField, TermsAreLinearAndQuadraticInTheAxesThatHaveExtent) {
  EXPECT_EQ(ReceiveFieldBasis({16, 12, 10}).terms(), 9);
  EXPECT_EQ(ReceiveFieldBasis({16, 12, 2}).terms(), 5);  // two slices: no z terms
  EXPECT_EQ(ReceiveFieldBasis({16, 1, 1}).terms(), 2);
  // At the corner (0, 0, 0) every axis is at -1: linear terms -1, products +1.
  const ReceiveFieldBasis b({5, 5, 5});
  double phi[ReceiveFieldBasis::kMaxTerms];
  b.evaluate(0, 0, 0, phi);
  for (int t = 0; t < 3; ++t) EXPECT_DOUBLE_EQ(phi[t], -1.0);
  for (int t = 3; t < 9; ++t) EXPECT_DOUBLE_EQ(phi[t], 1.0);
  // At the far corner of x only: u = 1, v = w = -1; terms u, v, w, uu, uv, uw, vv, vw, ww.
  b.evaluate(4, 0, 0, phi);
  const double expected[9] = {1, -1, -1, 1, -1, -1, 1, 1, 1};
  for (int t = 0; t < 9; ++t) EXPECT_DOUBLE_EQ(phi[t], expected[t]) << "term " << t;
}

TEST(ReceiveField, SpanOfALinearFieldIsTwiceItsSlope) {
  const Grid g = grid_of(9, 7, 5);
  const ReceiveFieldBasis b(g.dim);
  std::vector<double> theta(b.terms(), 0.0);
  theta[1] = 0.15;  // log B = 0.15 v, v from -1 to 1
  EXPECT_NEAR(receive_field_span(b, theta, g), 0.30, 1e-12);
  theta[8] = 0.1;  // + 0.1 w^2: from 0 at the middle slice to 0.1 at the ends
  EXPECT_NEAR(receive_field_span(b, theta, g), 0.40, 1e-12);
}

TEST(ReceiveField, DividingOutRecoversTheTissue) {
  const Grid g = grid_of(8, 6, 5);
  const ReceiveFieldBasis b(g.dim);
  std::vector<double> theta(b.terms(), 0.0);
  theta[0] = 0.2;
  theta[4] = -0.1;  // u v
  theta[8] = 0.05;  // w^2
  std::vector<float> seen(g.voxels()), divided(g.voxels());
  for (int k = 0; k < 5; ++k)
    for (int j = 0; j < 6; ++j)
      for (int i = 0; i < 8; ++i) {
        const double u = 2.0 * i / 7 - 1, v = 2.0 * j / 5 - 1, w = 2.0 * k / 4 - 1;
        const double tissue = 100.0 + i + 3 * j + 7 * k;
        seen[(k * 6 + j) * 8 + i] =
            static_cast<float>(tissue * std::exp(0.2 * u - 0.1 * u * v + 0.05 * w * w));
      }
  divide_by_receive_field(seen.data(), divided.data(), inverse_receive_field(g, b, theta));
  for (int k = 0; k < 5; ++k)
    for (int j = 0; j < 6; ++j)
      for (int i = 0; i < 8; ++i)
        EXPECT_NEAR(divided[(k * 6 + j) * 8 + i], 100.0 + i + 3 * j + 7 * k, 1e-3);
}

TEST(ReceiveField, NoInformationMeansNoField) {
  const ReceiveFieldBasis b({8, 8, 8});
  const std::vector<double> zeros(b.terms() * (b.terms() + 1), 0.0);
  for (double v : solve_receive_field(zeros, b, 1.0)) EXPECT_EQ(v, 0.0);
}

}  // namespace
}  // namespace realign
