#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "realign/core/dvars_null.hpp"
#include "realign/core/metrics.hpp"

namespace realign {
namespace {

// Frames x voxels of AR(1) noise about a per-voxel level: x_t = level + e_t,
// e_t = rho e_{t-1} + sqrt(1 - rho^2) sigma z_t, so e is stationary with sd sigma and
// lag-1 autocorrelation rho, and the frame difference has sd sigma sqrt(2 (1 - rho)).
std::vector<float> ar1_series(int frames, std::size_t voxels, double rho, double sigma,
                              unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  std::vector<float> s(static_cast<std::size_t>(frames) * voxels);
  for (std::size_t v = 0; v < voxels; ++v) {
    const double level = 500.0 + 3.0 * static_cast<double>(v % 97);
    double e = sigma * z(rng);
    for (int t = 0; t < frames; ++t) {
      if (t > 0) e = rho * e + std::sqrt(1 - rho * rho) * sigma * z(rng);
      s[static_cast<std::size_t>(t) * voxels + v] = static_cast<float>(level + e);
    }
  }
  return s;
}

// The statistic straight from its definition, in double, one voxel at a time.
double direct_expected(const std::vector<float>& s, int frames, std::size_t voxels) {
  double total = 0.0;
  for (std::size_t v = 0; v < voxels; ++v) {
    std::vector<double> x(frames);
    double m = 0.0;
    for (int t = 0; t < frames; ++t) m += x[t] = s[static_cast<std::size_t>(t) * voxels + v];
    m /= frames;
    double ss = 0.0, lag = 0.0;
    for (int t = 0; t < frames; ++t) ss += (x[t] - m) * (x[t] - m);
    for (int t = 0; t + 1 < frames; ++t) lag += (x[t] - m) * (x[t + 1] - m);
    total += std::sqrt(ss / (frames - 1)) * std::sqrt(2.0 * (1.0 - lag / ss));
  }
  return total / static_cast<double>(voxels);
}

DvarsNull accumulate(const std::vector<float>& s, int frames, std::size_t voxels, int begin,
                     int end) {
  DvarsNull n({}, voxels, 800.0, frames);
  for (int t = begin; t < end; ++t) {
    const float* cur = s.data() + static_cast<std::size_t>(t) * voxels;
    if (t == begin && t > 0) n.add_pair(cur - voxels, cur);  // the pair across the boundary
    n.add_frame(t, cur);  // with the pair it closes, from the second frame of the block on
  }
  return n;
}

TEST(DvarsNull, MatchesTheDefinitionAndTheNoiseModel) {
  const int frames = 300;
  const std::size_t voxels = 400;
  const double rho = 0.4, sigma = 5.0;
  const auto s = ar1_series(frames, voxels, rho, sigma, 3);
  const double expected = accumulate(s, frames, voxels, 0, frames).expected_dvars();
  // The grid is 2^-20 of the peak's power of two: far below the noise.
  EXPECT_NEAR(expected, direct_expected(s, frames, voxels), 1e-6 * expected);
  // The noise model's own value, within the sampling error of 400 x 300 samples.
  EXPECT_NEAR(expected, sigma * std::sqrt(2 * (1 - rho)), 0.02 * expected);
  // So DVARS of this noise, standardised, averages 1.
  const std::vector<double> d = dvars(s.data(), voxels, frames, {});
  const std::vector<double> sd = standardised_dvars(d, expected);
  EXPECT_TRUE(std::isnan(sd[0]));
  double mean = 0.0;
  for (int t = 1; t < frames; ++t) mean += sd[t] / (frames - 1);
  EXPECT_NEAR(mean, 1.0, 0.02);
}

TEST(DvarsNull, BlocksAddUpToTheWholeRunExactly) {
  const int frames = 50;
  const std::size_t voxels = 64;
  const auto s = ar1_series(frames, voxels, 0.7, 20.0, 5);
  const double whole = accumulate(s, frames, voxels, 0, frames).expected_dvars();
  // Three "ranks": blocks 0-16, 17-33, 34-49, each pair across a boundary added by the later.
  DvarsNull sum = accumulate(s, frames, voxels, 0, 17);
  for (const auto& [b, e] : {std::pair{17, 34}, std::pair{34, 50}}) {
    DvarsNull part = accumulate(s, frames, voxels, b, e);
    for (std::size_t i = 0; i < sum.sums().size(); ++i) sum.sums()[i] += part.sums()[i];
  }
  EXPECT_EQ(sum.expected_dvars(), whole);  // bit for bit
}

TEST(DvarsNull, SkipsMaskedConstantAndNonFiniteVoxels) {
  const int frames = 40;
  const std::size_t voxels = 30;
  auto s = ar1_series(frames, voxels, 0.2, 4.0, 9);
  for (int t = 0; t < frames; ++t) {
    s[static_cast<std::size_t>(t) * voxels + 0] = 100.0f;  // constant
    if (t == 7)
      s[static_cast<std::size_t>(t) * voxels + 1] = std::numeric_limits<float>::quiet_NaN();
  }
  std::vector<std::uint8_t> mask(voxels, 1);
  mask[2] = 0;
  DvarsNull n(mask, voxels, 800.0, frames);
  for (int t = 0; t < frames; ++t) {
    const float* cur = s.data() + static_cast<std::size_t>(t) * voxels;
    n.add_frame(t, cur);
  }
  // Only voxels 3.. count: the same as a series of those alone.
  std::vector<float> rest;
  for (int t = 0; t < frames; ++t)
    for (std::size_t v = 3; v < voxels; ++v)
      rest.push_back(s[static_cast<std::size_t>(t) * voxels + v]);
  const double expected = n.expected_dvars();
  // 40 frames average the grid's rounding less than 300 do: 1e-5 relative.
  EXPECT_NEAR(expected, direct_expected(rest, frames, voxels - 3), 1e-4 * expected);

  DvarsNull two({}, voxels, 800.0, 2);
  EXPECT_TRUE(std::isnan(two.expected_dvars()));
  EXPECT_TRUE(std::isnan(standardised_dvars({1.0, 2.0}, 0.0)[1]));
  EXPECT_THROW(DvarsNull(mask, voxels + 1, 1.0, 3), std::invalid_argument);
}

// The integer sums, field by field (sum, squares, lag, first, last, finite), against values
// put on the grid here with libm's nearbyint: ties of half a quantum (to even), values past
// the clamp at 2^24 quanta, NaN and Inf, in mask runs of every length from 1 to 11 (the
// vector loops' bodies and tails).
TEST(DvarsNull, IntegerSumsAreTheDefinitionOnTheGrid) {
  const int frames = 5;
  const std::size_t voxels = 211;
  std::vector<std::uint8_t> mask(voxels, 0);
  for (std::size_t v = 0, run = 1; v < voxels; run = run % 11 + 1) {
    for (std::size_t i = 0; i < run && v < voxels; ++i) mask[v++] = 1;
    ++v;  // a gap
  }
  const double quantum = std::ldexp(1.0, -10);  // peak 800: 2^(10 - 20)
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> kind(0, 9);
  std::uniform_real_distribution<double> u(-900.0, 900.0);
  std::vector<float> s(frames * voxels);
  for (float& x : s) {
    const int k = kind(rng);
    const double whole = std::floor(u(rng) / quantum);
    x = k == 0   ? static_cast<float>((whole + 0.5) * quantum)  // a tie
        : k == 1 ? static_cast<float>(u(rng) * 1e5)             // past the clamp
        : k == 2 ? std::numeric_limits<float>::quiet_NaN()
        : k == 3 ? -std::numeric_limits<float>::infinity()
                 : static_cast<float>(u(rng));
  }
  DvarsNull n(mask, voxels, 800.0, frames);
  for (int t = 0; t < frames; ++t) n.add_frame(t, s.data() + t * voxels);

  const std::int64_t missing = std::numeric_limits<std::int64_t>::min();
  auto grid = [&](float x) {
    if (!std::isfinite(x)) return missing;
    const double q = std::nearbyint(static_cast<double>(x) / quantum);
    return static_cast<std::int64_t>(std::clamp(q, -16777216.0, 16777216.0));
  };
  std::vector<std::int64_t> expect;
  std::vector<std::size_t> inside;
  for (std::size_t v = 0; v < voxels; ++v)
    if (mask[v]) inside.push_back(v);
  const std::size_t m = inside.size();
  expect.assign(6 * m, 0);
  for (std::size_t k = 0; k < m; ++k)
    for (int t = 0; t < frames; ++t) {
      const std::int64_t q = grid(s[t * voxels + inside[k]]);
      if (q == missing) continue;
      expect[0 * m + k] += q;
      expect[1 * m + k] += q * q;
      const std::int64_t p = t > 0 ? grid(s[(t - 1) * voxels + inside[k]]) : missing;
      if (p != missing) expect[2 * m + k] += p * q;
      if (t == 0) expect[3 * m + k] = q;
      if (t == frames - 1) expect[4 * m + k] = q;
      expect[5 * m + k] += 1;
    }
  EXPECT_EQ(n.sums(), expect);
}

// A run that only applies transforms has no reference volume: no voxel to sum.
TEST(DvarsNull, NoVoxelIsNoStatistic) {
  DvarsNull none({}, 0, 800.0, 4);
  const float frame[1] = {1.0f};
  for (int t = 0; t < 4; ++t) none.add_frame(t, frame);
  none.add_pair(frame, frame);
  EXPECT_TRUE(std::isnan(none.expected_dvars()));
}

}  // namespace
}  // namespace realign
