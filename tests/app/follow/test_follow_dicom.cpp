// `realign follow` on a directory of DICOM volumes (one multi-frame file per volume, written
// by ITK's GDCM writer from a phantom with known motion): a line for every volume, the
// parameters of the same int16 volumes followed as NIfTI, the phantom's motion; a cut
// file is skipped with a message naming it, as a NIfTI one is. Then the scanners' own
// files: Siemens mosaics and one-file-per-slice series (named I0, I1, ... as GE's real-time
// export names them), of the phantom and of the shared real runs, followed with the motion
// of a batch run on the 4D NIfTI Debian's dcm2niix makes of the same files; a refused file
// reported once, and the files after it followed.
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
#include "realign/io/motion_files.hpp"
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

// The rp rows of `realign --ref first` (the batch) on what dcm2niix makes of a DICOM
// directory; empty when dcm2niix is not installed.
std::vector<RigidParams> batch_on_dcm2niix(const std::string& dicom_dir) {
  if (realign::testing::run_command("command -v dcm2niix >/dev/null 2>&1").status != 0) return {};
  const std::string out = realign::testing::temp_dir("dcm2niix_batch");
  const auto c = realign::testing::run_command(
      "dcm2niix -z n -f conv -o '" + out + "' '" + dicom_dir +
      "' >/dev/null 2>&1 && " REALIGN_BINARY " -q --threads 1 --ref first '" + out +
      "/conv.nii' '" + out + "/b.nii' 2>&1");
  EXPECT_EQ(c.status, 0) << c.text;
  return read_rp(out + "/b_rp.txt");
}

// The follow's lines against the batch's rows: the largest difference, mm at 50 mm.
double worst_against(const Followed& d, const std::vector<RigidParams>& batch) {
  EXPECT_EQ(d.rp.size(), batch.size()) << d.log;
  double worst = 0;
  for (std::size_t f = 0; f < std::min(d.rp.size(), batch.size()); ++f) {
    EXPECT_EQ(d.frames[f], static_cast<int>(f) + 1);
    worst = std::max(worst, mm_equivalent(d.rp[f], batch[f]));
  }
  return worst;
}

// The phantom's 8 frames (32x32x20, oblique, 3x2.5x3.5 mm: rows and columns told apart).
Phantom small_oblique() {
  PhantomSpec spec;
  spec.frames = 8;
  spec.dim = {32, 28, 20};
  spec.voxel_mm = {3.0, 2.5, 3.5};
  spec.oblique = true;
  Phantom p = make_phantom(spec);
  for (float& x : p.series.data) x = std::nearbyint(x);
  return p;
}

Volume frame_of(const Phantom& p, int f) {
  return {p.series.grid, std::vector<float>(p.series.frame(f), p.series.frame(f + 1))};
}

// Follows `dir`, which holds the phantom's frames as DICOM files (`what` kind): every frame
// found, near the truth, and equal to the batch run on dcm2niix's NIfTI of the same files.
void expect_truth_and_batch(const Phantom& p, const std::string& dir, const char* what) {
  const Followed d = follow(dir);
  EXPECT_EQ(d.status, 0) << d.log;
  EXPECT_EQ(d.log, "");
  ASSERT_EQ(d.rp.size(), 8u) << d.log;
  const Displacement e = parameter_error(p.truth, d.rp, p.series.grid.centre_mm());
  std::printf("%s follow against the truth: mean %.4f mm, max %.4f mm\n", what, e.mean_mm,
              e.max_mm);
  // A smaller grid than the batch's phantom tests (a tolerance of 0.015 mm there): the
  // geometry read wrong (an axis flipped, a tile misplaced) would miss by millimetres.
  EXPECT_LE(e.mean_mm, 0.03);
  EXPECT_LE(e.max_mm, 0.1);
  const std::vector<RigidParams> batch = batch_on_dcm2niix(dir);
  if (batch.empty()) GTEST_SKIP() << "dcm2niix not installed";
  const double worst = worst_against(d, batch);
  std::printf("%s follow against the batch on dcm2niix's NIfTI: within %.2g mm\n", what, worst);
  EXPECT_LE(worst, 1e-5);
}

TEST(FollowDicom, MosaicsGiveTheMotionOfTheBatchOnDcm2niixsNifti) {
  const Phantom p = small_oblique();
  const std::string dir = realign::testing::temp_dir("follow_mosaic");
  for (int f = 0; f < p.series.frames; ++f) {
    realign::testing::ImageTags t;
    t.instance = t.acquisition = f + 1;
    realign::testing::write_mosaic(frame_of(p, f),
                                   dir + fmt::format("/001_000007_{:06d}.dcm", f + 1), t);
  }
  expect_truth_and_batch(p, dir, "mosaic");
}

TEST(FollowDicom, SliceFilesGiveTheMotionOfTheBatchOnDcm2niixsNifti) {
  const Phantom p = small_oblique();
  const std::string dir = realign::testing::temp_dir("follow_slices");
  const int slices = p.series.grid.dim[2];
  for (int f = 0; f < p.series.frames; ++f)
    for (int k = 0; k < slices; ++k) {
      realign::testing::ImageTags t;
      t.instance = f * slices + k + 1;
      t.images_in_acquisition = slices;
      t.manufacturer = "GE MEDICAL SYSTEMS";
      realign::testing::write_slice(frame_of(p, f), k, dir + fmt::format("/I{}", t.instance - 1),
                                    t);
    }
  expect_truth_and_batch(p, dir, "slice");
}

TEST(FollowDicom, RealRunsGiveTheMotionOfTheBatchOnDcm2niixsNifti) {
  for (const char* name : {"siemens-mosaic_decnef_sub-1_run-2", "ge-slices_dcmqa-nih_mr_0005"}) {
    const std::string dir = realign::testing::shared_dicom(name);
    if (dir.empty()) GTEST_SKIP() << "shared DICOM data absent";
    const Followed d = follow(dir);
    EXPECT_EQ(d.status, 0) << d.log;
    const std::vector<RigidParams> batch = batch_on_dcm2niix(dir);
    if (batch.empty()) GTEST_SKIP() << "dcm2niix not installed";
    const double worst = worst_against(d, batch);
    std::printf("%s: %zu volumes followed, against the batch on dcm2niix's NIfTI within %.2g mm\n",
                name, d.rp.size(), worst);
    // The GE run moves by centimetres and tens of degrees: its parameters carry more digits.
    EXPECT_LE(worst, 1e-4);
  }
}

// A user copies files one by one into the followed folder: one that cannot be read (here a
// mosaic whose CSA header is corrupted, a file without an extension that is not DICOM, a
// 4D NIfTI) is said once to be refused, with why, and the next files are read on their own.
TEST(FollowDicom, RefusedFileIsReportedOnceAndTheNextFollowed) {
  const Phantom p = small_oblique();
  const std::string dir = realign::testing::temp_dir("follow_refused");
  for (int f = 0; f < p.series.frames; ++f)
    realign::testing::write_mosaic(frame_of(p, f), dir + fmt::format("/vol_{:05d}.dcm", f + 1));
  std::string bad = realign::testing::slurp(dir + "/vol_00003.dcm");
  bad.replace(bad.find("SV10"), 4, "SV99");
  realign::testing::write_file(dir + "/vol_00003.dcm", bad);
  realign::testing::write_file(dir + "/vol_00006", std::string(300, 'x'));
  fs::remove(dir + "/vol_00006.dcm");
  const Grid& g = p.series.grid;
  write_image(dir + "/vol_00007.nii", make_header(g, 2, 2.0, datatype_from_name("int16")), g, 2,
              p.series.data.data(), OutputType::Input);
  fs::remove(dir + "/vol_00007.dcm");
  const Followed d = follow(dir);
  EXPECT_EQ(d.status, 0) << d.log;
  ASSERT_EQ(d.rp.size(), 5u) << d.log;
  EXPECT_EQ(realign::testing::count_of(d.log, "refused"), 3u) << d.log;
  EXPECT_NE(d.log.find("vol_00007.nii: refused: holds several frames, not one volume"),
            std::string::npos)
      << d.log;
  EXPECT_NE(d.log.find("vol_00003.dcm: refused: Siemens CSA header: no \"SV10\" mark"),
            std::string::npos)
      << d.log;
  EXPECT_NE(d.log.find("vol_00006: refused: not a DICOM file (no \"DICM\" at byte 128)"),
            std::string::npos)
      << d.log;
  EXPECT_EQ(d.log.find("never completed"), std::string::npos) << d.log;
  EXPECT_EQ(d.log.find("missing"), std::string::npos) << d.log;
}

// A slice file that never comes: its volume is given up, with its files named, when the
// next one completes; the others are followed.
TEST(FollowDicom, VolumeMissingASliceIsLeftOutWithItsFilesNamed) {
  const Phantom p = small_oblique();
  const std::string dir = realign::testing::temp_dir("follow_slice_missing");
  const int slices = p.series.grid.dim[2];
  for (int f = 0; f < 4; ++f)
    for (int k = 0; k < slices; ++k) {
      realign::testing::ImageTags t;
      t.instance = f * slices + k + 1;
      t.images_in_acquisition = slices;
      if (t.instance != 27)
        realign::testing::write_slice(frame_of(p, f), k, dir + fmt::format("/I{}", t.instance - 1),
                                      t);
    }
  const Followed d = follow(dir);
  EXPECT_EQ(d.status, 0) << d.log;
  ASSERT_EQ(d.rp.size(), 3u) << d.log;
  EXPECT_NE(d.log.find("volume number 26 is missing: going on with I27"), std::string::npos)
      << d.log;
  EXPECT_NE(d.log.find("volume 2 (I20 to I39): 19 of 20 slices; never completed"),
            std::string::npos)
      << d.log;
}

}  // namespace
}  // namespace realign
