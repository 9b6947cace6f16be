#include "realign/io/dicom_io.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <new>
#include <string>

#include "dicom_module.hpp"

namespace realign {
namespace {

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

// Where the module puts what it read: the volume's grid, TR and voxels, which it writes
// straight into the volume's data. Called from the module: nothing may be thrown back.
float* take_header(void* context, const RealignDicomHeader* h) noexcept {
  auto& out = *static_cast<DicomVolume*>(context);
  Grid& g = out.volume.grid;
  for (int axis = 0; axis < 3; ++axis) g.dim[axis] = h->dim[axis];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) g.vox2world(r, c) = h->vox2world[4 * r + c];
  out.tr_s = h->tr_s;
  try {
    out.volume.data.resize(g.voxels());
  } catch (const std::exception&) {  // bad_alloc, or length_error for an absurd size
    return nullptr;
  }
  return out.volume.data.data();
}

}  // namespace

bool has_dicom_preamble(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char head[132];
  return f.read(head, sizeof head) && std::memcmp(head + 128, "DICM", 4) == 0;
}

DicomVolume read_dicom_volume(const std::string& path) {
  // The module first: without it no DICOM file can be read, whatever state this one is in.
  const RealignDicomRead read = dicom_reader(path);
  check_whole(path);
  DicomVolume out;
  char problem[1024] = "";
  if (read(path.c_str(), &take_header, &out, problem, sizeof problem) != 0)
    throw InputError(path, problem);
  return out;
}

}  // namespace realign
