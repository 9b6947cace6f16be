#include <gtest/gtest.h>

#include <cmath>

#include "realign/core/rigid.hpp"

using realign::Mat4;
using realign::RigidParams;

TEST(Rigid, TranslationMatrixHasTheTranslationInItsLastColumn) {
  const Mat4 m = realign::rigid_matrix({1.5, -2.0, 3.25, 0, 0, 0});
  EXPECT_TRUE((m.topLeftCorner<3, 3>().isIdentity(1e-15)));
  EXPECT_DOUBLE_EQ(m(0, 3), 1.5);
  EXPECT_DOUBLE_EQ(m(1, 3), -2.0);
  EXPECT_DOUBLE_EQ(m(2, 3), 3.25);
}

// The rp convention pinned on numbers: spm_matrix([0 0 0 a 0 0]) etc.
TEST(Rigid, SingleRotationsFollowSpmMatrix) {
  const double a = 0.3, c = std::cos(a), s = std::sin(a);
  const Mat4 pitch = realign::rigid_matrix({0, 0, 0, a, 0, 0});
  EXPECT_NEAR(pitch(1, 1), c, 1e-15);
  EXPECT_NEAR(pitch(1, 2), s, 1e-15);
  EXPECT_NEAR(pitch(2, 1), -s, 1e-15);
  EXPECT_NEAR(pitch(2, 2), c, 1e-15);
  EXPECT_NEAR(pitch(0, 0), 1.0, 1e-15);
  const Mat4 roll = realign::rigid_matrix({0, 0, 0, 0, a, 0});
  EXPECT_NEAR(roll(0, 0), c, 1e-15);
  EXPECT_NEAR(roll(0, 2), s, 1e-15);
  EXPECT_NEAR(roll(2, 0), -s, 1e-15);
  EXPECT_NEAR(roll(1, 1), 1.0, 1e-15);
  const Mat4 yaw = realign::rigid_matrix({0, 0, 0, 0, 0, a});
  EXPECT_NEAR(yaw(0, 0), c, 1e-15);
  EXPECT_NEAR(yaw(0, 1), s, 1e-15);
  EXPECT_NEAR(yaw(1, 0), -s, 1e-15);
  EXPECT_NEAR(yaw(2, 2), 1.0, 1e-15);
  // A positive yaw of 90 degrees takes the +x axis to -y (SPM's sense of rotation).
  const Mat4 q = realign::rigid_matrix({0, 0, 0, 0, 0, M_PI / 2});
  const Eigen::Vector4d x = q * Eigen::Vector4d(1, 0, 0, 1);
  EXPECT_NEAR(x[0], 0.0, 1e-15);
  EXPECT_NEAR(x[1], -1.0, 1e-15);
}

TEST(Rigid, ComposesTranslationAfterRotationsInSpmOrder) {
  const RigidParams q{1, 2, 3, 0.1, -0.2, 0.3};
  const Mat4 expect =
      realign::rigid_matrix({1, 2, 3, 0, 0, 0}) * realign::rigid_matrix({0, 0, 0, 0.1, 0, 0}) *
      realign::rigid_matrix({0, 0, 0, 0, -0.2, 0}) * realign::rigid_matrix({0, 0, 0, 0, 0, 0.3});
  EXPECT_TRUE(realign::rigid_matrix(q).isApprox(expect, 1e-15));
}

TEST(Rigid, ParametersMatrixParametersRoundTrip) {
  const RigidParams cases[] = {{0, 0, 0, 0, 0, 0},
                               {1.2, -3.4, 5.6, 0.01, -0.02, 0.03},
                               {-20, 10, 5, 0.4, 0.5, -0.6},
                               {0.5, 0.5, 0.5, -1.2, 1.1, 2.9}};
  for (const RigidParams& q : cases) {
    const RigidParams back = realign::rigid_params(realign::rigid_matrix(q));
    for (int k = 0; k < 6; ++k) EXPECT_NEAR(back[k], q[k], 1e-12) << "k=" << k;
  }
}

TEST(Rigid, DerivativesMatchCentralDifferences) {
  const RigidParams q{1, -2, 3, 0.2, -0.1, 0.3};
  const auto d = realign::rigid_matrix_derivatives(q);
  const double h = 1e-6;
  for (int k = 0; k < 6; ++k) {
    RigidParams a = q, b = q;
    a[k] += h;
    b[k] -= h;
    const Mat4 fd = (realign::rigid_matrix(a) - realign::rigid_matrix(b)) / (2 * h);
    EXPECT_LT((fd - d[k]).cwiseAbs().maxCoeff(), 1e-8) << "k=" << k;
  }
}
