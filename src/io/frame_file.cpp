#include "realign/io/frame_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "realign/io/errors.hpp"
#include "realign/io/frame_stream.hpp"

namespace realign {

FrameFile::FrameFile(const std::string& path, const NiftiInfo& info, std::uint64_t offset,
                     bool swapped, const std::string& name)
    : info_(info),
      name_(name),
      offset_(offset),
      swapped_(swapped),
      frame_bytes_(info.grid.voxels() * static_cast<std::size_t>(info.bytes_per_voxel)) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw InputError(name, std::string("cannot open: ") + std::strerror(errno));
}

FrameFile::~FrameFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t FrameFile::read(int f, float* out) const {
  if (f < 0 || f >= info_.frames)
    throw std::out_of_range("FrameFile::read: frame " + std::to_string(f) + " of " +
                            std::to_string(info_.frames));
  // The stored frame in a buffer of the calling thread's: threads read frames at once.
  thread_local std::vector<char> raw;
  raw.resize(frame_bytes_);
  std::size_t done = 0;
  const off_t at = static_cast<off_t>(offset_ + static_cast<std::uint64_t>(f) * raw.size());
  while (done < raw.size()) {
    const ssize_t n = ::pread(fd_, raw.data() + done, raw.size() - done, at + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InputError(name_, "read failed (the file shrank while being read?)");
    done += static_cast<std::size_t>(n);
  }
  if (swapped_) {
    const int b = info_.bytes_per_voxel;
    for (std::size_t i = 0; i < raw.size(); i += b) std::reverse(&raw[i], &raw[i] + b);
  }
  return decode_frame(info_, raw.data(), out);
}

void inflate_voxels(const std::string& gz_path, int fd, const std::string& fd_name) {
  FrameStream stream(gz_path);
  std::vector<char> frame(stream.frame_bytes());
  for (int f = 0; f < stream.info().frames; ++f) {
    stream.next(frame.data());
    write_frame_bytes(fd, frame.data(), frame.size(), fd_name);
  }
  stream.finish();
}

void write_frame_bytes(int fd, const char* bytes, std::size_t size, const std::string& fd_name) {
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw OutputError(fd_name, std::string("cannot hold the input's voxels: ") +
                                     std::strerror(n < 0 ? errno : ENOSPC));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace realign
