// The pieces of `realign follow` that need no scanner: frame numbers from file names, the
// TSV line, the sparkline and the volumes kept on disk. The follow itself (replays, faults,
// signals) is driven end to end by tests/cli/follow.sh and follow_faults.sh.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "realign/app/follow/follow_output.hpp"
#include "realign/app/follow/frame_spill.hpp"
#include "realign/app/follow/volume_source.hpp"

namespace realign {
namespace {

TEST(Follow, FrameNumberIsTheLastGroupOfDigits) {
  EXPECT_EQ(frame_number("vol_00012.nii"), 12);
  EXPECT_EQ(frame_number("sub-01_run-2_bold_0007.nii.gz"), 7);
  EXPECT_EQ(frame_number("001_000005_000123.nii"), 123);
  EXPECT_EQ(frame_number("run2vol0.nii"), 0);
  EXPECT_EQ(frame_number("noframe.nii"), -1);
  EXPECT_EQ(frame_number(".vol_00012.nii.part"), -1);  // a writer's temporary
  EXPECT_EQ(frame_number(".vol_00012.nii"), -1);       // hidden
  EXPECT_EQ(frame_number("vol_00012.txt"), -1);
  EXPECT_EQ(frame_number("001_000007_000012.dcm"), 12);  // DICOM: by name too
  EXPECT_EQ(frame_number("VOL_00012.DCM"), 12);          // exports in capitals
  EXPECT_EQ(frame_number("IM_0012"), 12);                // no extension: DICOM by content
  EXPECT_EQ(frame_number("I0"), 0);                      // GE's real-time export
  EXPECT_EQ(frame_number("MR_0012.IMA"), 12);            // Siemens' .ima
  EXPECT_EQ(frame_number("vol_00012.json"), -1);         // a converter's sidecar
  EXPECT_EQ(frame_number(".I12"), -1);
  EXPECT_EQ(frame_number("vol_12345678901.nii"), -1);  // not a frame number
}

TEST(Follow, LineHasElevenColumnsWithNaForFrameOne) {
  FrameLine l;
  l.frame = 1;
  l.fd = l.rmsd = std::numeric_limits<double>::quiet_NaN();
  l.latency_ms = 3.456;
  EXPECT_EQ(follow_line(l),
            "1\t0.000000\t0.000000\t0.000000\t0.000000000\t0.000000000\t0.000000000\tn/a\tn/a\t3."
            "46\t0");
  l.frame = 2;
  l.rp = {1.5, -0.25, 0.0, 0.001, -0.002, 0.0};
  l.fd = 0.6;
  l.rmsd = 0.3;
  l.flagged = true;
  EXPECT_EQ(follow_line(l),
            "2\t1.500000\t-0.250000\t0.000000\t0.001000000\t-0.002000000\t0.000000000\t0.600000\t0."
            "300000\t3.46\t1");
  int tabs = 0;
  for (char c : follow_header()) tabs += c == '\t';
  EXPECT_EQ(tabs, 10);
}

TEST(Follow, SparklineScalesAndClips) {
  // 0 is the lowest block, the top and anything above it the highest, NaN counts as 0.
  EXPECT_EQ(sparkline({0.0, 1.0, 2.0, std::nan("")}, 1.0), "▁██▁");
  EXPECT_EQ(sparkline({0.5}, 1.0), "▄");
}

TEST(Follow, SpillGivesBackTheVolumesInOrder) {
  const std::string dir = ::testing::TempDir();
  FrameSpill spill(dir, 3);
  const float a[3] = {1, 2, 3}, b[3] = {-1, 0.5f, 7};
  spill.append(a);
  spill.append(b);
  EXPECT_EQ(spill.frames(), 2);
  EXPECT_EQ(spill.read_all(), (std::vector<float>{1, 2, 3, -1, 0.5f, 7}));
}

}  // namespace
}  // namespace realign
