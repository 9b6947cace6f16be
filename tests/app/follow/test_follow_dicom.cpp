// `realign follow` on a directory of DICOM volumes (one multi-frame file per volume, written
// by ITK's GDCM writer from a phantom with known motion): a line for every volume, the
// parameters of the same int16 volumes followed as NIfTI, the phantom's motion; a cut
// file is skipped with a message naming it, as a NIfTI one is.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dicom_writer.hpp"
#include "phantom.hpp"
#include "realign/app/follow/follow.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

struct Followed {
  std::vector<RigidParams> rp;  // one row per line, in line order
  std::vector<int> frames;      // the frame column
  std::string log;              // the warnings and errors
  int status = -1;
};

// The settings `realign follow` completes when --ref is not given.
RunSettings first_volume() {
  RunSettings s;
  s.reference = "first";
  return s;
}

// The lines of `realign follow DIR` (no outputs), with the log caught apart.
Followed follow(const std::string& dir) {
  FollowOptions opt;
  opt.source = dir;
  opt.timeout_s = 0.5;
  opt.gap_wait_s = 0.2;
  const realign::testing::LogCapture capture(spdlog::level::warn);
  Followed out;
  ::testing::internal::CaptureStdout();
  out.status = run_follow(first_volume(), opt);
  std::fflush(stdout);
  const std::string lines = ::testing::internal::GetCapturedStdout();
  out.log = capture.text();
  std::istringstream in(lines);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream cols(line);
    int frame = 0;
    RigidParams p{};
    cols >> frame;
    for (double& x : p) cols >> x;
    out.frames.push_back(frame);
    out.rp.push_back(p);
  }
  return out;
}

// The largest difference between two rows, rotations as mm at 50 mm.
double mm_equivalent(const RigidParams& a, const RigidParams& b) {
  double worst = 0;
  for (int k = 0; k < 6; ++k) worst = std::max(worst, std::fabs(a[k] - b[k]) * (k < 3 ? 1 : 50));
  return worst;
}

// A phantom of 8 volumes written twice, rounded to int16: vol_0000N.dcm in one directory and
// vol_0000N.nii (int16) in another.
struct TwoFormats {
  Phantom phantom;
  std::string dicom_dir, nifti_dir;
};

// The phantom (64x64x34), or a smaller one where only equality counts.
TwoFormats write_both(const std::string& tag, bool small) {
  PhantomSpec spec;
  spec.frames = 8;
  if (small) spec.dim = {32, 32, 20};
  TwoFormats t{make_phantom(spec), realign::testing::temp_dir(tag + "_dcm"),
               realign::testing::temp_dir(tag + "_nii")};
  const Grid& g = t.phantom.series.grid;
  const NiftiHeader header = make_header(g, 1, spec.tr_s, datatype_from_name("int16"));
  for (int f = 0; f < spec.frames; ++f) {
    Volume v{g, std::vector<float>(t.phantom.series.frame(f), t.phantom.series.frame(f + 1))};
    for (float& x : v.data) x = std::nearbyint(x);
    const std::string name = fmt::format("vol_{:05d}", f + 1);
    realign::testing::write_dicom(v, t.dicom_dir + "/" + name + ".dcm");
    write_image(t.nifti_dir + "/" + name + ".nii", header, g, 1, v.data.data(), OutputType::Input);
  }
  return t;
}

TEST(FollowDicom, VolumesGiveTheLinesOfTheSameNiftiVolumesAndTheMotion) {
  const TwoFormats t = write_both("follow_dicom", false);
  const Followed d = follow(t.dicom_dir), n = follow(t.nifti_dir);
  EXPECT_EQ(d.status, 0) << d.log;
  ASSERT_EQ(d.rp.size(), 8u) << d.log;
  ASSERT_EQ(n.rp.size(), 8u) << n.log;
  for (int f = 0; f < 8; ++f) {
    EXPECT_EQ(d.frames[f], f + 1);
    EXPECT_LE(mm_equivalent(d.rp[f], n.rp[f]), 1e-6) << "frame " << f + 1;
  }
  const Displacement e = parameter_error(t.phantom.truth, d.rp, t.phantom.series.grid.centre_mm());
  std::printf("DICOM follow against the truth: mean %.4f mm, max %.4f mm\n", e.mean_mm, e.max_mm);
  // The batch's tolerance on this phantom (Pipeline.FirstFrameReferenceRecoversPhantomMotion).
  EXPECT_LE(e.mean_mm, 0.015);
  EXPECT_LE(e.max_mm, 0.05);
}

TEST(FollowDicom, CutVolumeIsSkippedWithItsNameAndTheRestFollowed) {
  const TwoFormats t = write_both("follow_dicom_cut", true);
  const std::string five = t.dicom_dir + "/vol_00005.dcm";
  fs::resize_file(five, fs::file_size(five) / 2);
  const Followed d = follow(t.dicom_dir), n = follow(t.nifti_dir);
  EXPECT_EQ(d.status, 0) << d.log;
  ASSERT_EQ(d.rp.size(), 7u) << d.log;
  EXPECT_NE(d.log.find("vol_00005.dcm: never completed ("), std::string::npos) << d.log;
  EXPECT_NE(d.log.find("going on with vol_00006.dcm"), std::string::npos) << d.log;
  const int rows[] = {0, 1, 2, 3, 5, 6, 7};  // parameters are relative to frame 1
  for (int k = 0; k < 7; ++k)
    EXPECT_LE(mm_equivalent(d.rp[k], n.rp[rows[k]]), 1e-6) << "line " << k + 1;
}

}  // namespace
}  // namespace realign
