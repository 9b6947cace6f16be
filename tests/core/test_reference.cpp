#include <gtest/gtest.h>

#include <random>

#include "realign/core/reference.hpp"

namespace realign {
namespace {

// Frames = base + c[f]: the voxel-wise median is base + median(c), so the frame whose
// constant is the median of the constants is the answer, whatever the base.
std::vector<std::vector<float>> shifted(const std::vector<float>& constants) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1000.0f);
  std::vector<float> base(500);
  for (float& v : base) v = u(rng);
  std::vector<std::vector<float>> frames;
  for (float c : constants) {
    frames.push_back(base);
    for (float& v : frames.back()) v += c;
  }
  return frames;
}

TEST(Reference, MedianFrameOfShiftedCopies) {
  EXPECT_EQ(median_frame(shifted({40, -25, 3, 18, -9, 0.5f, 30, -14, 7})), 2);
  EXPECT_EQ(median_frame(shifted({5, 1, 9})), 0);
  EXPECT_EQ(median_frame(shifted({-1, -2, 100, 50, 0})), 4);
}

TEST(Reference, EvenCountUsesTheLowerMedianAndTiesGoFirst) {
  // Constants 1 2 3 4: the lower median is 2 (frame 2, index 1).
  EXPECT_EQ(median_frame(shifted({4, 1, 3, 2})), 3);
  // Two identical frames at the median: the earlier one.
  EXPECT_EQ(median_frame(shifted({9, 2, 2, -5, 10})), 1);
}

TEST(Reference, OutlierFramesDoNotMoveTheChoice) {
  // A frame with a huge spike in half its voxels is never the median frame, and it does
  // not drag the median: the choice among the rest is the same as without it.
  auto frames = shifted({3, -1, 0, 2, -2});
  frames.push_back(frames[2]);
  for (std::size_t i = 0; i < frames.back().size() / 2; ++i) frames.back()[i] += 1e6f;
  EXPECT_EQ(median_frame(frames), 2);
}

}  // namespace
}  // namespace realign
