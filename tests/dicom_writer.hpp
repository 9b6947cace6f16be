// DICOM files written by ITK's GDCM writer for the tests: the independent source of the
// files realign reads (tests/io/test_dicom_*.cpp, tests/app/follow/test_follow_dicom.cpp,
// build/realign-test-dicom). Besides whole volumes: Siemens mosaics (the slices tiled in
// one image, with the Siemens CSA image header's bytes and private tags added here) and
// one-file-per-slice series, placed in space by the DICOM rules written out independently
// of realign's reader (the DICOM image's rows run down the volume's j axis, as dcm2niix
// lays them out), so that dcm2niix and realign read the same files.
#pragma once

#include <itkGDCMImageIO.h>
#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkImageRegionIterator.h>
#include <itkMetaDataObject.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "realign/core/volume.hpp"

namespace realign::testing {

using DicomImage = itk::Image<short, 3>;

// A volume as the int16 ITK image DICOM would hold: values rounded, the RAS grid turned
// into ITK's LPS origin, spacing and direction (as ITK's NIfTI reader would give them).
inline DicomImage::Pointer itk_image_of(const Volume& v) {
  auto image = DicomImage::New();
  DicomImage::RegionType region;
  region.SetSize({{static_cast<itk::SizeValueType>(v.grid.dim[0]),
                   static_cast<itk::SizeValueType>(v.grid.dim[1]),
                   static_cast<itk::SizeValueType>(v.grid.dim[2])}});
  image->SetRegions(region);
  image->Allocate();
  const Mat4 lps = Eigen::Vector4d(-1.0, -1.0, 1.0, 1.0).asDiagonal() * v.grid.vox2world;
  DicomImage::SpacingType spacing;
  DicomImage::PointType origin;
  DicomImage::DirectionType direction;
  for (int c = 0; c < 3; ++c) {
    spacing[c] = lps.col(c).head<3>().norm();
    origin[c] = lps(c, 3);
    for (int r = 0; r < 3; ++r) direction(r, c) = lps(r, c) / spacing[c];
  }
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  std::size_t i = 0;
  for (itk::ImageRegionIterator<DicomImage> it(image, region); !it.IsAtEnd(); ++it)
    it.Set(static_cast<short>(std::lround(v.data[i++])));
  return image;
}

// Writes the volume as one multi-frame MR image (GDCM makes it Enhanced MR Image Storage),
// with a RepetitionTime of tr_ms and the given ImageType.
// Compressed: lossless JPEG, the pixel data encapsulated in fragments.
inline void write_dicom(const Volume& v, const std::string& path, double tr_ms = 2000.0,
                        const std::string& image_type = "ORIGINAL\\PRIMARY\\M\\ND",
                        bool compressed = false) {
  auto image = itk_image_of(v);
  auto& dict = image->GetMetaDataDictionary();
  itk::EncapsulateMetaData<std::string>(dict, "0008|0016", "1.2.840.10008.5.1.4.1.1.4");
  itk::EncapsulateMetaData<std::string>(dict, "0008|0060", "MR");
  itk::EncapsulateMetaData<std::string>(dict, "0008|0008", image_type);
  itk::EncapsulateMetaData<std::string>(dict, "0028|0004", "MONOCHROME2");
  itk::EncapsulateMetaData<std::string>(dict, "0018|0080", std::to_string(tr_ms));
  auto writer = itk::ImageFileWriter<DicomImage>::New();
  auto io = itk::GDCMImageIO::New();
  if (compressed) {
    io->SetCompressionType(itk::GDCMImageIO::CompressionEnum::JPEG);
    writer->UseCompressionOn();
  }
  writer->SetImageIO(io);
  writer->SetInput(image);
  writer->SetFileName(path);
  writer->Update();
}

// One element of a CSA header: its name, VR and values (as text).
struct CsaEntry {
  std::string name, vr;
  std::vector<std::string> values;
};

// The bytes of a Siemens CSA header in its SV10 layout (as described publicly): "SV10",
// 4 3 2 1, the element count, 77; per element its name in 64 bytes, VM, VR in 4 bytes,
// SyngoDT, the item count, 77; per item four int32 (length, length, 77, length) and the
// value NUL-terminated, padded to 4 bytes. Siemens writes 6 items for a single value, the
// others empty (length 0): so here.
inline std::string csa_header(const std::vector<CsaEntry>& entries) {
  std::string out = "SV10";
  const auto i32 = [&out](std::int32_t v) {
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
  };
  out += std::string("\4\3\2\1", 4);
  i32(static_cast<std::int32_t>(entries.size()));
  i32(77);
  for (const CsaEntry& e : entries) {
    std::string name = e.name;
    name.resize(64, '\0');
    out += name;
    i32(static_cast<std::int32_t>(e.values.size()));
    std::string vr = e.vr;
    vr.resize(4, '\0');
    out += vr;
    i32(3);
    const std::size_t items = std::max<std::size_t>(6, e.values.size());
    i32(static_cast<std::int32_t>(items));
    i32(77);
    for (std::size_t k = 0; k < items; ++k) {
      std::string v = k < e.values.size() ? e.values[k] + '\0' : "";
      const auto n = static_cast<std::int32_t>(v.size());
      i32(n);
      i32(n);
      i32(k < e.values.size() ? 77 : 205);
      i32(n);
      v.resize((v.size() + 3) / 4 * 4, '\0');
      out += v;
    }
  }
  return out;
}

// A mosaic's CSA image header: NumberOfImagesInMosaic and SliceNormalVector (LPS).
inline std::string mosaic_csa_header(int images, const Vec3& normal) {
  const auto text = [](double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.8f", x);
    return std::string(b);
  };
  return csa_header(
      {{"EchoLinePosition", "IS", {"32"}},
       {"NumberOfImagesInMosaic", "US", {std::to_string(images)}},
       {"SliceNormalVector", "FD", {text(normal[0]), text(normal[1]), text(normal[2])}},
       {"MosaicRefAcqTimes", "FD", {}}});
}

// Inserts Siemens' private block into a DICOM file written by GDCM (little endian, its
// pixel data element the file's last): the creator (0029,0010) "SIEMENS CSA HEADER" and
// the CSA image header (0029,1010), as OB in explicit VR, before the pixel data.
inline void add_csa_image_header(const std::string& path, const std::string& csa) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const std::size_t at = bytes.rfind(std::string("\xE0\x7F\x10\x00", 4));
  if (at == std::string::npos) throw std::runtime_error(path + ": no pixel data");
  // GDCM writes implicit VR little endian (1.2.840.10008.1.2) unless told otherwise.
  const bool explicit_vr = bytes.find(std::string("1.2.840.10008.1.2.1\0", 20)) < 400 ||
                           bytes.find(std::string("1.2.840.10008.1.2.1 ", 20)) < 400;
  std::string block;
  const auto u16 = [&block](unsigned v) {
    block.push_back(static_cast<char>(v & 0xFF));
    block.push_back(static_cast<char>(v >> 8));
  };
  const auto u32 = [&block](std::size_t v) {
    for (int b = 0; b < 4; ++b) block.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
  };
  const auto element = [&](unsigned elem, const char* vr, std::string value) {
    if (value.size() % 2) value.push_back(std::string(vr) == "OB" ? '\0' : ' ');
    u16(0x0029);
    u16(elem);
    if (!explicit_vr) {
      u32(value.size());
    } else if (std::string(vr) == "OB") {
      block += "OB";
      u16(0);
      u32(value.size());
    } else {
      block += vr;
      u16(static_cast<unsigned>(value.size()));
    }
    block += value;
  };
  element(0x0010, "LO", "SIEMENS CSA HEADER");
  element(0x1010, "OB", csa);
  bytes.insert(at, block);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error(path + ": cannot be written");
}

// Where the slices of a volume lie as DICOM images, from its RAS grid: a DICOM image's
// columns run along i and its rows down the grid's j axis from its last row (the image's
// first row is j = dim[1] - 1), slice k at the first pixel `first + k * step`; in DICOM's
// LPS millimetres.
struct DicomPlacement {
  Vec3 along_row, down_column, first, step;
  double row_spacing = 0, column_spacing = 0;
  int rows = 0, columns = 0, slices = 0;
};

inline DicomPlacement placement_of(const Grid& g) {
  const Mat4 lps = Eigen::Vector4d(-1.0, -1.0, 1.0, 1.0).asDiagonal() * g.vox2world;
  DicomPlacement p;
  p.columns = g.dim[0];
  p.rows = g.dim[1];
  p.slices = g.dim[2];
  p.column_spacing = lps.col(0).head<3>().norm();
  p.row_spacing = lps.col(1).head<3>().norm();
  p.along_row = lps.col(0).head<3>() / p.column_spacing;
  p.down_column = -lps.col(1).head<3>() / p.row_spacing;
  p.step = lps.col(2).head<3>();
  p.first = (lps * Eigen::Vector4d(0, g.dim[1] - 1, 0, 1)).head<3>();
  return p;
}

// The same volume with its slices in the other order, k running the other way: a volume
// whose k axis points against the DICOM plane's normal (placement_of) turned into one whose
// k axis points along it, and back.
inline Volume reversed_slices(const Volume& v) {
  Volume out = v;
  const std::size_t slice = static_cast<std::size_t>(v.grid.dim[0]) * v.grid.dim[1];
  const int nz = v.grid.dim[2];
  for (int k = 0; k < nz; ++k)
    std::copy_n(v.data.begin() + (nz - 1 - k) * slice, slice, out.data.begin() + k * slice);
  out.grid.vox2world.col(3) = v.grid.vox2world * Eigen::Vector4d(0, 0, nz - 1, 1);
  out.grid.vox2world.col(2) = -v.grid.vox2world.col(2);
  return out;
}

// Slice k of a volume as its DICOM image: rows x columns, columns fastest, values rounded.
inline std::vector<short> dicom_image_of(const Volume& v, int k) {
  const int nx = v.grid.dim[0], ny = v.grid.dim[1];
  std::vector<short> image(static_cast<std::size_t>(nx) * ny);
  for (int r = 0; r < ny; ++r)
    for (int c = 0; c < nx; ++c)
      image[static_cast<std::size_t>(r) * nx + c] = static_cast<short>(
          std::lround(v.data[(static_cast<std::size_t>(k) * ny + (ny - 1 - r)) * nx + c]));
  return image;
}

// The tags a mosaic or a slice file gets besides its geometry.
struct ImageTags {
  double tr_ms = 2000.0;
  int instance = 1, acquisition = 1;
  int images_in_acquisition = 0;  // (0020,1002), not written when 0
  std::string series_uid = "1.2.826.0.1.3680043.2.1125.1.99";
  std::string study_uid = "1.2.826.0.1.3680043.2.1125.1.98";
  std::string image_type = "ORIGINAL\\PRIMARY\\M\\ND";
  std::string manufacturer = "SIEMENS";
};

// Writes one image (rows x columns, columns fastest) as a single-frame MR file, its first
// pixel at `position` (LPS) in the plane of p, with ITK's GDCM writer.
inline void write_dicom_image(const std::vector<short>& image, int rows, int columns,
                              const DicomPlacement& p, const Vec3& position, double slice_mm,
                              const ImageTags& t, const std::string& path) {
  auto img = DicomImage::New();
  DicomImage::RegionType region;
  region.SetSize(
      {{static_cast<itk::SizeValueType>(columns), static_cast<itk::SizeValueType>(rows), 1}});
  img->SetRegions(region);
  img->Allocate();
  DicomImage::SpacingType spacing;
  spacing[0] = p.column_spacing;
  spacing[1] = p.row_spacing;
  spacing[2] = slice_mm;
  DicomImage::PointType origin;
  DicomImage::DirectionType direction;
  const Vec3 normal = p.along_row.cross(p.down_column);
  for (int r = 0; r < 3; ++r) {
    origin[r] = position[r];
    direction(r, 0) = p.along_row[r];
    direction(r, 1) = p.down_column[r];
    direction(r, 2) = normal[r];
  }
  img->SetSpacing(spacing);
  img->SetOrigin(origin);
  img->SetDirection(direction);
  std::size_t i = 0;
  for (itk::ImageRegionIterator<DicomImage> it(img, region); !it.IsAtEnd(); ++it)
    it.Set(image[i++]);
  auto& dict = img->GetMetaDataDictionary();
  const auto tag = [&dict](const char* key, const std::string& value) {
    itk::EncapsulateMetaData<std::string>(dict, key, value);
  };
  tag("0008|0016", "1.2.840.10008.5.1.4.1.1.4");
  tag("0008|0060", "MR");
  tag("0008|0070", t.manufacturer);
  tag("0008|0008", t.image_type);
  tag("0028|0004", "MONOCHROME2");
  tag("0018|0080", std::to_string(t.tr_ms));
  tag("0018|0050", std::to_string(slice_mm));
  tag("0018|0088", std::to_string(slice_mm));
  // One study and series at one date and time, as a scanner writes a run: converters
  // (dcm2niix) keep files of different studies or times apart.
  tag("0020|000d", t.study_uid);
  tag("0020|000e", t.series_uid);
  tag("0020|0011", "1");
  tag("0020|0052", t.study_uid + ".1");
  for (const char* date : {"0008|0020", "0008|0021", "0008|0022", "0008|0023"})
    tag(date, "20240101");
  for (const char* time : {"0008|0030", "0008|0031", "0008|0032", "0008|0033"}) tag(time, "120000");
  tag("0020|0013", std::to_string(t.instance));
  tag("0020|0012", std::to_string(t.acquisition));
  if (t.images_in_acquisition > 0) tag("0020|1002", std::to_string(t.images_in_acquisition));
  auto writer = itk::ImageFileWriter<DicomImage>::New();
  auto io = itk::GDCMImageIO::New();
  io->KeepOriginalUIDOn();
  writer->SetImageIO(io);
  writer->SetInput(img);
  writer->SetFileName(path);
  writer->Update();
}

// A volume as a Siemens mosaic: its slices tiled row by row in a square of
// ceil(sqrt(slices)) tiles (`images`: the count the CSA header says, the volume's slices
// unless given), the header's position the corner of a slice as large as the mosaic
// centred on the first tile (Siemens' convention), the CSA header's SliceNormalVector the
// direction slice k + 1 lies from slice k.
inline void write_mosaic(const Volume& v, const std::string& path, ImageTags t = {},
                         int images = 0) {
  const DicomPlacement p = placement_of(v.grid);
  int tiles = 1;
  while (tiles * tiles < p.slices) ++tiles;
  const int rows = tiles * p.rows, columns = tiles * p.columns;
  std::vector<short> mosaic(static_cast<std::size_t>(rows) * columns, 0);
  for (int k = 0; k < p.slices; ++k) {
    const std::vector<short> image = dicom_image_of(v, k);
    for (int r = 0; r < p.rows; ++r)
      for (int c = 0; c < p.columns; ++c)
        mosaic[static_cast<std::size_t>((k / tiles) * p.rows + r) * columns +
               (k % tiles) * p.columns + c] = image[static_cast<std::size_t>(r) * p.columns + c];
  }
  const Vec3 corner = p.first - p.along_row * p.column_spacing * ((columns - p.columns) / 2.0) -
                      p.down_column * p.row_spacing * ((rows - p.rows) / 2.0);
  t.image_type += "\\MOSAIC";
  write_dicom_image(mosaic, rows, columns, p, corner, p.step.norm(), t, path);
  add_csa_image_header(path,
                       mosaic_csa_header(images > 0 ? images : p.slices, p.step.normalized()));
}

// Slice k of a volume as one single-slice file.
inline void write_slice(const Volume& v, int k, const std::string& path, const ImageTags& t) {
  const DicomPlacement p = placement_of(v.grid);
  write_dicom_image(dicom_image_of(v, k), p.rows, p.columns, p, p.first + p.step * k, p.step.norm(),
                    t, path);
}

}  // namespace realign::testing
