#include "realign/io/dicom_tags.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <vector>

#include "realign/io/errors.hpp"

namespace realign {
namespace {

constexpr std::uint32_t tag(unsigned group, unsigned element) {
  return static_cast<std::uint32_t>(group) << 16 | element;
}

// Text values are padded to an even length with spaces (NUL for UIDs).
std::string trimmed(std::string s) {
  s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
  const char* pad = " \t\r\n";
  const auto first = s.find_first_not_of(pad);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(pad) + 1 - first);
}

// The numbers of a decimal or integer string value (DS, IS), separated by backslashes;
// empty when any of them is not a finite number.
std::vector<double> numbers_of(const std::string& text) {
  std::vector<double> out;
  std::size_t from = 0;
  for (;;) {
    const std::size_t to = std::min(text.find('\\', from), text.size());
    const std::string one = trimmed(text.substr(from, to - from));
    if (one.empty()) return {};
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(one.c_str(), &end);
    if (end != one.c_str() + one.size() || errno == ERANGE || !std::isfinite(v)) return {};
    out.push_back(v);
    if (to == text.size()) return out;
    from = to + 1;
  }
}

template <std::size_t N>
std::optional<std::array<double, N>> fixed(const std::string& text) {
  const std::vector<double> v = numbers_of(text);
  if (v.size() != N) return std::nullopt;
  std::array<double, N> out{};
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

// An integer string (IS) within what a long holds on every platform.
std::optional<long> integer_of(const std::string& text) {
  const std::vector<double> v = numbers_of(text);
  if (v.size() != 1 || v[0] != std::floor(v[0]) || std::fabs(v[0]) > 2147483647.0)
    return std::nullopt;
  return static_cast<long>(v[0]);
}

double positive_or_zero(const std::string& text) {
  const std::vector<double> v = numbers_of(text);
  return v.size() == 1 && v[0] > 0 ? v[0] : 0.0;
}

// The walk: every element checked to lie whole inside the file, nested sequences and
// encapsulated fragments included, the values realign needs kept from the top level.
class Walk {
 public:
  Walk(const std::string& name, const char* bytes, std::size_t size)
      : name_(name), b_(bytes), size_(size) {}

  DicomTags run() {
    if (size_ < 132)
      throw InputError(name_, "cut short (" + std::to_string(size_) +
                                  " bytes, not yet past the DICOM preamble)");
    if (std::string(b_ + 128, 4) != "DICM")
      throw RefusedInput(name_, "not a DICOM file (no \"DICM\" at byte 128)");
    std::size_t at = 132;
    while (at + 8 <= size_ && u16(at) == 0x0002) at = element(at, true, 0);
    const std::string& syntax = out_.transfer_syntax;
    if (syntax == "1.2.840.10008.1.2.2" || syntax == "1.2.840.10008.1.2.1.99")
      throw RefusedInput(name_,
                         "transfer syntax " + syntax + " (big endian or deflated) is not read");
    explicit_ = syntax != "1.2.840.10008.1.2";
    at = elements(at, 0);
    if (!pixel_data_) throw InputError(name_, cut_at(at) + "; no pixel data yet");
    return out_;
  }

 private:
  unsigned u16(std::size_t at) const {
    return static_cast<unsigned char>(b_[at]) | static_cast<unsigned char>(b_[at + 1]) << 8;
  }
  std::uint32_t u32(std::size_t at) const { return u16(at) | std::uint32_t{u16(at + 2)} << 16; }
  std::string cut_at(std::size_t at) const {
    return "cut short (" + std::to_string(size_) + " bytes; an element at byte " +
           std::to_string(at) + " runs past the end)";
  }
  // n more bytes from `at` are in the file; a file that ends sooner is cut (or still being
  // written): an InputError, not a refusal.
  void need(std::size_t at, std::uint64_t n) const {
    if (at > size_ || n > size_ - at) throw InputError(name_, cut_at(at));
  }

  // Elements until the end of the file (depth 0) or an item's delimiter; returns where the
  // walk stopped.
  std::size_t elements(std::size_t at, int depth) {
    while (at < size_) {
      need(at, 8);
      if (u16(at) == 0xFFFE) return at;  // a delimiter: the caller's
      at = element(at, explicit_, depth);
    }
    return at;
  }

  // One element, its nested items walked; returns the byte after it.
  std::size_t element(std::size_t at, bool explicit_vr, int depth) {
    need(at, 8);
    const unsigned group = u16(at), elem = u16(at + 2);
    std::uint64_t length = u32(at + 4);
    std::size_t body = at + 8;
    if (explicit_vr) {
      const std::string vr(b_ + at + 4, 2);
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
    const bool pixels = depth == 0 && group == 0x7FE0 && elem == 0x0010;
    if (pixels) pixel_data_ = true;
    if (length == 0xFFFFFFFFu) {
      if (pixels) out_.encapsulated = true;
      return items(body, depth + 1);
    }
    need(body, length);
    if (pixels) out_.pixel_bytes = length;
    if (depth == 0) keep(tag(group, elem), body, static_cast<std::size_t>(length));
    return body + length;
  }

  // The items of a sequence (or the fragments of encapsulated pixel data) of undefined
  // length, up to and past its delimiter.
  std::size_t items(std::size_t at, int depth) {
    if (depth > 16) throw RefusedInput(name_, "sequences nested too deep");
    for (;;) {
      need(at, 8);
      const unsigned group = u16(at), elem = u16(at + 2);
      const std::uint32_t length = u32(at + 4);
      if (group != 0xFFFE) throw RefusedInput(name_, "a sequence without its delimiter");
      if (elem == 0xE0DD) return at + 8;
      if (length != 0xFFFFFFFFu) {
        need(at + 8, length);
        at += 8 + length;
        continue;
      }
      at = elements(at + 8, depth);  // an item of undefined length, up to its delimiter
      need(at, 8);
      if (u16(at + 2) != 0xE00D) throw RefusedInput(name_, "an item without its delimiter");
      at += 8;
    }
  }

  // A top-level value realign reads. Numbers that are not of their form stay unset.
  void keep(std::uint32_t t, std::size_t body, std::size_t length) {
    const auto text = [&] { return trimmed(std::string(b_ + body, length)); };
    const auto us = [&] { return length == 2 ? static_cast<int>(u16(body)) : 0; };
    switch (t) {
      case tag(0x0002, 0x0010):
        out_.transfer_syntax = text();
        break;
      case tag(0x0008, 0x0008):
        out_.image_type = text();
        break;
      case tag(0x0020, 0x000E):
        out_.series_uid = text();
        break;
      case tag(0x0028, 0x0010):
        out_.rows = us();
        break;
      case tag(0x0028, 0x0011):
        out_.columns = us();
        break;
      case tag(0x0028, 0x0100):
        out_.bits_allocated = us();
        break;
      case tag(0x0028, 0x0002):
        out_.samples_per_pixel = us();
        break;
      case tag(0x0028, 0x0008):
        out_.frames = integer_of(text()).value_or(0);
        break;
      case tag(0x0020, 0x0013):
        out_.instance = integer_of(text());
        break;
      case tag(0x0020, 0x0012):
        out_.acquisition = integer_of(text());
        break;
      case tag(0x0020, 0x1002):
        out_.images_in_acquisition = integer_of(text());
        break;
      case tag(0x0020, 0x0032):
        out_.position = fixed<3>(text());
        break;
      case tag(0x0020, 0x0037):
        out_.orientation = fixed<6>(text());
        break;
      case tag(0x0028, 0x0030):
        out_.pixel_spacing = fixed<2>(text());
        break;
      case tag(0x0018, 0x0050):
        out_.slice_thickness = positive_or_zero(text());
        break;
      case tag(0x0018, 0x0088):
        out_.slice_spacing = positive_or_zero(text());
        break;
      case tag(0x0018, 0x0080):
        out_.tr_ms = positive_or_zero(text());
        break;
      default:
        // Siemens' private block: its creator names it, in any of (0029,0010-00FF); the
        // CSA image header is element 0x10 of that block.
        if (t >> 16 == 0x0029 && (t & 0xFFFF) >= 0x10 && (t & 0xFFFF) <= 0xFF &&
            text() == "SIEMENS CSA HEADER")
          csa_block_ = t & 0xFF;
        else if (csa_block_ && t == tag(0x0029, csa_block_ << 8 | 0x10))
          out_.csa_image.assign(b_ + body, length);
    }
  }

  const std::string& name_;
  const char* b_;
  std::size_t size_;
  bool explicit_ = true, pixel_data_ = false;
  unsigned csa_block_ = 0;
  DicomTags out_;
};

}  // namespace

bool DicomTags::mosaic() const { return image_type.find("MOSAIC") != std::string::npos; }

bool DicomTags::native() const {
  static const char* const plain[] = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"};
  return !encapsulated &&
         std::find(std::begin(plain), std::end(plain), transfer_syntax) != std::end(plain);
}

DicomKind dicom_kind(const std::string& path, const DicomTags& t) {
  if (t.samples_per_pixel != 1)
    throw RefusedInput(path, "not a greyscale image (" + std::to_string(t.samples_per_pixel) +
                                 " samples per pixel)");
  if (t.frames < 1) throw RefusedInput(path, "NumberOfFrames (0028,0008) is not a positive number");
  if (t.frames > 1) return DicomKind::Volume;
  // A whole pixel data element that holds less than its image: GDCM would read it short.
  const int bytes_per_pixel = t.bits_allocated / 8;
  if (t.native() && t.bits_allocated % 8 == 0 && bytes_per_pixel > 0) {
    const std::uint64_t need = static_cast<std::uint64_t>(t.rows) *
                               static_cast<std::uint64_t>(t.columns) *
                               static_cast<std::uint64_t>(bytes_per_pixel);
    if (t.pixel_bytes < need)
      throw RefusedInput(path, "pixel data of " + std::to_string(t.pixel_bytes) +
                                   " bytes, less than its " + std::to_string(t.columns) + "x" +
                                   std::to_string(t.rows) + " image needs");
  }
  return t.mosaic() ? DicomKind::Mosaic : DicomKind::Slice;
}

DicomTags read_dicom_tags(const std::string& name, const char* bytes, std::size_t size) {
  return Walk(name, bytes, size).run();
}

}  // namespace realign
