// DICOM files written by ITK's GDCM writer for the tests: the independent source of the
// files realign reads (tests/io/test_dicom_io.cpp, tests/app/test_follow_dicom.cpp).
#pragma once

#include <itkGDCMImageIO.h>
#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkImageRegionIterator.h>
#include <itkMetaDataObject.h>

#include <cmath>
#include <string>

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

}  // namespace realign::testing
