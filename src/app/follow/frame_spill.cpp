#include "realign/app/follow/frame_spill.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "realign/io/errors.hpp"

namespace realign {
namespace {

// Whole buffers through write/pread, which may move fewer bytes than asked.
void write_all(int fd, const char* p, std::size_t n, const std::string& where) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw OutputError(where, std::string("cannot keep the volumes: ") + std::strerror(errno));
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

FrameSpill::FrameSpill(const std::string& dir, std::size_t voxels) : dir_(dir), voxels_(voxels) {
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) {  // a file system without O_TMPFILE: a named file, unlinked at once
    std::string name = dir + "/.realign-follow-XXXXXX";
    fd_ = mkstemp(name.data());
    if (fd_ >= 0) unlink(name.c_str());
  }
  if (fd_ < 0)
    throw OutputError(
        dir, std::string("cannot create a file to keep the volumes in: ") + std::strerror(errno));
}

FrameSpill::~FrameSpill() {
  if (fd_ >= 0) ::close(fd_);
}

void FrameSpill::append(const float* volume) {
  write_all(fd_, reinterpret_cast<const char*>(volume), voxels_ * sizeof(float), dir_);
  ++frames_;
}

std::vector<float> FrameSpill::read_all() const {
  std::vector<float> all(voxels_ * frames_);
  char* p = reinterpret_cast<char*>(all.data());
  std::size_t n = all.size() * sizeof(float), at = 0;
  while (at < n) {
    const ssize_t r = ::pread(fd_, p + at, n - at, static_cast<off_t>(at));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw OutputError(dir_, "cannot read back the volumes kept");
    at += static_cast<std::size_t>(r);
  }
  return all;
}

}  // namespace realign
