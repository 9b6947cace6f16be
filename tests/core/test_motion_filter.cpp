// The notch of the motion parameters against what defines it: the gain at 0 is 1, a
// sinusoid at the band's centre is removed, the band's edges are about its -3 dB points,
// the output never depends on later frames; and on a motion made of a slow drift and a
// breathing oscillation of known rate, FD of the filtered parameters is the drift's FD.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "realign/core/metrics.hpp"
#include "realign/core/motion_filter.hpp"

namespace realign {
namespace {

constexpr double kPi = 3.14159265358979323846;

// The amplitude the filter leaves of a sinusoid of `bpm` breaths per minute sampled every
// tr_s, measured once the start has died away: the largest |output| over many periods.
double gain_at(double bpm, const FdFilter& f, double tr_s) {
  ParamFilter filter(notch_biquad(f, tr_s));
  double peak = 0.0;
  const int n = 6000;
  for (int t = 0; t < n; ++t) {
    const double x = std::sin(2.0 * kPi * bpm / 60.0 * tr_s * t);
    const double y = filter.next({x, 0, 0, 0, 0, 0})[0];
    if (t > n / 2) peak = std::max(peak, std::abs(y));
  }
  return peak;
}

TEST(MotionFilter, ConstantParametersPassUnchanged) {
  const FdFilter f{12, 18};
  ParamFilter filter(notch_biquad(f, 0.8));
  const RigidParams offset{1.5, -2.0, 0.25, 0.01, -0.02, 0.003};
  for (int t = 0; t < 50; ++t) {
    const RigidParams y = filter.next(offset);
    for (int k = 0; k < 6; ++k) EXPECT_NEAR(y[k], offset[k], 1e-12) << "frame " << t;
  }
}

TEST(MotionFilter, RemovesTheCentreAndKeepsSlowAndFastMotion) {
  const FdFilter f{12, 18};
  const double tr = 0.8;  // Nyquist 37.5 breaths per minute
  EXPECT_LT(gain_at(15.0, f, tr), 1e-6);
  // The -3 dB points of the design are within a fraction of a breath per minute of the edges.
  EXPECT_NEAR(gain_at(12.0, f, tr), std::sqrt(0.5), 0.03);
  EXPECT_NEAR(gain_at(18.0, f, tr), std::sqrt(0.5), 0.03);
  EXPECT_GT(gain_at(2.0, f, tr), 0.99);   // a slow drift or nod
  EXPECT_GT(gain_at(35.0, f, tr), 0.97);  // near the Nyquist frequency
}

TEST(MotionFilter, OutputDependsOnlyOnFramesSoFar) {
  std::vector<RigidParams> a(40), b;
  for (int t = 0; t < 40; ++t) a[t] = {std::sin(0.3 * t), 0.1 * t, 0, std::cos(0.7 * t), 0, 0};
  b = a;
  for (int t = 25; t < 40; ++t) b[t][0] += 5.0;  // the future changes
  const Biquad c = notch_biquad({10, 20}, 0.5);
  const std::vector<RigidParams> fa = filter_params(a, c), fb = filter_params(b, c);
  for (int t = 0; t < 25; ++t) EXPECT_EQ(fa[t], fb[t]) << "frame " << t;
  EXPECT_NE(fa[25], fb[25]);
  EXPECT_EQ(fa[0], a[0]);  // frame 1 as it is
}

// A slow drift and a breathing oscillation of 0.3 mm along y (and 0.002 rad of pitch) at
// 15 breaths per minute, TR 0.8 s: FD after filtering is the drift's FD once the filter has
// settled, while the unfiltered FD carries the oscillation's swing from frame to frame,
// 2 sin(pi 0.2) (0.3 + 50 x 0.002) mm at most and 2/pi of that, 0.30 mm, on average.
TEST(MotionFilter, FilteredFdOfDriftPlusBreathingIsTheDriftsFd) {
  const double tr = 0.8, bpm = 15.0;
  const int n = 300;
  std::vector<RigidParams> drift(n), moving(n);
  for (int t = 0; t < n; ++t) {
    const double s = static_cast<double>(t) / n;
    drift[t] = {0.8 * s, 1.5 * s * s, -0.5 * std::sin(kPi * s), 0.01 * s, 0, -0.004 * s * s};
    const double breath = std::sin(2.0 * kPi * bpm / 60.0 * tr * t);
    moving[t] = drift[t];
    moving[t][1] += 0.3 * breath;
    moving[t][3] += 0.002 * breath;
  }
  const std::vector<double> want = framewise_displacement(drift, 50.0);
  const std::vector<double> raw = framewise_displacement(moving, 50.0);
  const std::vector<double> got = filtered_fd(moving, {12, 18}, tr, 50.0);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  EXPECT_TRUE(std::isnan(got[0]));
  double worst = 0.0, raw_excess = 0.0;
  for (int t = 40; t < n; ++t) {  // past the start (the poles' radius is about 0.77 per frame)
    worst = std::max(worst, std::abs(got[t] - want[t]));
    raw_excess += (raw[t] - want[t]) / (n - 40);
  }
  EXPECT_LT(worst, 0.002);
  EXPECT_GT(raw_excess, 0.25);
}

TEST(MotionFilter, OffsetOfTheFirstFrameAddsNoTransient) {
  std::vector<RigidParams> rp(60), shifted;
  for (int t = 0; t < 60; ++t) rp[t] = {0.01 * t, std::sin(0.9 * t), 0, 0, 0.001 * t, 0};
  shifted = rp;
  for (RigidParams& p : shifted) p[0] += 3.0, p[4] -= 0.05;
  const std::vector<double> a = filtered_fd(rp, {8, 12}, 1.0, 50.0);
  const std::vector<double> b = filtered_fd(shifted, {8, 12}, 1.0, 50.0);
  for (int t = 1; t < 60; ++t) EXPECT_NEAR(a[t], b[t], 1e-9) << "frame " << t;
}

TEST(MotionFilter, BandAboveNyquistIsRefusedNamingTheTr) {
  // TR 2 s: the Nyquist frequency is 15 breaths per minute.
  EXPECT_EQ(fd_filter_problem({12, 18}, 2.0),
            "--fd-filter notch:12-18: above the Nyquist frequency for TR 2 s (15 breaths per "
            "minute); at TR 2 s, breathing at 12-18 per minute shows at 12-15 (aliased)");
  // TR 0.8 s, 75 samples a minute: 42-45 shows at 30-33, which a notch can take.
  EXPECT_EQ(fd_filter_problem({42, 45}, 0.8),
            "--fd-filter notch:42-45: above the Nyquist frequency for TR 0.8 s (37.5 breaths per "
            "minute); at TR 0.8 s, breathing at 42-45 per minute shows at 30-33 (aliased): give "
            "--fd-filter notch:30-33");
  EXPECT_EQ(
      fd_filter_problem({12, 18}, 0.0),
      "--fd-filter notch:12-18: the TR is unknown (0 in the header), and the filter needs it");
  EXPECT_EQ(fd_filter_problem({12, 18}, 1.5), "");  // Nyquist 20
  EXPECT_EQ(fd_filter_problem({}, 0.0), "");        // no filter
  EXPECT_THROW(notch_biquad({12, 18}, 2.0), std::invalid_argument);
  EXPECT_TRUE(filtered_fd({{}, {}}, {}, 2.0, 50.0).empty());
}

}  // namespace
}  // namespace realign
