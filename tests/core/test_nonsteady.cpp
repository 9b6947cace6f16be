// Detection of non-steady-state frames from the frames' global means.
#include <gtest/gtest.h>

#include <cmath>

#include "realign/core/nonsteady.hpp"

namespace realign {
namespace {

// A steady signal of 1000 with a small wobble (about 1 unit, deterministic).
std::vector<double> steady(int n) {
  std::vector<double> m(n);
  for (int i = 0; i < n; ++i) m[i] = 1000.0 + std::sin(1.7 * i) + 0.5 * std::cos(0.3 * i * i);
  return m;
}

TEST(Nonsteady, CountsTheBrightFramesAtTheStart) {
  std::vector<double> m = steady(60);
  EXPECT_EQ(count_nonsteady_frames(m), 0);
  m[0] = 1400;
  m[1] = 1200;
  m[2] = 1080;
  EXPECT_EQ(count_nonsteady_frames(m), 3);
  // One bright frame later on is an artefact, not a start-up frame.
  m[10] = 1300;
  EXPECT_EQ(count_nonsteady_frames(m), 3);
}

TEST(Nonsteady, StopsAtTheFirstSteadyFrameAndIgnoresDarkOnes) {
  std::vector<double> m = steady(40);
  m[0] = 1300;
  m[2] = 1300;  // not leading: frame 2 is steady
  EXPECT_EQ(count_nonsteady_frames(m), 1);
  std::vector<double> dark = steady(40);
  dark[0] = 700;
  EXPECT_EQ(count_nonsteady_frames(dark), 0);
}

TEST(Nonsteady, OnlyTheFirstWindowCountsAndDegenerateRunsGiveNone) {
  // The z-score uses the first kNonsteadyWindow frames: a drift after them changes nothing.
  std::vector<double> m = steady(200);
  m[0] = 1500;
  for (int i = kNonsteadyWindow; i < 200; ++i) m[i] += 5.0 * (i - kNonsteadyWindow);
  EXPECT_EQ(count_nonsteady_frames(m), 1);
  // A perfectly flat run (a noiseless phantom) with one brighter first frame.
  std::vector<double> flat(30, 500.0);
  flat[0] = 650.0;
  EXPECT_EQ(count_nonsteady_frames(flat), 1);
  EXPECT_EQ(count_nonsteady_frames(std::vector<double>(30, 500.0)), 0);
  EXPECT_EQ(count_nonsteady_frames({}), 0);
  EXPECT_EQ(count_nonsteady_frames({900.0, 100.0}), 0);
}

}  // namespace
}  // namespace realign
