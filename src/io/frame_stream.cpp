#include "realign/io/frame_stream.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "realign/io/errors.hpp"

namespace realign {

// zlib's stream state and the compressed bytes read from the file but not yet inflated.
struct FrameStream::Gzip {
  z_stream z{};
  std::vector<unsigned char> in = std::vector<unsigned char>(1 << 18);
  bool ended = false;  // a member ended and no more input was there to start another
  ~Gzip() { inflateEnd(&z); }
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
  // 16 + MAX_WBITS: gzip wrapping, CRC and length checked at the end of each member.
  if (inflateInit2(&gz_->z, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  std::vector<char> header(info_.vox_offset);  // inflated and passed over
  inflate_into(header.data(), header.size());
}

FrameStream::~FrameStream() = default;

void FrameStream::read_plain(char* out, std::size_t n) {
  if (!file_.read(out, static_cast<std::streamsize>(n)))
    throw InputError(path_, "read failed (the file shrank while being read?)");
}

void FrameStream::inflate_into(char* out, std::size_t n) {
  z_stream& z = gz_->z;
  z.next_out = reinterpret_cast<Bytef*>(out);
  z.avail_out = static_cast<uInt>(n);
  while (z.avail_out > 0) {
    if (z.avail_in == 0) {
      file_.read(reinterpret_cast<char*>(gz_->in.data()),
                 static_cast<std::streamsize>(gz_->in.size()));
      z.next_in = gz_->in.data();
      z.avail_in = static_cast<uInt>(file_.gcount());
      if (z.avail_in == 0)
        throw InputError(path_, "truncated: the gzip data ends before the header's last frame");
    }
    const int r = inflate(&z, Z_NO_FLUSH);
    if (r == Z_STREAM_END) {
      // Another member may follow (realign writes one per frame).
      if (inflateReset(&z) != Z_OK) throw std::bad_alloc();
      continue;
    }
    if (r != Z_OK) throw InputError(path_, "corrupt or truncated gzip data");
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
  z_stream& z = gz_->z;
  z.next_out = reinterpret_cast<Bytef*>(rest.data());
  z.avail_out = static_cast<uInt>(rest.size());
  for (;;) {
    if (z.avail_in == 0) {
      file_.read(reinterpret_cast<char*>(gz_->in.data()),
                 static_cast<std::streamsize>(gz_->in.size()));
      z.next_in = gz_->in.data();
      z.avail_in = static_cast<uInt>(file_.gcount());
      // total_in is 0 right after a member ended: the stream ends cleanly there.
      if (z.avail_in == 0 && z.total_in == 0) return;
      if (z.avail_in == 0) throw InputError(path_, "corrupt or truncated gzip data");
    }
    const int r = inflate(&z, Z_NO_FLUSH);
    if (r == Z_STREAM_END) {
      if (inflateReset(&z) != Z_OK) throw std::bad_alloc();
      continue;
    }
    if (z.avail_out == 0)
      throw InputError(path_, "gzip data inflates to more than the " +
                                  std::to_string(info_.image_bytes()) +
                                  " bytes the header promises");
    if (r != Z_OK) throw InputError(path_, "corrupt or truncated gzip data");
  }
}

}  // namespace realign
