// Siemens mosaics: phantom volumes tiled by the tests' own writer (ITK's GDCM writer, the
// CSA header's bytes added) read back as the phantom itself and as Debian's dcm2niix
// converts the same file, whichever side of the image's plane the slices run to; the real
// Prisma mosaics as dcm2niix converts them; a count that does not tile, a missing or
// corrupted CSA header (a missing one: test_dicom_io), and every cut refused on one line naming the
// file.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "dicom_writer.hpp"
#include "phantom.hpp"
#include "realign/io/dicom_io.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

// Frame 0 of a small oblique phantom, rounded as int16 storage rounds it: 24x20 voxels of
// 3x2.5 mm in plane (columns and rows told apart), 10 slices in a 4x4 mosaic (6 tiles
// empty).
Volume small_head(std::array<int, 3> dim = {24, 20, 10}) {
  PhantomSpec spec;
  spec.dim = dim;
  spec.voxel_mm = {3.0, 2.5, 4.0};
  spec.oblique = true;
  return testing::rounded_first_frame(spec);
}

double matrix_difference(const Grid& a, const Grid& b) {
  return (a.vox2world - b.vox2world).cwiseAbs().maxCoeff();
}

std::string message_of(const std::string& path) {
  return realign::testing::input_error_of([&] { read_dicom_volume(path); });
}

TEST(DicomMosaic, DetiledOntoThePhantomAndAsDcm2niixConvertsIt) {
  const std::string dir = testing::temp_dir("mosaic");
  const Volume head = small_head();
  const Volume variants[] = {head, testing::reversed_slices(head)};
  for (int n = 0; n < 2; ++n) {
    const Volume& v = variants[n];
    const bool along = n == 1;
    const std::string path = dir + (along ? "/along.dcm" : "/against.dcm");
    testing::write_mosaic(v, path);
    const DicomFile f = open_dicom(path);
    EXPECT_EQ(f.kind, DicomKind::Mosaic);
    const DicomVolume d = read_dicom_volume(f);
    EXPECT_EQ(d.volume.grid.dim, v.grid.dim);
    // DICOM keeps positions as decimal strings of 16 characters.
    EXPECT_LT(matrix_difference(d.volume.grid, v.grid), 1e-4) << d.volume.grid.vox2world;
    EXPECT_EQ(d.volume.data, v.data);
    EXPECT_DOUBLE_EQ(d.tr_s, 2.0);
    const Series c = testing::dcm2niix_series(path);
    if (c.frames == 0) GTEST_SKIP() << "dcm2niix not installed";
    EXPECT_EQ(c.grid.dim, v.grid.dim);
    std::printf("mosaic (slices %s the plane's normal) against dcm2niix: matrix within %.2g mm\n",
                along ? "along" : "against", matrix_difference(d.volume.grid, c.grid));
    EXPECT_LT(matrix_difference(d.volume.grid, c.grid), 1e-3);
    EXPECT_EQ(d.volume.data, c.data);
  }
}

TEST(DicomMosaic, RealPrismaMosaicsAreWhatDcm2niixMakesOfThem) {
  const std::string dir = testing::shared_dicom("siemens-mosaic_decnef_sub-1_run-2");
  if (dir.empty()) GTEST_SKIP() << "shared DICOM data absent";
  const Series c = testing::dcm2niix_series(dir);
  if (c.frames == 0) GTEST_SKIP() << "dcm2niix not installed";
  ASSERT_EQ(c.frames, 12);
  double worst = 0;
  for (int f = 0; f < c.frames; ++f) {
    const std::string path = dir + fmt::format("/001_000006_{:06d}.dcm", f + 1);
    const DicomVolume d = read_dicom_volume(path);
    ASSERT_EQ(d.volume.grid.dim, c.grid.dim);
    worst = std::max(worst, matrix_difference(d.volume.grid, c.grid));
    EXPECT_TRUE(std::equal(d.volume.data.begin(), d.volume.data.end(), c.frame(f))) << path;
    EXPECT_DOUBLE_EQ(d.tr_s, 2.0);
  }
  std::printf("12 Prisma mosaics against dcm2niix: voxels equal, matrix within %.2g mm\n", worst);
  EXPECT_LT(worst, 1e-3);
}

TEST(DicomMosaic, CountThatDoesNotTileTheImageIsRefused) {
  const std::string dir = testing::temp_dir("mosaic_count");
  const Volume head = small_head({10, 10, 9});            // a 3x3 mosaic of 30x30
  testing::write_mosaic(head, dir + "/ten.dcm", {}, 10);  // 10 needs 4x4 tiles: 30/4
  const std::string m = message_of(dir + "/ten.dcm");
  EXPECT_EQ(m, dir +
                   "/ten.dcm: NumberOfImagesInMosaic 10 does not tile the 30x30 mosaic in 4x4 "
                   "equal tiles");
}

// The CSA header inside a whole file corrupted in place: counts and lengths made absurd,
// the mark broken; each a one-line refusal naming the file.
TEST(DicomMosaic, CorruptedCsaHeaderIsRefusedOnOneLine) {
  const std::string dir = testing::temp_dir("mosaic_csa");
  testing::write_mosaic(small_head(), dir + "/m.dcm");
  const std::string whole = testing::slurp(dir + "/m.dcm");
  const std::size_t csa = whole.find("SV10");
  ASSERT_NE(csa, std::string::npos);
  const std::pair<std::size_t, std::string> damages[] = {
      {csa, "XV10"},                                             // the mark
      {csa + 8, std::string("\xff\xff\xff\x7f", 4)},             // element count
      {csa + 16 + 76, std::string("\xff\xff\xff\x0f", 4)},       // items of the first element
      {csa + 16 + 84 + 4, std::string("\xf0\xff\xff\xff", 4)}};  // a value's length
  for (const auto& [at, bytes] : damages) {
    std::string b = whole;
    b.replace(at, bytes.size(), bytes);
    testing::write_file(dir + "/bad.dcm", b);
    const std::string m = message_of(dir + "/bad.dcm");
    EXPECT_EQ(m.rfind(dir + "/bad.dcm: Siemens CSA header: ", 0), 0u) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

// A mosaic being written is a cut file: at every length, an error naming the file on one
// line, never a crash.
TEST(DicomMosaic, EveryCutIsRefusedOnOneLine) {
  const std::string dir = testing::temp_dir("mosaic_cut");
  testing::write_mosaic(small_head({8, 8, 3}), dir + "/m.dcm");
  const std::string whole = testing::slurp(dir + "/m.dcm");
  const std::string cut = dir + "/cut.dcm";
  for (std::size_t keep = 0; keep < whole.size(); ++keep) {
    testing::write_file(cut, whole.substr(0, keep));
    const std::string m = message_of(cut);
    EXPECT_EQ(m.rfind(cut + ": ", 0), 0u) << keep << " bytes: " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace realign
