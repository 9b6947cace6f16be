#include "realign/io/frame_stream.hpp"

#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "realign/io/errors.hpp"

namespace realign {

// ISA-L's inflate state and the compressed bytes read from the file but not yet inflated.
// Each member's gzip header is read here, into a record that lasts as long as the member:
// isal_inflate (ISA-L 2.30) would read it into a record of its own on every call, and so
// loses the header's flags when a header is split between two reads of the file.
struct FrameStream::Gzip {
  inflate_state state;
  isal_gzip_header header;
  std::vector<std::uint8_t> in = std::vector<std::uint8_t>(kReadBytes);
  bool in_member = false;  // a member has begun and not yet ended

  Gzip() {
    isal_inflate_init(&state);
    next_member();
  }
  // Keeps the input not yet inflated: it is the next member's.
  void next_member() {
    isal_inflate_reset(&state);
    state.crc_flag = ISAL_GZIP;  // CRC and length of each member checked at its end
    isal_gzip_header_init(&header);
    header.flags = 0;  // 2.30's isal_gzip_header_init leaves it unset
    in_member = false;
  }
};

FrameStream::FrameStream(const std::string& path)
    : info_(read_nifti_header(path)), path_(path), file_(path, std::ios::binary) {
  if (!file_) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  frame_bytes_ = info_.grid.voxels() * static_cast<std::size_t>(info_.bytes_per_voxel);
  if (!info_.gzip) {
    file_.seekg(static_cast<std::streamoff>(info_.vox_offset));
    return;
  }
  gz_ = std::make_unique<Gzip>();
  std::vector<char> header(info_.vox_offset);  // inflated and passed over
  inflate_into(header.data(), header.size());
}

FrameStream::~FrameStream() = default;

void FrameStream::read_plain(char* out, std::size_t n) {
  if (!file_.read(out, static_cast<std::streamsize>(n)))
    throw InputError(path_, "read failed (the file shrank while being read?)");
}

bool FrameStream::inflate_some() {
  Gzip& g = *gz_;
  inflate_state& s = g.state;
  if (s.block_state == ISAL_BLOCK_FINISH) g.next_member();  // realign writes many
  if (s.avail_in == 0) {
    file_.read(reinterpret_cast<char*>(g.in.data()), static_cast<std::streamsize>(g.in.size()));
    s.next_in = g.in.data();
    s.avail_in = static_cast<std::uint32_t>(file_.gcount());
    if (s.avail_in == 0) return false;
  }
  g.in_member = true;
  if (!s.wrapper_flag && isal_read_gzip_header(&s, &g.header) < 0)
    throw InputError(path_, "corrupt gzip data (not a gzip member header)");
  // Without the whole header yet, ISA-L would read it again its own way: more input first.
  if (!s.wrapper_flag) return true;
  if (isal_inflate(&s) != ISAL_DECOMP_OK) throw InputError(path_, "corrupt or truncated gzip data");
  if (s.block_state == ISAL_BLOCK_FINISH) g.in_member = false;
  return true;
}

void FrameStream::inflate_into(char* out, std::size_t n) {
  inflate_state& s = gz_->state;
  while (n > 0) {
    const std::size_t part = std::min<std::size_t>(n, 1u << 30);  // avail_out has 32 bits
    s.next_out = reinterpret_cast<std::uint8_t*>(out);
    s.avail_out = static_cast<std::uint32_t>(part);
    while (s.avail_out > 0)
      if (!inflate_some())
        throw InputError(path_, "truncated: the gzip data ends before the header's last frame");
    out += part;
    n -= part;
  }
}

void FrameStream::next(char* out) {
  if (next_frame_ >= info_.frames)
    throw std::out_of_range("FrameStream::next: no frame left in " + path_);
  if (gz_)
    inflate_into(out, frame_bytes_);
  else
    read_plain(out, frame_bytes_);
  ++next_frame_;
  if (info_.swapped) {
    const int b = info_.bytes_per_voxel;
    for (std::size_t i = 0; i < frame_bytes_; i += b) std::reverse(out + i, out + i + b);
  }
}

void FrameStream::finish() {
  if (!gz_) return;
  constexpr std::size_t kTrailingBytes = 1 << 16;  // as SeriesFile allows
  std::vector<char> rest(kTrailingBytes);
  inflate_state& s = gz_->state;
  s.next_out = reinterpret_cast<std::uint8_t*>(rest.data());
  s.avail_out = static_cast<std::uint32_t>(rest.size());
  while (inflate_some())
    if (s.avail_out == 0 && gz_->in_member)
      throw InputError(path_, "gzip data inflates to more than the " +
                                  std::to_string(info_.image_bytes()) +
                                  " bytes the header promises");
  // The file ended: cleanly only where a member did.
  if (gz_->in_member) throw InputError(path_, "corrupt or truncated gzip data");
}

}  // namespace realign
