#include "realign/io/dicom_io.hpp"

#include <gdcmTrace.h>
#include <itkGDCMImageIO.h>
#include <itkMetaDataObject.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
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

// A walk over a DICOM Part 10 file's data elements that checks each one lies whole inside
// the file, before GDCM sees it: Debian's GDCM aborts the process on some cut files (a
// failed assertion) and reads others with their voxels silently short, and a volume being
// written is a cut file until it is complete.
class WholeFileCheck {
 public:
  WholeFileCheck(const std::string& path, const std::string& bytes) : path_(path), b_(bytes) {}

  void run() {
    if (b_.size() < 132 || b_.compare(128, 4, "DICM") != 0)
      throw InputError(path_, "not a DICOM file (no \"DICM\" at byte 128), or cut short");
    std::size_t at = 132;
    std::string syntax;
    while (at + 8 <= b_.size() && u16(at) == 0x0002) at = element(at, true, 0, &syntax);
    if (syntax == "1.2.840.10008.1.2.2" || syntax == "1.2.840.10008.1.2.1.99")
      throw InputError(path_,
                       "transfer syntax " + syntax + " (big endian or deflated) is not read");
    explicit_ = syntax != "1.2.840.10008.1.2";
    at = elements(at, 0);
    if (!pixel_data_) throw InputError(path_, cut_at(at) + "; no pixel data");
  }

 private:
  unsigned u16(std::size_t at) const {
    return static_cast<unsigned char>(b_[at]) | static_cast<unsigned char>(b_[at + 1]) << 8;
  }
  std::uint32_t u32(std::size_t at) const { return u16(at) | std::uint32_t{u16(at + 2)} << 16; }
  std::string cut_at(std::size_t at) const {
    return "cut short (" + std::to_string(b_.size()) + " bytes; an element at byte " +
           std::to_string(at) + " runs past the end)";
  }
  void need(std::size_t at, std::uint64_t n) const {
    if (at + n > b_.size()) throw InputError(path_, cut_at(at));
  }

  // Elements until the end of the file (depth 0) or an item's delimiter; returns where the
  // walk stopped.
  std::size_t elements(std::size_t at, int depth) {
    while (at < b_.size()) {
      need(at, 8);
      if (u16(at) == 0xFFFE) return at;  // a delimiter: the caller's
      at = element(at, explicit_, depth, nullptr);
    }
    return at;
  }

  // One element, its nested items walked; returns the byte after it.
  std::size_t element(std::size_t at, bool explicit_vr, int depth, std::string* syntax) {
    need(at, 8);
    const unsigned group = u16(at), elem = u16(at + 2);
    std::uint64_t length = u32(at + 4);
    std::size_t body = at + 8;
    if (explicit_vr) {
      const std::string vr = b_.substr(at + 4, 2);
      static const char* const long_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                             "SV", "UC", "UN", "UR", "UT", "UV"};
      if (std::find(std::begin(long_vrs), std::end(long_vrs), vr) != std::end(long_vrs)) {
        need(at, 12);
        length = u32(at + 8);
        body = at + 12;
      } else {
        length = u16(at + 6);
      }
    }
    if (depth == 0 && group == 0x7FE0 && elem == 0x0010) pixel_data_ = true;
    if (length == 0xFFFFFFFFu) return items(body, depth + 1);
    need(body, length);
    if (syntax && group == 0x0002 && elem == 0x0010) {
      *syntax = b_.substr(body, length);
      syntax->erase(syntax->find_last_not_of(std::string(" \0", 2)) + 1);
    }
    return body + length;
  }

  // The items of a sequence (or the fragments of encapsulated pixel data) of undefined
  // length, up to and past its delimiter.
  std::size_t items(std::size_t at, int depth) {
    if (depth > 16) throw InputError(path_, "sequences nested too deep");
    for (;;) {
      need(at, 8);
      const unsigned group = u16(at), elem = u16(at + 2);
      const std::uint32_t length = u32(at + 4);
      if (group != 0xFFFE) throw InputError(path_, "a sequence without its delimiter");
      if (elem == 0xE0DD) return at + 8;
      if (length != 0xFFFFFFFFu) {
        need(at + 8, length);
        at += 8 + length;
        continue;
      }
      at = elements(at + 8, depth);  // an item of undefined length, up to its delimiter
      need(at, 8);
      if (u16(at + 2) != 0xE00D) throw InputError(path_, "an item without its delimiter");
      at += 8;
    }
  }

  const std::string& path_;
  const std::string& b_;
  bool explicit_ = true, pixel_data_ = false;
};

void check_whole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot be opened");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  WholeFileCheck(path, bytes).run();
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
  check_whole(path);
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
