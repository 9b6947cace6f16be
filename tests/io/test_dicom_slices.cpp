// One-file-per-slice series stacked into volumes: slices of phantom frames, placed by the
// tests' own reading of the DICOM rules (tests/dicom_writer.hpp), come out as the frames
// with their slices ascending along the plane's normal, in any order of arrival within a
// volume, the slices per volume from the header or from the first position that comes
// twice; what cannot stack (another series or plane, numbers seen twice or too late,
// uneven slices, volumes never completed) is refused or given up on one line, and the
// stacker's memory stays bounded. Then files: phantom slices written by ITK's GDCM writer
// and the real GE series, as Debian's dcm2niix converts them.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "dicom_writer.hpp"
#include "phantom.hpp"
#include "realign/io/dicom_io.hpp"
#include "realign/io/dicom_slices.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

// Three frames of a small oblique phantom, rounded as int16 storage rounds them.
std::vector<Volume> frames() {
  PhantomSpec spec;
  spec.dim = {16, 14, 6};
  spec.voxel_mm = {3.0, 2.5, 4.0};
  spec.frames = 3;
  spec.oblique = true;
  const Phantom p = make_phantom(spec);
  std::vector<Volume> out;
  for (int f = 0; f < spec.frames; ++f) {
    Volume v{p.series.grid, std::vector<float>(p.series.frame(f), p.series.frame(f + 1))};
    for (float& x : v.data) x = std::nearbyint(x);
    out.push_back(v);
  }
  return out;
}

// Slice k of frame f as its header and pixels say, InstanceNumber f * slices + k + 1.
DicomSlice slice(const Volume& v, int f, int k, long per_volume = 0) {
  const testing::DicomPlacement p = testing::placement_of(v.grid);
  DicomSlice s;
  s.file = fmt::format("I{}", f * p.slices + k);
  s.plane.rows = p.rows;
  s.plane.columns = p.columns;
  s.plane.along_row = p.along_row;
  s.plane.down_column = p.down_column;
  s.plane.row_spacing = p.row_spacing;
  s.plane.column_spacing = p.column_spacing;
  s.plane.position = p.first + p.step * k;
  s.series = "1.2.3";
  s.instance = f * p.slices + k + 1;
  s.acquisition = 1;
  s.per_volume = per_volume;
  s.thickness_mm = s.spacing_mm = p.step.norm();
  s.tr_s = 2.0;
  const std::vector<short> image = testing::dicom_image_of(v, k);
  s.pixels.assign(image.begin(), image.end());
  return s;
}

// What a stacked frame must be: the phantom's k axis runs against the plane's normal, so
// its slices come out reversed.
void expect_frame(const StackedVolume& got, const Volume& frame, long number) {
  const Volume want = testing::reversed_slices(frame);
  EXPECT_EQ(got.number, number);
  EXPECT_EQ(got.volume.grid.dim, want.grid.dim);
  EXPECT_LT((got.volume.grid.vox2world - want.grid.vox2world).cwiseAbs().maxCoeff(), 1e-9)
      << got.volume.grid.vox2world << "\n"
      << want.grid.vox2world;
  EXPECT_EQ(got.volume.data, want.data);
  EXPECT_DOUBLE_EQ(got.tr_s, 2.0);
}

std::string refusal_of(SliceStacker& stacker, DicomSlice s) {
  try {
    stacker.add(std::move(s));
  } catch (const RefusedInput& e) {
    return e.what();
  }
  return "";
}

TEST(DicomSlices, VolumesComeOutWhenTheirLastSliceIsInWithTheirSlicesGrid) {
  const std::vector<Volume> f = frames();
  SliceStacker stacker;
  for (int v = 0; v < 3; ++v)
    for (int k = 0; k < 6; ++k) {
      const std::vector<StackedVolume> out = stacker.add(slice(f[v], v, k, 6));
      ASSERT_EQ(out.size(), k == 5 ? 1u : 0u) << "volume " << v << " slice " << k;
      if (k == 5) expect_frame(out[0], f[v], v + 1);
    }
  EXPECT_TRUE(stacker.given_up().empty());
  EXPECT_TRUE(stacker.unfinished().empty());
}

TEST(DicomSlices, SlicesPerVolumeAreLearntFromThePositionThatComesTwice) {
  const std::vector<Volume> f = frames();
  SliceStacker stacker;
  std::vector<StackedVolume> got;
  for (int v = 0; v < 3; ++v)
    for (int k = 0; k < 6; ++k) {
      std::vector<StackedVolume> out = stacker.add(slice(f[v], v, k));
      // Volume 1 is known to be whole when volume 2's first slice repeats a position; the
      // others when their last slice is in.
      const bool completes = (v == 1 && k == 0) || (v >= 1 && k == 5);
      EXPECT_EQ(out.size(), completes ? 1u : 0u) << "volume " << v << " slice " << k;
      for (auto& o : out) got.push_back(std::move(o));
    }
  EXPECT_EQ(stacker.slices_per_volume(), 6);
  ASSERT_EQ(got.size(), 3u);
  for (int v = 0; v < 3; ++v) expect_frame(got[v], f[v], v + 1);
}

TEST(DicomSlices, OrderOfArrivalWithinAVolumeDoesNotMatter) {
  const std::vector<Volume> f = frames();
  SliceStacker stacker;
  std::vector<StackedVolume> got;
  for (int v = 0; v < 3; ++v)
    for (int k : {1, 3, 5, 0, 2, 4})  // interleaved
      for (auto& o : stacker.add(slice(f[v], v, k, 6))) got.push_back(std::move(o));
  ASSERT_EQ(got.size(), 3u);
  for (int v = 0; v < 3; ++v) expect_frame(got[v], f[v], v + 1);
}

TEST(DicomSlices, VolumeMissingASliceIsGivenUpWhenALaterOneCompletes) {
  const std::vector<Volume> f = frames();
  SliceStacker stacker;
  std::vector<StackedVolume> got;
  for (int v = 0; v < 3; ++v)
    for (int k = 0; k < 6; ++k)
      if (!(v == 1 && k == 3))
        for (auto& o : stacker.add(slice(f[v], v, k, 6))) got.push_back(std::move(o));
  ASSERT_EQ(got.size(), 2u);
  expect_frame(got[0], f[0], 1);
  expect_frame(got[1], f[2], 3);
  EXPECT_EQ(stacker.given_up(),
            std::vector<std::string>{"volume 2 (I6 to I11): 5 of 6 slices; never completed"});
  EXPECT_TRUE(stacker.unfinished().empty());
  // The last volume one slice short: still open at the end.
  SliceStacker last;
  for (int k = 0; k < 5; ++k) last.add(slice(f[0], 0, k, 6));
  EXPECT_EQ(last.unfinished(),
            std::vector<std::string>{"volume 1 (I0 to I4): 5 of 6 slices; never completed"});
}

TEST(DicomSlices, SliceThatCannotBelongIsRefusedAndTheRestStacked) {
  const std::vector<Volume> f = frames();
  SliceStacker stacker;
  for (int k = 0; k < 3; ++k) stacker.add(slice(f[0], 0, k, 6));
  DicomSlice other = slice(f[0], 0, 3, 6);
  other.series = "1.2.4";
  EXPECT_EQ(refusal_of(stacker, other),
            "I3: of another series (SeriesInstanceUID 1.2.4) than I0, the series' first slice");
  other = slice(f[0], 0, 3, 6);
  other.plane.row_spacing *= 1.01;
  EXPECT_NE(refusal_of(stacker, other).find("I3: another image plane"), std::string::npos);
  other = slice(f[0], 0, 3, 6);
  other.plane.down_column = -other.plane.down_column;
  EXPECT_NE(refusal_of(stacker, other).find("another image plane"), std::string::npos);
  EXPECT_EQ(refusal_of(stacker, slice(f[0], 0, 1, 6)), "I1: a second image with InstanceNumber 2");
  other = slice(f[0], 0, 3, 6);
  other.instance = 0;
  EXPECT_EQ(refusal_of(stacker, other), "I3: InstanceNumber 0: a series' images count from 1");
  other = slice(f[0], 0, 3, 6);
  other.acquisition = 2;
  EXPECT_EQ(refusal_of(stacker, other),
            "I3: AcquisitionNumber 2, the other slices of volume 1 have 1");
  std::vector<StackedVolume> got;
  for (int k = 3; k < 6; ++k)
    for (auto& o : stacker.add(slice(f[0], 0, k, 6))) got.push_back(std::move(o));
  ASSERT_EQ(got.size(), 1u);
  expect_frame(got[0], f[0], 1);
  EXPECT_EQ(refusal_of(stacker, slice(f[0], 0, 2, 6)),
            "I2: InstanceNumber 3 is of volume 1, handed out or given up already");
  DicomSlice huge = slice(f[0], 0, 0, 100000);
  SliceStacker fresh;
  EXPECT_EQ(refusal_of(fresh, huge),
            "I0: ImagesInAcquisition (0020,1002) 100000: more slices per volume than realign "
            "takes (1024)");
}

TEST(DicomSlices, VolumeWhoseSlicesDoNotStackIsGivenUp) {
  const std::vector<Volume> f = frames();
  SliceStacker uneven;
  for (int k = 0; k < 6; ++k) {
    DicomSlice s = slice(f[0], 0, k, 6);
    if (k == 2) s.plane.position += s.plane.normal() * 1.0;  // a quarter of the spacing
    EXPECT_TRUE(uneven.add(std::move(s)).empty());
  }
  const std::vector<std::string> lost = uneven.given_up();
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].rfind("volume 1 (I0 to I5): 6 of 6 slices; its slices are not evenly spaced "
                          "on a line along their normal (",
                          0),
            0u)
      << lost[0];
  SliceStacker flat;
  for (int k = 0; k < 6; ++k) {
    DicomSlice s = slice(f[0], 0, k, 6);
    s.plane.position = slice(f[0], 0, 0).plane.position;
    flat.add(std::move(s));
  }
  EXPECT_EQ(flat.given_up(), std::vector<std::string>{"volume 1 (I0 to I5): 6 of 6 slices; its "
                                                      "slices all lie at one position; not used"});
}

// Slices that never complete a volume: at most a few volumes' slices are held.
TEST(DicomSlices, MemoryStaysBoundedWhenSlicesNeverCompleteAVolume) {
  const std::vector<Volume> f = frames();
  SliceStacker stacker;
  std::size_t lost = 0;
  for (int v = 0; v < 200; ++v)
    for (int k = 0; k < 5; ++k) {  // every volume one slice short
      DicomSlice s = slice(f[0], 0, k, 6);
      s.instance += 6 * v;
      EXPECT_TRUE(stacker.add(std::move(s)).empty());
      lost += stacker.given_up().size();
      EXPECT_LE(stacker.unfinished().size(), SliceStacker::kMaxOpenVolumes);
    }
  EXPECT_EQ(lost, 200 - SliceStacker::kMaxOpenVolumes);
  // Without ImagesInAcquisition and without a position that comes twice, the count stays
  // unknown: the slices waiting for it are given up, in bounded batches.
  SliceStacker unknown;
  for (long n = 0; n < 3000; ++n) {
    DicomSlice s = slice(f[0], 0, 0);
    s.instance = n + 1;
    s.plane.position += s.plane.normal() * (4.0 * static_cast<double>(n));
    unknown.add(std::move(s));
  }
  const std::vector<std::string> given_up = unknown.given_up();
  ASSERT_EQ(given_up.size(), 2u);
  EXPECT_EQ(given_up[0],
            "1024 slices from I0: no ImagesInAcquisition (0020,1002) and no position came twice, "
            "so the slices per volume are unknown; not used");
  EXPECT_EQ(unknown.unfinished().size(), 1u);
}

// Phantom frames written one file per slice (GE's real-time naming, I0, I1, ...) by ITK's
// GDCM writer: read and stacked, the frames themselves and what dcm2niix makes of them.
TEST(DicomSlices, SliceFilesAreWhatDcm2niixMakesOfThem) {
  const std::string dir = testing::temp_dir("slices");
  const std::vector<Volume> f = frames();
  for (int v = 0; v < 3; ++v)
    for (int k = 0; k < 6; ++k) {
      testing::ImageTags t;
      t.instance = v * 6 + k + 1;
      t.images_in_acquisition = 6;
      t.manufacturer = "GE MEDICAL SYSTEMS";
      testing::write_slice(f[v], k, dir + fmt::format("/I{}", v * 6 + k), t);
    }
  SliceStacker stacker;
  std::vector<StackedVolume> got;
  for (int n = 0; n < 18; ++n) {
    const DicomFile file = open_dicom(dir + fmt::format("/I{}", n));
    ASSERT_EQ(file.kind, DicomKind::Slice);
    for (auto& o : stacker.add(read_dicom_slice(file))) got.push_back(std::move(o));
  }
  ASSERT_EQ(got.size(), 3u);
  for (int v = 0; v < 3; ++v) {
    const Volume want = testing::reversed_slices(f[v]);
    EXPECT_EQ(got[v].volume.data, want.data);
    EXPECT_LT((got[v].volume.grid.vox2world - want.grid.vox2world).cwiseAbs().maxCoeff(), 1e-4);
  }
  const Series c = testing::dcm2niix_series(dir);
  if (c.frames == 0) GTEST_SKIP() << "dcm2niix not installed";
  ASSERT_EQ(c.frames, 3);
  const double worst = (got[0].volume.grid.vox2world - c.grid.vox2world).cwiseAbs().maxCoeff();
  std::printf("phantom slices against dcm2niix: matrix within %.2g mm\n", worst);
  EXPECT_LT(worst, 1e-3);
  for (int v = 0; v < 3; ++v)
    EXPECT_TRUE(std::equal(got[v].volume.data.begin(), got[v].volume.data.end(), c.frame(v)));
}

TEST(DicomSlices, RealGeSeriesIsWhatDcm2niixMakesOfIt) {
  const std::string dir = testing::shared_dicom("ge-slices_dcmqa-nih_mr_0005");
  if (dir.empty()) GTEST_SKIP() << "shared DICOM data absent";
  const Series c = testing::dcm2niix_series(dir);
  if (c.frames == 0) GTEST_SKIP() << "dcm2niix not installed";
  ASSERT_EQ(c.frames, 10);
  SliceStacker stacker;
  std::vector<StackedVolume> got;
  for (int n = 1; n <= 150; ++n) {
    const DicomFile file =
        open_dicom(dir + fmt::format("/axial_epi_fmri_sequential_i_to_s-{:05d}.dcm", n));
    for (auto& o : stacker.add(read_dicom_slice(file))) got.push_back(std::move(o));
  }
  ASSERT_EQ(got.size(), 10u);
  double worst = 0;
  for (int v = 0; v < 10; ++v) {
    EXPECT_EQ(got[v].volume.grid.dim, c.grid.dim);
    worst =
        std::max(worst, (got[v].volume.grid.vox2world - c.grid.vox2world).cwiseAbs().maxCoeff());
    EXPECT_TRUE(std::equal(got[v].volume.data.begin(), got[v].volume.data.end(), c.frame(v)))
        << "volume " << v + 1;
    EXPECT_DOUBLE_EQ(got[v].tr_s, 5.0);
  }
  std::printf(
      "GE slices (10 volumes of 15) against dcm2niix: voxels equal, matrix within %.2g mm\n",
      worst);
  EXPECT_LT(worst, 1e-3);
}

// A slice being written is a cut file: at every length, an error naming it on one line.
TEST(DicomSlices, EveryCutOfASliceFileIsRefusedOnOneLine) {
  const std::string dir = testing::temp_dir("slice_cut");
  testing::ImageTags t;
  t.images_in_acquisition = 6;
  testing::write_slice(frames()[0], 2, dir + "/I2", t);
  const std::string whole = testing::slurp(dir + "/I2");
  const std::string cut = dir + "/cut";
  for (std::size_t keep = 0; keep < whole.size(); keep += keep < 1500 ? 1 : 7) {
    testing::write_file(cut, whole.substr(0, keep));
    try {
      read_dicom_slice(open_dicom(cut));
      ADD_FAILURE() << keep << " bytes read as a whole slice";
    } catch (const InputError& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind(cut + ": ", 0), 0u) << keep << " bytes: " << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
}

}  // namespace
}  // namespace realign
