// The pieces of `realign follow` that need no scanner: frame numbers from file names, the
// TSV line and its JSON object, the sparkline, the live view's status and the volumes kept
// on disk. The follow itself (replays, faults, signals, --send) is driven end to end by
// tests/cli/follow/*.sh; the sender by test_line_sender.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "realign/app/follow/follow_output.hpp"
#include "realign/app/follow/frame_spill.hpp"
#include "realign/app/follow/volume_source.hpp"
#include "test_support.hpp"

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

// Every field of the JSON object is the TSV line's, with the same value (n/a as null), in
// the header's order, then the file name; with --fd-filter, its column too.
TEST(Follow, JsonObjectCarriesTheLinesFieldsAndTheFileName) {
  FrameLine l;
  l.frame = 7;
  l.rp = {0.123456789, -2.5, 1e-7, 0.0012345678901, -3e-10, 0.25};
  l.fd = 0.3141592;
  l.rmsd = std::numeric_limits<double>::quiet_NaN();
  l.fd_filtered = 0.0271828;
  l.latency_ms = 8.125;
  l.flagged = true;
  for (const bool filtered : {false, true}) {
    std::vector<std::string> names, values;
    std::istringstream header(follow_header(filtered)), tsv(follow_line(l, filtered));
    for (std::string v; std::getline(header, v, '\t');) names.push_back(v);
    for (std::string v; std::getline(tsv, v, '\t');) values.push_back(v);
    ASSERT_EQ(names.size(), filtered ? 12u : 11u);
    ASSERT_EQ(values.size(), names.size());
    const auto j = nlohmann::ordered_json::parse(follow_json(l, filtered, "vol \"7\".nii"));
    ASSERT_EQ(j.size(), names.size() + 1);
    std::size_t k = 0;
    for (const auto& [key, value] : j.items()) {
      if (k == names.size()) {
        EXPECT_EQ(key, "file");
        EXPECT_EQ(value.get<std::string>(), "vol \"7\".nii");
        break;
      }
      EXPECT_EQ(key, names[k]);
      if (values[k] == "n/a")
        EXPECT_TRUE(value.is_null()) << key;
      else
        EXPECT_EQ(value.get<double>(), std::stod(values[k])) << key;
      ++k;
    }
  }
  EXPECT_EQ(follow_header(true).substr(follow_header(false).size()),
            "\tframewise_displacement_filtered");
}

// The live view's second line from good times counted by hand: 93, 108, 117 good volumes
// of 120 at TR 2 s are 3.1, 3.6 and 3.9 minutes; 12.5 minutes need (12.5 - 3.1) / (93/120)
// = 12.13 minutes more at 0.2 mm, (12.5 - 3.6) / (108/120) = 9.89 at 0.3 and (12.5 - 3.9)
// / (117/120) = 8.82 at 0.4; a threshold with no good volume yet, never.
TEST(Follow, StatusShowsGoodTimeAndTheFurtherScanTime) {
  std::vector<GoodTime> good(3);
  const int counts[3] = {93, 108, 117};
  const double thresholds[3] = {0.2, 0.3, 0.4};
  for (int k = 0; k < 3; ++k) {
    good[k].threshold_mm = thresholds[k];
    good[k].frames = 120;
    good[k].good_frames = counts[k];
    good[k].minutes = counts[k] * 2.0 / 60.0;
    good[k].further_minutes = (12.5 - good[k].minutes) * 120.0 / counts[k];
  }
  EXPECT_EQ(good_time_status(good, 12.5, false),
            "good time 3.1 | 3.6 | 3.9 min at FD \u2264 0.2 | 0.3 | 0.4 mm; 12.5 min in 12.1 | "
            "9.9 | 8.8 min more");
  EXPECT_EQ(good_time_status(good, 0.0, true),
            "good time 3.1 | 3.6 | 3.9 min at filtered FD \u2264 0.2 | 0.3 | 0.4 mm");
  good[0].further_minutes = std::numeric_limits<double>::infinity();
  EXPECT_NE(good_time_status(good, 12.5, false).find("in never | 9.9 | 8.8 min more"),
            std::string::npos);
  for (GoodTime& g : good) g.minutes = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(good_time_status(good, 12.5, false),
            "good frames 93 | 108 | 117 of 120 at FD \u2264 0.2 | 0.3 | 0.4 mm");
}

// On a terminal the two status lines are cleared (up one line, to the end of the screen)
// before each line and drawn again after it; piped, only the lines are written.
TEST(Follow, LiveViewRedrawsTheStatusBelowTheLines) {
  for (const bool live : {true, false}) {
    char* text = nullptr;
    std::size_t size = 0;
    std::FILE* out = open_memstream(&text, &size);
    {
      LineWriter w(out, live, LiveView{0.5, false, 0.0});
      GoodTime g;
      g.threshold_mm = 0.2;
      g.frames = g.good_frames = 1;
      g.minutes = 1.0 / 30.0;
      FrameLine l;
      l.frame = 1;
      l.fd = l.rmsd = std::numeric_limits<double>::quiet_NaN();
      w.write(l, {g});
      l.frame = 2;
      l.fd = 0.7;
      l.flagged = true;
      g.frames = 2;
      w.write(l, {g});
      EXPECT_EQ(w.status().rfind("frame 2  FD 0.70 mm  \u2581\u2586  1 above 0.5 mm", 0), 0u);
    }
    std::fclose(out);
    const std::string s(text, size);
    std::free(text);
    const std::string clear = "\r\033[1A\033[J";
    EXPECT_EQ(testing::count_of(s, clear), live ? 1u : 0u);
    EXPECT_EQ(testing::count_of(s, "good time 0.0 min at FD \u2264 0.2 mm"), live ? 2u : 0u);
    EXPECT_EQ(testing::count_of(s, "\n"), live ? 5u : 2u);
  }
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
