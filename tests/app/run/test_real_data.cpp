// Agreement with SPM12 on the shared real runs (skipped when ../shared is absent).
#include <gtest/gtest.h>

#include <filesystem>

#include "realign/app/run/pipeline.hpp"
#include "realign/core/metrics.hpp"
#include "realign/core/motion_record.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/report/confounds.hpp"
#include "realign/report/motion_plot.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;

struct Case {
  const char* run;
  const char* ref;  // realign --ref
  const char* spm;  // SPM12 rp file suffix
};

// Readable test names in failure messages instead of a byte dump.
void PrintTo(const Case& c, std::ostream* os) { *os << c.run << " --ref " << c.ref; }

class AgainstSpm12 : public ::testing::TestWithParam<Case> {};

TEST_P(AgainstSpm12, MeanDisplacementDifferenceIsSmall) {
  const std::string shared = realign::testing::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared is absent";
  const Case c = GetParam();
  const std::string input = shared + "/data/real/" + c.run + ".nii.gz";
  const std::string spm = shared + "/data/reference/spm12/" + c.run + c.spm;
  if (!std::filesystem::exists(input) || !std::filesystem::exists(spm)) GTEST_SKIP();
  RunOptions opt;
  opt.input = input;
  opt.output = realign::testing::temp_dir("spm") + "/out.nii";
  opt.reference = c.ref;
  opt.reslice = false;
  const RunResult r = run_realign(opt);
  const std::vector<RigidParams> expect = read_rp(spm);
  ASSERT_EQ(r.record.rp.size(), expect.size());
  // The sphere is centred on the grid, as for the tables of docs/accuracy.md.
  const Displacement d =
      run_displacement_difference(r.record.rp, expect, r.record.grid.centre_mm(), 50.0);
  std::printf("%s --ref %s vs SPM12: mean %.4f mm, max %.4f mm\n", c.run, c.ref, d.mean_mm,
              d.max_mm);
  EXPECT_LE(d.mean_mm, 0.03);
}

INSTANTIATE_TEST_SUITE_P(
    Runs, AgainstSpm12,
    ::testing::Values(Case{"decnef_sub-1_run-2_bold", "mean", "_rtm1_rp.txt"},
                      Case{"decnef_sub-1_run-2_bold", "first", "_rtm0_rp.txt"},
                      Case{"studyforrest_oneback_run-1_bold", "mean", "_rtm1_rp.txt"},
                      Case{"studyforrest_oneback_run-1_bold", "first", "_rtm0_rp.txt"}),
    [](const auto& info) {
      return std::string(info.param.run).substr(0, 6) + "_" + info.param.ref;
    });

}  // namespace
