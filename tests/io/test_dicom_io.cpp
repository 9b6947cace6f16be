// DICOM volumes written by ITK's GDCM writer read back as the NIfTI of the same image: the
// same voxels, the same RAS grid (ITK's NIfTI writer is the oracle of LPS to RAS); what is
// not a volume (a cut file, one slice, a mosaic without its CSA header) refused on one
// line naming the file.
#include <gtest/gtest.h>
#include <itkImageFileWriter.h>
#include <itkNiftiImageIO.h>

#include <cmath>
#include <filesystem>

#include "dicom_writer.hpp"
#include "phantom.hpp"
#include "realign/io/dicom_io.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

// Frame 0 of a small oblique phantom, rounded as int16 storage rounds it.
Volume oblique_head() {
  PhantomSpec spec;
  spec.dim = {20, 18, 12};
  spec.oblique = true;
  return realign::testing::rounded_first_frame(spec);
}

std::string message_of(const std::string& path) {
  return realign::testing::input_error_of([&] { read_dicom_volume(path); });
}

TEST(DicomIo, VolumeAndGridEqualTheNiftiOfTheSameImage) {
  const std::string dir = realign::testing::temp_dir("dicom_io");
  const Volume head = oblique_head();
  realign::testing::write_dicom(head, dir + "/v.dcm", 1500.0);
  auto writer = itk::ImageFileWriter<realign::testing::DicomImage>::New();
  writer->SetImageIO(itk::NiftiImageIO::New());
  writer->SetInput(realign::testing::itk_image_of(head));
  writer->SetFileName(dir + "/v.nii");
  writer->Update();

  const DicomVolume d = read_dicom_volume(dir + "/v.dcm");
  const Volume n = read_volume(dir + "/v.nii");
  EXPECT_EQ(d.volume.grid.dim, head.grid.dim);
  // NIfTI stores the matrix as float; DICOM as decimal strings.
  EXPECT_TRUE(d.volume.grid.same_as(n.grid, 1e-4)) << d.volume.grid.vox2world << "\n"
                                                   << n.grid.vox2world;
  EXPECT_TRUE(d.volume.grid.same_as(head.grid, 1e-4));
  EXPECT_EQ(d.volume.data, n.data);
  EXPECT_EQ(d.volume.data, head.data);
  EXPECT_DOUBLE_EQ(d.tr_s, 1.5);
}

TEST(DicomIo, CompressedVolumeIsReadAsThePlainOne) {
  const std::string dir = realign::testing::temp_dir("dicom_jpeg");
  const Volume head = oblique_head();
  realign::testing::write_dicom(head, dir + "/j.dcm", 2000.0, "ORIGINAL\\PRIMARY\\M\\ND", true);
  // Encapsulated: a JPEG transfer syntax in the file meta group.
  const std::string bytes = realign::testing::slurp(dir + "/j.dcm");
  EXPECT_NE(bytes.substr(0, 400).find("1.2.840.10008.1.2.4."), std::string::npos);
  const DicomVolume d = read_dicom_volume(dir + "/j.dcm");
  EXPECT_TRUE(d.volume.grid.same_as(head.grid, 1e-4));
  EXPECT_EQ(d.volume.data, head.data);
}

// A volume being written is a cut file: every cut, plain or encapsulated (JPEG), is refused
// on one line naming the file, never read short, never the end of the process (Debian's
// GDCM aborts on some).
TEST(DicomIo, CutFileIsRefusedOnOneLineNamingIt) {
  const std::string dir = realign::testing::temp_dir("dicom_cut");
  const Volume head = oblique_head();
  realign::testing::write_dicom(head, dir + "/plain.dcm");
  realign::testing::write_dicom(head, dir + "/jpeg.dcm", 2000.0, "ORIGINAL\\PRIMARY\\M\\ND", true);
  for (const char* name : {"plain", "jpeg"}) {
    const std::string bytes = realign::testing::slurp(dir + "/" + name + ".dcm");
    const std::string cut = dir + "/cut.dcm";
    for (std::size_t keep = 0; keep < bytes.size(); keep += keep < 2000 ? 13 : 307) {
      realign::testing::write_file(cut, bytes.substr(0, keep));
      const std::string m = message_of(cut);
      EXPECT_EQ(m.rfind(cut + ": ", 0), 0u) << name << ", " << keep << " bytes: " << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
}

// One slice is not a volume (a series' slices are stacked from their directory), and a
// mosaic cannot be de-tiled without its CSA header.
TEST(DicomIo, SliceIsNotAVolumeAndMosaicNeedsItsCsaHeader) {
  const std::string dir = realign::testing::temp_dir("dicom_slice");
  Volume slice = oblique_head();
  slice.grid.dim[2] = 1;
  slice.data.resize(slice.grid.voxels());
  realign::testing::write_dicom(slice, dir + "/slice.dcm");
  realign::testing::write_dicom(slice, dir + "/mosaic.dcm", 2000.0,
                                "ORIGINAL\\PRIMARY\\M\\ND\\MOSAIC");
  EXPECT_EQ(open_dicom(dir + "/slice.dcm").kind, DicomKind::Slice);
  EXPECT_EQ(message_of(dir + "/slice.dcm"),
            dir +
                "/slice.dcm: holds one slice, not a volume: the slices of a series are stacked "
                "into volumes from the directory they are in");
  EXPECT_EQ(open_dicom(dir + "/mosaic.dcm").kind, DicomKind::Mosaic);
  EXPECT_NE(message_of(dir + "/mosaic.dcm").find("a Siemens mosaic without its CSA image header"),
            std::string::npos)
      << message_of(dir + "/mosaic.dcm");
}

TEST(DicomIo, PreambleMarksDicom) {
  const std::string dir = realign::testing::temp_dir("dicom_preamble");
  realign::testing::write_dicom(oblique_head(), dir + "/v.dcm");
  std::filesystem::copy_file(dir + "/v.dcm", dir + "/noname");
  EXPECT_TRUE(has_dicom_preamble(dir + "/noname"));
  EXPECT_FALSE(has_dicom_preamble(dir + "/missing"));
  realign::testing::write_file(dir + "/short.dcm", "DICM");
  EXPECT_FALSE(has_dicom_preamble(dir + "/short.dcm"));
}

}  // namespace
}  // namespace realign
