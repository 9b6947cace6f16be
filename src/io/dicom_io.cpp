#include "realign/io/dicom_io.hpp"

#include <gdcmTrace.h>
#include <itkGDCMImageIO.h>
#include <itkMetaDataObject.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <vector>

namespace realign {
namespace {

using Component = itk::IOComponentEnum;

// ITK's messages carry the source line and several lines of context; the user needs the
// description, on one line.
std::string one_line(const itk::ExceptionObject& e) {
  std::string s = e.GetDescription();
  std::replace(s.begin(), s.end(), '\n', ' ');
  const auto last = s.find_last_not_of(" \t");
  return last == std::string::npos ? "unreadable" : s.substr(0, last + 1);
}

std::string tag_text(const itk::MetaDataDictionary& dict, const char* tag) {
  std::string value;
  itk::ExposeMetaData<std::string>(dict, tag, value);
  return value;
}

// GDCM reports what it cannot parse on stderr by itself; a partial file, tried again
// until it is complete, would fill the log. The failure reaches the caller as an exception.
void quiet_gdcm() {
  static const bool done = [] {
    gdcm::Trace::WarningOff();
    gdcm::Trace::ErrorOff();
    gdcm::Trace::DebugOff();
    return true;
  }();
  (void)done;
}

// What a converter has to do first; refused before the voxels are read.
void refuse_what_is_not_a_volume(const std::string& path, const itk::GDCMImageIO& io) {
  const itk::MetaDataDictionary& dict = io.GetMetaDataDictionary();
  if (tag_text(dict, "0008|0008").find("MOSAIC") != std::string::npos)
    throw InputError(path,
                     "a Siemens mosaic (slices tiled in one image): not read here; convert the "
                     "volumes to NIfTI first (dcm2niix)");
  if (io.GetNumberOfDimensions() < 3 || io.GetDimensions(2) < 2)
    throw InputError(path,
                     "holds one slice, not a volume: one file per slice is not read here; "
                     "export one (multi-frame) file per volume or convert to NIfTI (dcm2niix)");
  if (io.GetNumberOfComponents() != 1)
    throw InputError(path, "not a greyscale image (" + std::to_string(io.GetNumberOfComponents()) +
                               " components)");
}

// DICOM's axes are LPS; NIfTI's are RAS: x and y change sign.
Grid ras_grid(const itk::GDCMImageIO& io) {
  Grid g;
  Mat4 lps = Mat4::Identity();
  for (int axis = 0; axis < 3; ++axis) {
    g.dim[axis] = static_cast<int>(io.GetDimensions(axis));
    const std::vector<double> dir = io.GetDirection(axis);
    for (int r = 0; r < 3; ++r) lps(r, axis) = dir[r] * io.GetSpacing(axis);
    lps(axis, 3) = io.GetOrigin(axis);
  }
  g.vox2world = Eigen::Vector4d(-1.0, -1.0, 1.0, 1.0).asDiagonal() * lps;
  return g;
}

template <typename T>
void to_float(const std::vector<char>& bytes, std::size_t n, float* out) {
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    const float f = static_cast<float>(v);
    out[i] = std::isfinite(f) ? f : 0.0f;
  }
}

// The reader's voxels, already rescaled by GDCMImageIO (its component type is then wide
// enough for the rescaled values), as float.
void convert(const std::string& path, Component type, const std::vector<char>& bytes, std::size_t n,
             float* out) {
  switch (type) {
    case Component::UCHAR:
      return to_float<std::uint8_t>(bytes, n, out);
    case Component::CHAR:
      return to_float<std::int8_t>(bytes, n, out);
    case Component::USHORT:
      return to_float<std::uint16_t>(bytes, n, out);
    case Component::SHORT:
      return to_float<std::int16_t>(bytes, n, out);
    case Component::UINT:
      return to_float<std::uint32_t>(bytes, n, out);
    case Component::INT:
      return to_float<std::int32_t>(bytes, n, out);
    case Component::FLOAT:
      return to_float<float>(bytes, n, out);
    case Component::DOUBLE:
      return to_float<double>(bytes, n, out);
    default:
      throw InputError(path, "pixel type " + itk::ImageIOBase::GetComponentTypeAsString(type) +
                                 " is not read here");
  }
}

double repetition_time_s(const itk::MetaDataDictionary& dict) {
  try {
    const double ms = std::stod(tag_text(dict, "0018|0080"));
    return std::isfinite(ms) && ms > 0 ? ms / 1000.0 : 0.0;
  } catch (const std::exception&) {
    return 0.0;
  }
}

}  // namespace

bool has_dicom_preamble(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char head[132];
  return f.read(head, sizeof head) && std::memcmp(head + 128, "DICM", 4) == 0;
}

DicomVolume read_dicom_volume(const std::string& path) {
  quiet_gdcm();
  auto io = itk::GDCMImageIO::New();
  io->SetFileName(path);
  DicomVolume out;
  try {
    io->ReadImageInformation();
    refuse_what_is_not_a_volume(path, *io);
    out.volume.grid = ras_grid(*io);
    out.tr_s = repetition_time_s(io->GetMetaDataDictionary());
    const std::size_t n = out.volume.grid.voxels();
    std::vector<char> bytes(io->GetImageSizeInBytes());
    io->Read(bytes.data());
    out.volume.data.resize(n);
    convert(path, io->GetComponentType(), bytes, n, out.volume.data.data());
  } catch (const itk::ExceptionObject& e) {
    throw InputError(path, "not a readable DICOM image (" + one_line(e) + ")");
  } catch (const std::bad_alloc&) {
    throw InputError(path, "not enough memory for its voxels");
  }
  return out;
}

}  // namespace realign
