#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "realign/core/metrics.hpp"
#include "realign/core/rigid.hpp"

namespace realign {
namespace {

constexpr double kPi = 3.14159265358979323846;

Mat4 translation(const Vec3& t) {
  Mat4 m = Mat4::Identity();
  m.topRightCorner<3, 1>() = t;
  return m;
}

// Rotation by angle about a unit axis through point c (Rodrigues), written independently of
// rigid_matrix so the tests do not rely on the code they check.
Mat4 rotation_about(const Vec3& axis, double angle, const Vec3& c) {
  const Vec3 k = axis.normalized();
  Eigen::Matrix3d kx;
  kx << 0, -k.z(), k.y(), k.z(), 0, -k.x(), -k.y(), k.x(), 0;
  const Eigen::Matrix3d r =
      Eigen::Matrix3d::Identity() + std::sin(angle) * kx + (1 - std::cos(angle)) * kx * kx;
  Mat4 m = Mat4::Identity();
  m.topLeftCorner<3, 3>() = r;
  m.topRightCorner<3, 1>() = c - r * c;
  return m;
}

// sqrt of the mean of |(A inv(B) - I) x|^2 over a fine lattice filling the sphere: the
// definition that Jenkinson's closed form evaluates.
double brute_force_rms(const Mat4& a, const Mat4& b, const Vec3& c, double radius, double step) {
  const Mat4 m = a * b.inverse() - Mat4::Identity();
  const int n = static_cast<int>(radius / step);
  double sum = 0;
  long count = 0;
  for (int k = -n; k <= n; ++k) {
    for (int j = -n; j <= n; ++j) {
      for (int i = -n; i <= n; ++i) {
        const Vec3 y(i * step, j * step, k * step);
        if (y.squaredNorm() > radius * radius) continue;
        const Eigen::Vector4d x((c + y).x(), (c + y).y(), (c + y).z(), 1.0);
        sum += (m * x).head<3>().squaredNorm();
        ++count;
      }
    }
  }
  return std::sqrt(sum / count);
}

TEST(FramewiseDisplacement, HandComputedExample) {
  const std::vector<RigidParams> rp = {
      {0, 0, 0, 0, 0, 0},
      {1.0, -0.5, 0.2, 0.01, 0.0, -0.02},
      {0.5, -0.5, 0.0, 0.0, 0.01, -0.02},
  };
  // Row 1: |1|+|-0.5|+|0.2| = 1.7 mm, rotations 0.01+0+0.02 = 0.03 rad.
  // Row 2: 0.5+0+0.2 = 0.7 mm, rotations 0.01+0.01+0 = 0.02 rad.
  const auto fd50 = framewise_displacement(rp);
  ASSERT_EQ(fd50.size(), 3u);
  EXPECT_TRUE(std::isnan(fd50[0]));
  EXPECT_NEAR(fd50[1], 1.7 + 50 * 0.03, 1e-12);
  EXPECT_NEAR(fd50[2], 0.7 + 50 * 0.02, 1e-12);

  const auto fd80 = framewise_displacement(rp, 80.0);
  EXPECT_NEAR(fd80[1], 1.7 + 80 * 0.03, 1e-12);
  EXPECT_NEAR(fd80[2], 0.7 + 80 * 0.02, 1e-12);
}

TEST(FramewiseDisplacement, EmptyAndSingleFrame) {
  EXPECT_TRUE(framewise_displacement({}).empty());
  const auto fd = framewise_displacement({RigidParams{1, 2, 3, 0.1, 0.2, 0.3}});
  ASSERT_EQ(fd.size(), 1u);
  EXPECT_TRUE(std::isnan(fd[0]));
}

TEST(RmsDeviation, PureTranslationGivesItsLength) {
  const Vec3 t(3.0, -4.0, 12.0);  // length 13
  const Vec3 c(5, -10, 20);
  EXPECT_NEAR(rms_deviation(translation(t), Mat4::Identity(), c), 13.0, 1e-10);
  // The same relative motion on top of an arbitrary common pose.
  const Mat4 b = rigid_matrix({10, -3, 7, 0.2, -0.1, 0.3});
  EXPECT_NEAR(rms_deviation(translation(t) * b, b, c, 60.0), 13.0, 1e-9);
  EXPECT_NEAR(rms_deviation(b, b, c), 0.0, 1e-9);
}

TEST(RmsDeviation, RotationAboutCentreMatchesLatticeAverage) {
  const Vec3 c(12.0, -30.0, 18.0);
  const double r = 80.0;
  const Mat4 a = rotation_about(Vec3(1, 2, -0.5), 0.05, c);
  const double brute = brute_force_rms(a, Mat4::Identity(), c, r, 1.0);
  const double closed = rms_deviation(a, Mat4::Identity(), c, r);
  EXPECT_NEAR(closed, brute, 0.01 * brute);
  // For a rotation about an axis through the centre, |dx| = 2 sin(theta/2) * rho and
  // E[rho^2] over a ball is 2 r^2 / 5.
  EXPECT_NEAR(closed, 2 * std::sin(0.025) * r * std::sqrt(0.4), 1e-9);
}

TEST(RmsDeviation, GeneralMotionMatchesLatticeAverage) {
  const Vec3 c(-8.0, 14.0, 30.0);
  const Mat4 b = rigid_matrix({2, -1, 3, 0.03, 0.02, -0.04});
  const Mat4 a =
      translation(Vec3(0.7, -1.2, 0.4)) * rotation_about(Vec3(0, 1, 1), 0.03, Vec3(40, 0, -20)) * b;
  const double brute = brute_force_rms(a, b, c, 50.0, 1.0);
  EXPECT_NEAR(rms_deviation(a, b, c, 50.0), brute, 0.01 * brute);
}

TEST(RelativeRms, ConsecutivePairs) {
  const Vec3 c(1, 2, 3);
  const std::vector<Mat4> xfm = {
      Mat4::Identity(), translation(Vec3(1, 0, 0)),
      translation(Vec3(1, 2, 0)) * rotation_about(Vec3(0, 0, 1), 0.01, c)};
  const auto rms = relative_rms(xfm, c);
  ASSERT_EQ(rms.size(), 3u);
  EXPECT_TRUE(std::isnan(rms[0]));
  EXPECT_NEAR(rms[1], 1.0, 1e-12);
  EXPECT_NEAR(rms[2], rms_deviation(xfm[2], xfm[1], c, 80.0), 1e-12);
  EXPECT_TRUE(relative_rms({}, c).empty());
}

TEST(DisplacementDifference, PureTranslation) {
  const Vec3 t(1.0, 2.0, -2.0);  // length 3
  const Mat4 b = rigid_matrix({5, 6, -7, 0.1, 0.2, -0.3});
  const auto d = displacement_difference(translation(t) * b, b, Vec3(3, -4, 10));
  EXPECT_NEAR(d.mean_mm, 3.0, 1e-9);
  EXPECT_NEAR(d.max_mm, 3.0, 1e-9);
  const auto z = displacement_difference(b, b, Vec3(0, 0, 0));
  EXPECT_NEAR(z.mean_mm, 0.0, 1e-12);
  EXPECT_NEAR(z.max_mm, 0.0, 1e-12);
}

TEST(DisplacementDifference, SmallRotationAboutCentre) {
  const Vec3 c(10.0, -20.0, 5.0);
  const double r = 50.0, theta = 0.01, step = 2.0;
  const Mat4 a = rotation_about(Vec3(0.3, -0.2, 1.0), theta, c);
  const auto d = displacement_difference(a, Mat4::Identity(), c, r);
  const double chord = 2 * std::sin(theta / 2);  // |dx| per mm of distance from the axis
  // The farthest lattice point from the axis is within one lattice step of the surface.
  EXPECT_LE(d.max_mm, chord * r + 1e-9);
  EXPECT_GE(d.max_mm, chord * (r - step));
  // Mean distance from a diameter over a ball of radius r is 3 pi r / 16.
  const double mean = chord * r * 3 * kPi / 16;
  EXPECT_NEAR(d.mean_mm, mean, 0.02 * mean);
}

TEST(DisplacementDifference, RunAggregatesPerFrame) {
  const Vec3 c(0, 10, -5);
  const std::vector<RigidParams> a = {
      {0, 0, 0, 0, 0, 0}, {1, 0, 0, 0.01, 0, 0}, {0, 0.5, 0, 0, 0, 0.02}};
  std::vector<RigidParams> b = a;
  b[1][0] += 2.0;  // pure 2 mm translation difference in frame 1
  b[2][5] -= 0.01;
  const auto run = run_displacement_difference(a, b, c);
  double mean = 0, max = 0;
  for (std::size_t n = 0; n < a.size(); ++n) {
    const auto d = displacement_difference(rigid_matrix(a[n]), rigid_matrix(b[n]), c);
    mean += d.mean_mm / a.size();
    max = std::max(max, d.max_mm);
  }
  EXPECT_NEAR(run.mean_mm, mean, 1e-12);
  EXPECT_NEAR(run.max_mm, max, 1e-12);
  // Frame 1 differs by a uniform 2 mm shift, frame 0 not at all.
  EXPECT_GE(run.max_mm, 2.0 - 1e-9);

  const auto same = run_displacement_difference(a, a, c);
  EXPECT_NEAR(same.mean_mm, 0.0, 1e-12);
  EXPECT_NEAR(same.max_mm, 0.0, 1e-12);
  EXPECT_THROW(run_displacement_difference(a, {a[0]}, c), std::invalid_argument);
}

TEST(Dvars, HandMadeSeries) {
  // 3 voxels x 3 frames.
  const float nan = std::nanf("");
  const std::vector<float> s = {1, 2, 3, /**/ 2, 2, 5, /**/ 2, nan, 1};

  const auto all = dvars(s.data(), 3, 3, {});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(std::isnan(all[0]));
  EXPECT_NEAR(all[1], std::sqrt((1.0 + 0.0 + 4.0) / 3.0), 1e-12);
  EXPECT_NEAR(all[2], std::sqrt((0.0 + 16.0) / 2.0), 1e-12);  // NaN voxel skipped

  const auto outer = dvars(s.data(), 3, 3, {1, 0, 1});
  EXPECT_NEAR(outer[1], std::sqrt((1.0 + 4.0) / 2.0), 1e-12);
  EXPECT_NEAR(outer[2], std::sqrt(16.0 / 2.0), 1e-12);

  const auto middle = dvars(s.data(), 3, 3, {0, 1, 0});
  EXPECT_NEAR(middle[1], 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(middle[2]));  // its only voxel is NaN

  EXPECT_THROW(dvars(s.data(), 3, 3, {1, 1}), std::invalid_argument);
  EXPECT_TRUE(dvars(s.data(), 3, 0, {}).empty());
}

// The worst point of the sphere, found by searching: a dense spiral of points over the
// surface (the displacement is convex, so its maximum over the ball is on the surface), the
// best of them then climbed by ever smaller steps along the surface.
double searched_max_displacement(const Mat4& a, const Vec3& c, double radius) {
  const auto disp = [&](const Vec3& u) {
    const Vec3 x = c + radius * u;
    return (a.topLeftCorner<3, 3>() * x + a.topRightCorner<3, 1>() - x).norm();
  };
  const int n = 4000;
  const double golden = kPi * (3.0 - std::sqrt(5.0));
  std::vector<std::pair<double, Vec3>> starts;
  for (int i = 0; i < n; ++i) {
    const double z = 1.0 - 2.0 * (i + 0.5) / n, rho = std::sqrt(1.0 - z * z);
    const Vec3 u(rho * std::cos(golden * i), rho * std::sin(golden * i), z);
    starts.emplace_back(disp(u), u);
  }
  std::sort(starts.begin(), starts.end(),
            [](const auto& x, const auto& y) { return x.first > y.first; });
  double best = 0;
  for (int s = 0; s < 10; ++s) {
    auto [d, u] = starts[s];
    for (double step = 0.05; step > 1e-7; step *= 0.5) {
      for (bool moved = true; moved;) {
        moved = false;
        for (int k = 0; k < 6; ++k) {
          Vec3 v = u;
          v[k / 2] += k % 2 ? -step : step;
          v.normalize();
          if (disp(v) > d) {
            u = v;
            d = disp(v);
            moved = true;
          }
        }
      }
    }
    best = std::max(best, d);
  }
  return best;
}

TEST(MaxSphereDisplacement, MatchesASearchOverTheSphere) {
  const Vec3 centre(3.0, -20.0, 12.5);
  // A pure translation moves every point by the same amount.
  EXPECT_NEAR(max_sphere_displacement(translation(Vec3(1, -2, 2)), centre, 50.0), 3.0, 1e-12);
  // A rotation about an axis through the centre moves the equator by 2 r sin(angle / 2).
  const double angle = 2.0 * kPi / 180.0;
  EXPECT_NEAR(max_sphere_displacement(rotation_about(Vec3(1, 2, 3), angle, centre), centre, 50.0),
              100.0 * std::sin(angle / 2.0), 1e-9);
  EXPECT_NEAR(max_sphere_displacement(Mat4::Identity(), centre, 50.0), 0.0, 1e-12);

  // General motions: rotations about axes away from the centre, with translations, from
  // head-sized to large.
  const struct {
    Vec3 axis, through, shift;
    double degrees, radius;
  } cases[] = {
      {{0.3, -1, 0.2}, {40, 10, -30}, {0.5, -1.2, 0.8}, 1.5, 50},
      {{1, 0, 0}, {0, 0, 0}, {0, 0, 0}, 3.0, 50},
      {{0, 0.2, 1}, {-80, 5, 60}, {-2, 0, 1}, 20.0, 80},
      {{1, 1, 1}, {10, -10, 10}, {0.01, 0, 0}, 0.05, 30},
      {{0, 1, 0}, {0, 0, 0}, {3, 0, -4}, 120.0, 50},
  };
  for (const auto& t : cases) {
    const Mat4 a =
        translation(t.shift) * rotation_about(t.axis, t.degrees * kPi / 180.0, t.through);
    const double searched = searched_max_displacement(a, centre, t.radius);
    const double closed = max_sphere_displacement(a, centre, t.radius);
    EXPECT_NEAR(closed, searched, 1e-6 * std::max(1.0, searched)) << t.degrees << " degrees";
    // The 2 mm lattice inside the sphere cannot go beyond it.
    EXPECT_LE(displacement_difference(a, Mat4::Identity(), centre, t.radius).max_mm, closed + 1e-9);
  }
}

}  // namespace
// The extent of a run: the longest translation vector and the largest rotation angle.
TEST(MotionExtent, LongestTranslationAndLargestAngle) {
  const double deg = M_PI / 180.0;
  std::vector<RigidParams> rp = {{0, 0, 0, 0, 0, 0},
                                 {3, 4, 0, 0, 0, 0},
                                 {0, 0, 1, 10 * deg, 0, 0},
                                 {0, 0, 0, 0, 6 * deg, 8 * deg}};
  MotionExtent e = motion_extent(rp);
  EXPECT_NEAR(e.translation_mm, 5.0, 1e-12);
  EXPECT_EQ(e.translation_frame, 1);
  // Rotations of 6 and 8 degrees about two axes compose to about 10 degrees in all.
  const Mat4 r = rigid_matrix(rp[3]);
  const double angle = std::acos(0.5 * (r.topLeftCorner<3, 3>().trace() - 1.0)) / deg;
  EXPECT_NEAR(e.rotation_deg, std::max(10.0, angle), 1e-9);
  EXPECT_FALSE(e.implausible());
  rp.push_back({0, 0, 0, 0, 0, 25 * deg});
  e = motion_extent(rp);
  EXPECT_NEAR(e.rotation_deg, 25.0, 1e-9);
  EXPECT_EQ(e.rotation_frame, 4);
  EXPECT_TRUE(e.implausible());
  EXPECT_TRUE(motion_extent({{0, 0, 0, 0, 0, 0}, {0, 21, 0, 0, 0, 0}}).implausible());
}

}  // namespace realign

TEST(BrainMask, KeepsVoxelsAboveAnEighthOfTheGlobalMean) {
  // Global mean of the finite values: (0 + 10 + 100 + 100 + 1) / 5 = 42.2, threshold 5.275.
  const std::vector<float> mean{0.0f, 10.0f, 100.0f, 100.0f, 1.0f, std::nanf("")};
  const std::vector<std::uint8_t> mask = realign::brain_mask(mean);
  const std::vector<std::uint8_t> expect{0, 1, 1, 1, 0, 0};
  EXPECT_EQ(mask, expect);
}

TEST(FrameDvars, StreamedPairsMatchTheWholeSeries) {
  const std::size_t voxels = 4;
  const std::vector<float> series{1, 2, 3, 4, 2, 2, 5, 4, 0, 2, 5, 8};
  const std::vector<double> whole = realign::dvars(series.data(), voxels, 3, {});
  EXPECT_DOUBLE_EQ(realign::frame_dvars(&series[0], &series[4], voxels, {}), whole[1]);
  EXPECT_DOUBLE_EQ(realign::frame_dvars(&series[4], &series[8], voxels, {}), whole[2]);
  // (1 + 0 + 4 + 0) / 4 = 1.25 for the first pair.
  EXPECT_DOUBLE_EQ(whole[1], std::sqrt(1.25));
}
