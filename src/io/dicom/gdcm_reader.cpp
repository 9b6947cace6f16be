// The DICOM module: ITK's GDCM reader behind the plain entry point of gdcm_reader_abi.h.
// Built as its own shared object (realign_dicom) and loaded only when a DICOM volume is
// read, so that no other start of realign pays for GDCM's dictionary.
#include <gdcmTrace.h>
#include <itkGDCMImageIO.h>
#include <itkMetaDataObject.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "gdcm_reader_abi.h"

namespace {

using Component = itk::IOComponentEnum;

// A file that is DICOM but not a volume this reader takes: the problem, for the user.
class Refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

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
// until it is complete, would fill the log. The failure reaches the caller as an error.
void quiet_gdcm() {
  static const bool done = [] {
    gdcm::Trace::WarningOff();
    gdcm::Trace::ErrorOff();
    gdcm::Trace::DebugOff();
    return true;
  }();
  (void)done;
}

// A file of several frames that is not one volume's slices; refused before the voxels are
// read. (Single-frame mosaics and slices are told apart by the caller and read with
// realign_dicom_pixels_v1.)
void refuse_what_is_not_a_volume(const itk::GDCMImageIO& io) {
  const itk::MetaDataDictionary& dict = io.GetMetaDataDictionary();
  if (tag_text(dict, "0008|0008").find("MOSAIC") != std::string::npos)
    throw Refused("a Siemens mosaic of several frames: not read (one mosaic is one volume)");
  if (io.GetNumberOfDimensions() < 3 || io.GetDimensions(2) < 2)
    throw Refused("holds one slice, not a volume");
  if (io.GetNumberOfComponents() != 1)
    throw Refused("not a greyscale image (" + std::to_string(io.GetNumberOfComponents()) +
                  " components)");
}

// DICOM's axes are LPS; NIfTI's are RAS: the rows of x and y change sign.
void ras_grid(const itk::GDCMImageIO& io, RealignDicomHeader& h) {
  const double lps_to_ras[3] = {-1.0, -1.0, 1.0};
  std::fill(std::begin(h.vox2world), std::end(h.vox2world), 0.0);
  h.vox2world[15] = 1.0;
  for (int axis = 0; axis < 3; ++axis) {
    h.dim[axis] = static_cast<int>(io.GetDimensions(axis));
    const std::vector<double> dir = io.GetDirection(axis);
    for (int r = 0; r < 3; ++r)
      h.vox2world[4 * r + axis] = lps_to_ras[r] * (dir[r] * io.GetSpacing(axis));
    h.vox2world[4 * axis + 3] = lps_to_ras[axis] * io.GetOrigin(axis);
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

template <typename T>
void to_float(const std::vector<char>& bytes, std::size_t n, float* out) {
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    const float f = static_cast<float>(v);
    out[i] = std::isfinite(f) ? f : 0.0f;
  }
}

// to_float as the first of T... whose component type (by ITK's own map from C++ types) is
// `type`; whether there was one.
template <typename... T>
bool to_float_as_one_of(Component type, const std::vector<char>& bytes, std::size_t n, float* out) {
  const auto as = [&](auto value) {
    using U = decltype(value);
    if (type != itk::ImageIOBase::MapPixelType<U>::CType) return false;
    to_float<U>(bytes, n, out);
    return true;
  };
  return (as(T{}) || ...);
}

// The reader's voxels, already rescaled by GDCMImageIO (its component type is then wide
// enough for the rescaled values), as float.
void convert(Component type, const std::vector<char>& bytes, std::size_t n, float* out) {
  if (!to_float_as_one_of<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t,
                          std::int32_t, float, double>(type, bytes, n, out))
    throw Refused("pixel type " + itk::ImageIOBase::GetComponentTypeAsString(type) +
                  " is not read here");
}

// The image's values as float, written where the caller says for `header`.
void read_into(itk::GDCMImageIO& io, const RealignDicomHeader& header, RealignDicomVoxels voxels,
               void* context) {
  const std::size_t n = static_cast<std::size_t>(header.dim[0]) *
                        static_cast<std::size_t>(header.dim[1]) *
                        static_cast<std::size_t>(header.dim[2]);
  std::vector<char> bytes(io.GetImageSizeInBytes());
  io.Read(bytes.data());
  float* out = voxels(context, &header);
  if (!out) throw std::bad_alloc();
  convert(io.GetComponentType(), bytes, n, out);
}

void read_volume(const char* path, RealignDicomVoxels voxels, void* context) {
  auto io = itk::GDCMImageIO::New();
  io->SetFileName(path);
  io->ReadImageInformation();
  refuse_what_is_not_a_volume(*io);
  RealignDicomHeader header;
  ras_grid(*io, header);
  header.tr_s = repetition_time_s(io->GetMetaDataDictionary());
  read_into(*io, header, voxels, context);
}

// The stored image as it is: realign's own walk over the header (io/dicom_tags) has told
// what it is and where it lies.
void read_pixels(const char* path, RealignDicomVoxels voxels, void* context) {
  auto io = itk::GDCMImageIO::New();
  io->SetFileName(path);
  io->ReadImageInformation();
  if (io->GetNumberOfComponents() != 1)
    throw Refused("not a greyscale image (" + std::to_string(io->GetNumberOfComponents()) +
                  " components)");
  RealignDicomHeader header;
  std::fill(std::begin(header.vox2world), std::end(header.vox2world), 0.0);
  for (int d = 0; d < 4; ++d) header.vox2world[5 * d] = 1.0;
  header.tr_s = 0.0;
  for (int axis = 0; axis < 3; ++axis)
    header.dim[axis] = axis < static_cast<int>(io->GetNumberOfDimensions())
                           ? static_cast<int>(io->GetDimensions(axis))
                           : 1;
  read_into(*io, header, voxels, context);
}

// The problem of the exception being handled, for the user. Only called in a handler.
std::string current_problem() {
  try {
    throw;
  } catch (const Refused& e) {
    return e.what();
  } catch (const itk::ExceptionObject& e) {
    return "not a readable DICOM image (" + one_line(e) + ")";
  } catch (const std::bad_alloc&) {
    return "not enough memory for its voxels";
  } catch (const std::exception& e) {
    return std::string("not read: ") + e.what();
  } catch (...) {
    return "not read (an unknown error in the DICOM reader)";
  }
}

void copy_message(const char* message, size_t length, char* error, size_t error_size) {
  if (error_size == 0) return;
  const size_t n = std::min(length, error_size - 1);
  std::memcpy(error, message, n);
  error[n] = '\0';
}

// No exception leaves the module (the caller is across dlopen): the problem goes back as
// text, even when there is no memory left to compose it.
template <class Read>
int guarded(Read read, char* error, size_t error_size) noexcept {
  try {
    quiet_gdcm();
    read();
    return 0;
  } catch (...) {
    try {
      const std::string problem = current_problem();
      copy_message(problem.data(), problem.size(), error, error_size);
    } catch (...) {
      static const char no_memory[] = "not enough memory to read it";
      copy_message(no_memory, sizeof no_memory - 1, error, error_size);
    }
  }
  return 1;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int realign_dicom_read_v1(
    const char* path, RealignDicomVoxels voxels, void* context, char* error, size_t error_size) {
  return guarded([&] { read_volume(path, voxels, context); }, error, error_size);
}

extern "C" __attribute__((visibility("default"))) int realign_dicom_pixels_v1(
    const char* path, RealignDicomVoxels voxels, void* context, char* error, size_t error_size) {
  return guarded([&] { read_pixels(path, voxels, context); }, error, error_size);
}

// The typedefs and the definitions must agree; a mismatch fails the build here, not at run
// time in the caller.
static_assert(std::is_same<decltype(&realign_dicom_read_v1), RealignDicomRead>::value,
              "realign_dicom_read_v1 does not match RealignDicomRead");
static_assert(std::is_same<decltype(&realign_dicom_pixels_v1), RealignDicomPixels>::value,
              "realign_dicom_pixels_v1 does not match RealignDicomPixels");
