// The echoes of a multi-echo run are one run (motion estimated once, on the shortest echo
// time, resliced into every echo), and BIDS derivatives hold no NaN: voxels some frame
// cannot see are 0, and the brain mask's sidecar and the report say how much of the brain
// that is. Phantoms with known motion: two echoes of one head, with another contrast and
// more noise in the second.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "phantom.hpp"
#include "realign/app/bids/bids_app.hpp"
#include "realign/app/run/pipeline.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;
namespace fs = std::filesystem;
using realign::testing::slurp;
using realign::testing::write_file;

// Another echo of the same head: T2* decay makes the contrast another (the darker tissue
// darker still) and the signal lower, so the noise is relatively larger.
Phantom later_echo(const Phantom& first, unsigned seed) {
  Phantom p = first;
  float peak = 0.0f;
  for (float v : p.series.data) peak = std::max(peak, v);
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.015f * peak);
  for (float& v : p.series.data) {
    const float x = std::max(v, 0.0f) / peak;
    v = peak * 0.6f * std::pow(x, 1.4f) + noise(rng);
  }
  return p;
}

struct MultiEcho {
  std::string root, out;
  Phantom echo1, echo2;
  MultiEcho() {
    root = realign::testing::temp_dir("multi_echo");
    PhantomSpec spec;
    spec.dim = {48, 48, 24};
    spec.frames = 10;
    spec.max_trans_mm = 1.0;
    spec.max_rot_deg = 1.0;
    spec.seed = 21;
    // Echo 2 has the shorter echo time here, so it is the one estimated on: the head as
    // drawn; echo 1, the later echo, darker, with another contrast and more noise.
    echo2 = make_phantom(spec);
    echo1 = later_echo(echo2, 22);
    const std::string func = root + "/ds/sub-01/func/sub-01_task-rest_run-1_echo-";
    fs::create_directories(root + "/ds/sub-01/func");
    write_phantom(echo1, func + "1_bold.nii.gz", root + "/truth.txt", "float32");
    write_phantom(echo2, func + "2_bold.nii.gz", root + "/truth.txt", "float32");
    write_file(func + "1_bold.json", R"({"RepetitionTime": 2.0, "EchoTime": 0.045})");
    write_file(func + "2_bold.json", R"({"RepetitionTime": 2.0, "EchoTime": 0.015})");
    BidsOptions o;
    o.bids_dir = root + "/ds";
    o.out_dir = out = root + "/out";
    RunSettings s;
    s.threads = 1;
    EXPECT_EQ(run_bids(s, o), kExitOk);
  }
  std::string prefix() const { return out + "/sub-01/func/sub-01_task-rest_run-1"; }
};

const MultiEcho& multi_echo() {
  static const MultiEcho m;
  return m;
}

TEST(MultiEcho, OneMotionForTheRunEstimatedOnTheShortestEcho) {
  const MultiEcho& m = multi_echo();
  const std::string p = m.prefix();
  // One set of motion outputs, without the echo entity; one series per echo, with it.
  for (const char* tail : {"_desc-confounds_timeseries.tsv", "_desc-rp_motion.txt",
                           "_from-orig_to-boldref_mode-image_desc-hmc_xfm.txt",
                           "_desc-hmc_boldref.nii.gz", "_boldref.nii.gz", "_desc-realign_qc.json"})
    EXPECT_TRUE(fs::exists(p + tail)) << tail;
  for (const char* echo : {"_echo-1", "_echo-2"}) {
    EXPECT_TRUE(fs::exists(p + echo + "_desc-preproc_bold.nii.gz")) << echo;
    EXPECT_FALSE(fs::exists(p + echo + "_desc-confounds_timeseries.tsv")) << echo;
    const auto side = nlohmann::json::parse(slurp(p + echo + "_desc-preproc_bold.json"));
    EXPECT_DOUBLE_EQ(side.at("RepetitionTime").get<double>(), 2.0);
    EXPECT_DOUBLE_EQ(side.at("EchoTime").get<double>(),
                     std::string(echo) == "_echo-1" ? 0.045 : 0.015);
  }
  EXPECT_FALSE(fs::exists(p + "_desc-preproc_bold.nii.gz"));
  const auto record = nlohmann::json::parse(slurp(p + "_desc-realign_qc.json"));
  EXPECT_NE(record.at("Source").get<std::string>().find("echo-2"), std::string::npos);
  // The motion is the head's.
  const std::vector<RigidParams> rp = read_rp(p + "_desc-rp_motion.txt");
  const Displacement d = parameter_error(m.echo2.truth, rp, m.echo2.series.grid.centre_mm());
  std::printf("multi-echo run against the truth: mean %.4f mm, max %.4f mm\n", d.mean_mm, d.max_mm);
  EXPECT_LE(d.mean_mm, 0.015);
  EXPECT_LE(d.max_mm, 0.05);
}

// Every echo resliced with the run's transforms: what `realign apply` makes of the saved
// transforms, except that BIDS derivatives hold 0 where apply writes NaN.
TEST(MultiEcho, EveryEchoIsWhatApplyMakesOfTheRunsTransforms) {
  const MultiEcho& m = multi_echo();
  const std::string p = m.prefix();
  for (const char* echo : {"1", "2"}) {
    RunOptions apply;
    apply.input = m.root + "/ds/sub-01/func/sub-01_task-rest_run-1_echo-" + echo + "_bold.nii.gz";
    apply.output = m.root + "/apply_echo-" + echo + ".nii";
    apply.apply_xfm = p + "_desc-realign_xfm.txt";
    apply.threads = 1;
    run_apply(apply);
    const Series want = read_series(apply.output);
    const Series got = read_series(p + "_echo-" + echo + "_desc-preproc_bold.nii.gz");
    ASSERT_EQ(got.data.size(), want.data.size());
    // read_series makes NaN 0, so apply's masked voxels read as 0, as the derivative's are.
    std::size_t differing = 0;
    for (std::size_t i = 0; i < got.data.size(); ++i) differing += got.data[i] != want.data[i];
    EXPECT_EQ(differing, 0u) << "echo " << echo;
  }
}

TEST(MultiEcho, BidsDerivativesHoldNoNaN) {
  const MultiEcho& m = multi_echo();
  const std::string p = m.prefix();
  for (const std::string f : {p + "_echo-1_desc-preproc_bold.nii.gz", p + "_boldref.nii.gz",
                              p + "_desc-hmc_boldref.nii.gz"}) {
    const Series s = read_series(f);
    EXPECT_EQ(s.nonfinite_voxels, 0u) << f;
  }
}

// After large motion (10 mm, 6 degrees) a good part of the brain leaves the field of view of
// some frame: those voxels are 0 in every frame of the series, and the brain mask's sidecar
// gives their share of the mask, as counted here from the files.
TEST(NoNaN, UnseenBrainIsZeroAndItsShareIsReported) {
  const std::string root = realign::testing::temp_dir("unseen");
  PhantomSpec spec;
  spec.dim = {48, 48, 14};  // a slab that cuts through the head, as EPI slabs do
  spec.frames = 8;
  spec.max_trans_mm = 10.0;
  spec.max_rot_deg = 6.0;
  spec.seed = 31;
  fs::create_directories(root + "/ds/sub-01/func");
  write_phantom(make_phantom(spec), root + "/ds/sub-01/func/sub-01_task-move_bold.nii",
                root + "/truth.txt", "float32");
  BidsOptions o;
  o.bids_dir = root + "/ds";
  o.out_dir = root + "/out";
  RunSettings s;
  s.threads = 1;
  ASSERT_EQ(run_bids(s, o), kExitOk);
  const std::string p = o.out_dir + "/sub-01/func/sub-01_task-move";
  const Series series = read_series(p + "_desc-preproc_bold.nii.gz");
  EXPECT_EQ(series.nonfinite_voxels, 0u);
  EXPECT_EQ(read_series(p + "_boldref.nii.gz").nonfinite_voxels, 0u);
  const Series mask = read_series(p + "_desc-brain_mask.nii.gz");
  long brain = 0, unseen = 0;
  for (std::size_t i = 0; i < mask.grid.voxels(); ++i) {
    if (mask.data[i] == 0.0f) continue;
    ++brain;
    bool zero = true;
    for (int f = 0; f < series.frames && zero; ++f) zero = series.frame(f)[i] == 0.0f;
    unseen += zero;
  }
  const auto side = nlohmann::json::parse(slurp(p + "_desc-brain_mask.json"));
  std::printf("brain %ld voxels, %ld unseen by some frame (%.1f%%)\n", brain, unseen,
              100.0 * unseen / brain);
  EXPECT_GT(unseen, brain / 100);
  EXPECT_EQ(side.at("BrainVoxels").get<long>(), brain);
  EXPECT_EQ(side.at("BrainVoxelsUnseenBySomeFrame").get<long>(), unseen);
  const std::string report = slurp(p + "_desc-realign_report.html");
  EXPECT_NE(report.find("id=\"unseen\""), std::string::npos);
}

}  // namespace
