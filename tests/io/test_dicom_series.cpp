// A run exported as DICOM read as one series for the batch (write_dicom_series): the
// frames it writes and the header it makes are what Debian's dcm2niix makes of the same
// directory (voxels equal, the matrix within 1e-3 mm), for Siemens mosaics and for a
// one-file-per-slice series; a directory it cannot make a run of is refused on one line
// naming the file or the directory.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "dicom_writer.hpp"
#include "phantom.hpp"
#include "realign/io/dicom_series.hpp"
#include "realign/io/frame_file.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

// A small oblique phantom of 4 frames rounded as int16 storage rounds it.
Series phantom_run() {
  PhantomSpec spec;
  spec.dim = {20, 18, 8};
  spec.voxel_mm = {3.0, 2.5, 4.0};
  spec.frames = 4;
  spec.oblique = true;
  Series s = make_phantom(spec).series;
  for (float& x : s.data) x = std::nearbyint(x);
  return s;
}

Volume frame_of(const Series& s, int f) {
  return {s.grid, std::vector<float>(s.frame(f), s.frame(f + 1))};
}

// write_dicom_series into a scratch file, read back as FrameFile reads it.
struct Written {
  NiftiInfo info;
  std::vector<std::vector<float>> frames;
};

Written write_series(const std::string& dir) {
  const std::string scratch = testing::temp_dir("dicom_series_out") + "/frames";
  const int fd = ::open(scratch.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  EXPECT_GE(fd, 0);
  Written w;
  try {
    w.info = write_dicom_series(dir, fd, scratch);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  const FrameFile file(scratch, w.info, 0, false, dir);
  for (int f = 0; f < file.frames(); ++f) {
    w.frames.emplace_back(file.grid().voxels());
    file.read(f, w.frames.back().data());
  }
  return w;
}

std::string refusal_of(const std::string& dir) {
  return testing::input_error_of([&] { write_series(dir); });
}

void expect_dcm2niix(const std::string& dir, const Written& w, const char* what) {
  const Series c = testing::dcm2niix_series(dir);
  if (c.frames == 0) GTEST_SKIP() << "dcm2niix not installed";
  ASSERT_EQ(c.frames, static_cast<int>(w.frames.size()));
  EXPECT_EQ(w.info.grid.dim, c.grid.dim);
  const double worst = (w.info.grid.vox2world - c.grid.vox2world).cwiseAbs().maxCoeff();
  std::printf("%s: %d frames against dcm2niix's: voxels equal, matrix within %.2g mm\n", what,
              c.frames, worst);
  EXPECT_LT(worst, 1e-3);
  for (int f = 0; f < c.frames; ++f)
    EXPECT_TRUE(std::equal(w.frames[f].begin(), w.frames[f].end(), c.frame(f))) << "frame " << f;
}

TEST(DicomSeries, MosaicRunIsWhatDcm2niixMakesOfIt) {
  const std::string dir = testing::temp_dir("series_mosaic");
  const Series run = phantom_run();
  for (int f = 0; f < run.frames; ++f) {
    testing::ImageTags t;
    t.instance = t.acquisition = f + 1;
    t.tr_ms = 1500;
    testing::write_mosaic(frame_of(run, f), dir + fmt::format("/001_000004_{:06d}.dcm", f + 1), t);
  }
  testing::write_file(dir + "/series.json", "{}");  // not a volume file: not looked at
  const Written w = write_series(dir);
  EXPECT_EQ(w.info.frames, 4);
  EXPECT_DOUBLE_EQ(w.info.tr_s, 1.5);
  EXPECT_EQ(w.info.datatype, 16);  // float32
  EXPECT_LT((w.info.grid.vox2world - run.grid.vox2world).cwiseAbs().maxCoeff(), 1e-4);
  for (int f = 0; f < run.frames; ++f) EXPECT_EQ(w.frames[f], frame_of(run, f).data);
  expect_dcm2niix(dir, w, "phantom mosaic run");
}

TEST(DicomSeries, SliceRunIsWhatDcm2niixMakesOfIt) {
  const std::string dir = testing::temp_dir("series_slices");
  const Series run = phantom_run();
  const int slices = run.grid.dim[2];
  for (int f = 0; f < run.frames; ++f)
    for (int k = 0; k < slices; ++k) {
      testing::ImageTags t;
      t.instance = f * slices + k + 1;
      t.images_in_acquisition = slices;
      t.manufacturer = "GE MEDICAL SYSTEMS";
      testing::write_slice(frame_of(run, f), k, dir + fmt::format("/I{}", t.instance - 1), t);
    }
  const Written w = write_series(dir);
  EXPECT_EQ(w.info.frames, 4);
  const Volume want = testing::reversed_slices(frame_of(run, 1));
  EXPECT_EQ(w.frames[1], want.data);
  EXPECT_LT((w.info.grid.vox2world - want.grid.vox2world).cwiseAbs().maxCoeff(), 1e-4);
  expect_dcm2niix(dir, w, "phantom slice run");
}

TEST(DicomSeries, RealRunsAreWhatDcm2niixMakesOfThem) {
  for (const char* name : {"siemens-mosaic_decnef_sub-1_run-2", "ge-slices_dcmqa-nih_mr_0005"}) {
    const std::string dir = testing::shared_dicom(name);
    if (dir.empty()) GTEST_SKIP() << "shared DICOM data absent";
    expect_dcm2niix(dir, write_series(dir), name);
  }
}

TEST(DicomSeries, DirectoryThatIsNotARunIsRefusedOnOneLine) {
  const Series run = phantom_run();
  const std::string empty = testing::temp_dir("series_empty");
  testing::write_file(empty + "/notes.txt", "a run will be here");
  EXPECT_EQ(refusal_of(empty),
            empty +
                ": is a directory without numbered DICOM files (.dcm, .ima, or names without "
                "an extension); realign reads a NIfTI file or a DICOM run");

  const std::string short_run = testing::temp_dir("series_short");
  for (int k = 0; k < run.grid.dim[2]; ++k)
    if (k != 3) {
      testing::ImageTags t;
      t.instance = k + 1;
      t.images_in_acquisition = run.grid.dim[2];
      testing::write_slice(frame_of(run, 0), k, short_run + fmt::format("/I{}", k), t);
    }
  EXPECT_EQ(refusal_of(short_run),
            short_run + ": volume 1 (I0 to I7): 7 of 8 slices; never completed");

  const std::string mixed = testing::temp_dir("series_mixed");
  testing::write_mosaic(frame_of(run, 0), mixed + "/vol_0001.dcm");
  testing::ImageTags t;
  t.images_in_acquisition = run.grid.dim[2];
  testing::write_slice(frame_of(run, 1), 0, mixed + "/vol_0002.dcm", t);
  EXPECT_EQ(refusal_of(mixed), mixed +
                                   "/vol_0002.dcm: mixes single slices and whole volumes with "
                                   "the files before it");

  const std::string moved = testing::temp_dir("series_moved");
  testing::write_mosaic(frame_of(run, 0), moved + "/vol_0001.dcm");
  Volume shifted = frame_of(run, 1);
  shifted.grid.vox2world(0, 3) += 10.0;
  testing::write_mosaic(shifted, moved + "/vol_0002.dcm");
  EXPECT_EQ(refusal_of(moved), moved +
                                   "/vol_0002.dcm: is on another grid (dimensions or "
                                   "voxel-to-world matrix) than the series' first volume, "
                                   "vol_0001.dcm; a run is on one grid");

  const std::string not_dicom = testing::temp_dir("series_not_dicom");
  testing::write_mosaic(frame_of(run, 0), not_dicom + "/vol_0001.dcm");
  testing::write_file(not_dicom + "/vol_0002.dcm", std::string(400, 'x'));
  EXPECT_EQ(refusal_of(not_dicom),
            not_dicom + "/vol_0002.dcm: not a DICOM file (no \"DICM\" at byte 128)");
}

}  // namespace
}  // namespace realign
