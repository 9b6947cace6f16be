// The dataset index of `realign bids`: the motion summary of a run from its record, the
// limits that highlight a run, and the page (rows, links, failures, no external resources).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "realign/core/rigid.hpp"
#include "realign/report/dataset_index.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;
using realign::testing::count_of;

// Three frames: a 1 mm shift along x, then a rotation of 0.01 rad about z (yaw) on top.
MotionRecord stepping_record() {
  MotionRecord r;
  r.grid.dim = {10, 10, 10};
  r.grid.vox2world = Mat4::Identity();
  r.grid.vox2world.diagonal().head<3>() = Vec3(2.0, 2.0, 3.0);
  r.rp = {{0, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0.01}};
  r.fd_radius_mm = 50.0;
  r.fd_threshold_mm = 0.6;
  r.tr_s = 2.5;
  return r;
}

TEST(DatasetIndex, SummaryComesFromTheParameters) {
  const RunMotionSummary s = summarise_motion(stepping_record());
  EXPECT_EQ(s.frames, 3);
  EXPECT_DOUBLE_EQ(s.tr_s, 2.5);
  // FD: 1 mm, then 50 mm * 0.01 rad = 0.5 mm.
  EXPECT_NEAR(s.mean_fd_mm, 0.75, 1e-12);
  EXPECT_NEAR(s.max_fd_mm, 1.0, 1e-12);
  EXPECT_EQ(s.frames_over, 1);  // only the 1 mm step is above 0.6
  EXPECT_DOUBLE_EQ(s.voxel_mm, 3.0);
  // Frame 3 moves the centre by the shift plus the rotation about the origin; the sphere
  // of 50 mm about the centre adds 2 sin(0.005) * 50 at most: at least the 1 mm shift.
  EXPECT_GT(s.max_displacement_mm, 1.0);
  EXPECT_LT(s.max_displacement_mm, 1.0 + 0.01 * (50.0 + 20.0));
}

TEST(DatasetIndex, FlagsSayWhichLimitIsExceeded) {
  RunMotionSummary m;
  m.frames = 100;
  m.voxel_mm = 3.0;
  EXPECT_FALSE(flag_run(m, {}).any());
  m.mean_fd_mm = 0.3;
  EXPECT_TRUE(flag_run(m, {}).mean_fd);
  m.mean_fd_mm = 0.1;
  m.frames_over = 21;
  EXPECT_TRUE(flag_run(m, {}).over);
  m.frames_over = 20;
  EXPECT_FALSE(flag_run(m, {}).over);
  m.max_displacement_mm = 3.5;
  EXPECT_TRUE(flag_run(m, {}).displacement);
  EXPECT_FALSE(flag_run(m, {}).max_fd);
  m.max_fd_mm = 5.5;
  EXPECT_TRUE(flag_run(m, {}).max_fd);
}

TEST(DatasetIndex, PageListsRunsHighlightsAndFailures) {
  IndexRun calm;
  calm.name = "sub-01_task-rest";
  calm.subject = "01";
  calm.task = "rest";
  calm.report_href = "sub-01/func/sub-01_task-rest_desc-realign_report.html";
  calm.motion.frames = 50;
  calm.motion.mean_fd_mm = 0.1;
  calm.motion.voxel_mm = 3;
  IndexRun moving = calm;
  moving.name = "sub-02_task-rest";
  moving.subject = "02";
  moving.motion.mean_fd_mm = 0.9;
  IndexRun broken;
  broken.name = "sub-03_task-rest";
  broken.failed = true;
  broken.error = "sub-03_task-rest_bold.nii.gz: truncated <gzip> & more";
  const std::string html =
      dataset_index_html({calm, moving, broken}, IndexLimits{}, "my <data>", "2024-01-01");
  EXPECT_EQ(count_of(html, "<tr class=\"flag\">"), 1u);
  EXPECT_EQ(count_of(html, "<td class=\"n over\""), 1u);
  EXPECT_NE(html.find("<a href=\"" + calm.report_href + "\">sub-01_task-rest</a>"),
            std::string::npos);
  EXPECT_NE(html.find("truncated &lt;gzip&gt; &amp; more"), std::string::npos);
  EXPECT_NE(html.find("my &lt;data&gt;"), std::string::npos);
  EXPECT_NE(html.find("2 runs realigned, 1 failed"), std::string::npos);
  // Sortable, self-contained: one inline script, nothing fetched.
  EXPECT_EQ(count_of(html, "<script>"), 1u);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  // The failed run is in the failures table, not among the measured rows.
  EXPECT_EQ(count_of(html, "<tr class=\"failed\">"), 1u);
  EXPECT_EQ(count_of(html, "data-v=\"50\""), 2u);
}

}  // namespace
