// Good time counted by hand: frames at or below each threshold, frame 1 good, the
// non-steady-state frames left out, minutes from the TR, and the further scan time for a
// criterion at the good fraction so far.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "realign/core/good_time.hpp"

namespace realign {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(GoodTime, CountsFramesAtOrBelowEachThreshold) {
  // Frames 2-10: two above 0.4, one exactly 0.3 (at: good), one 0.25.
  const std::vector<double> fd = {kNaN, 0.1, 0.5, 0.3, 0.05, 0.25, 0.9, 0.1, 0.35, 0.15};
  const std::vector<GoodTime> g = good_time(fd, 0, 2.0, {0.2, 0.3, 0.4});
  ASSERT_EQ(g.size(), 3u);
  // <= 0.2: frames 1, 2, 5, 8, 10; <= 0.3: and 4, 6; <= 0.4: and 9.
  EXPECT_EQ(g[0].good_frames, 5);
  EXPECT_EQ(g[1].good_frames, 7);
  EXPECT_EQ(g[2].good_frames, 8);
  for (const GoodTime& t : g) EXPECT_EQ(t.frames, 10);
  EXPECT_DOUBLE_EQ(g[0].minutes, 5 * 2.0 / 60.0);
  EXPECT_DOUBLE_EQ(g[2].minutes, 8 * 2.0 / 60.0);
  EXPECT_DOUBLE_EQ(g[1].fraction(), 0.7);
  EXPECT_TRUE(std::isnan(g[0].further_minutes));  // no criterion
}

TEST(GoodTime, NonSteadyStateFramesAreNeitherFramesNorGood) {
  const std::vector<double> fd = {kNaN, 0.05, 0.05, 0.5, 0.1};
  const std::vector<GoodTime> g = good_time(fd, 2, 1.0, {0.2});
  EXPECT_EQ(g[0].frames, 3);
  EXPECT_EQ(g[0].good_frames, 2);  // frames 3 and 5; frame 1 is non-steady-state here
}

TEST(GoodTime, FurtherScanTimeIsWhatIsMissingOverTheGoodFraction) {
  // 120 frames at TR 0.5 s, 90 good at 0.3: 0.75 min of good data, fraction 3/4; for a
  // criterion of 3 min, 2.25 min are missing, which 3 min of scanning give at that rate.
  std::vector<double> fd(120, 0.1);
  fd[0] = kNaN;
  for (int f = 1; f <= 30; ++f) fd[4 * f - 1] = 0.8;
  const std::vector<GoodTime> g = good_time(fd, 0, 0.5, {0.3, 1.0}, 3.0);
  EXPECT_EQ(g[0].good_frames, 90);
  EXPECT_DOUBLE_EQ(g[0].minutes, 0.75);
  EXPECT_NEAR(g[0].further_minutes, 3.0, 1e-12);
  EXPECT_NEAR(g[1].further_minutes, 2.0, 1e-12);  // every frame good: 2 min missing
  // Reached: 0; nothing good yet: never at this rate.
  EXPECT_EQ(good_time(fd, 0, 0.5, {0.3}, 0.5)[0].further_minutes, 0.0);
  EXPECT_TRUE(std::isinf(good_time(fd, 1, 0.5, {0.01}, 3.0)[0].further_minutes));
}

TEST(GoodTime, UnknownTrGivesFramesOnly) {
  const std::vector<GoodTime> g = good_time({kNaN, 0.1, 0.6}, 0, 0.0, {0.2}, 12.5);
  EXPECT_EQ(g[0].good_frames, 2);
  EXPECT_TRUE(std::isnan(g[0].minutes));
  EXPECT_TRUE(std::isnan(g[0].further_minutes));
  EXPECT_EQ(good_time({}, 3, 2.0, {0.2})[0].frames, 0);
}

}  // namespace
}  // namespace realign
