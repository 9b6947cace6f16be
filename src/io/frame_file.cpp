#include "realign/io/frame_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>

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

namespace {

std::string directory_of(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace

// The stream a file made by inflate_on_demand() is still inflating. `ready` frames are in
// the scratch file; the lock is held while more are inflated, so frames go in in order.
struct FrameFile::Inflater {
  FrameStream stream;
  std::string scratch_dir;  // names the scratch file in a write error
  int fd = -1;              // its own copy of the scratch file's descriptor, for writing
  std::mutex lock;
  std::atomic<int> ready{0};
  std::exception_ptr failed;  // what inflating threw: thrown again to every later reader
  bool finished = false;
  Watcher seen;
  std::vector<char> stored;
  std::vector<float> values;

  Inflater(const std::string& gz_path, int scratch_fd, const std::string& path)
      : stream(gz_path), scratch_dir(directory_of(path)), fd(::dup(scratch_fd)) {
    if (fd < 0)
      throw OutputError(scratch_dir,
                        std::string("cannot hold the input's voxels: ") + std::strerror(errno));
    stored.resize(stream.frame_bytes());
  }
  ~Inflater() { ::close(fd); }

  // `step` under the lock, unless an earlier step failed; a failure is kept and thrown again
  // to every later caller, whichever thread it is.
  template <class Step>
  void locked(Step&& step) {
    std::lock_guard<std::mutex> hold(lock);
    if (failed) std::rethrow_exception(failed);
    try {
      step();
    } catch (...) {
      failed = std::current_exception();
      throw;
    }
  }

  // One more frame, from the stream into the scratch file (and to the watcher). Locked.
  void inflate_next() {
    stream.next(stored.data());
    write_frame_bytes(fd, stored.data(), stored.size(), scratch_dir);
    const int f = ready.load(std::memory_order_relaxed);
    if (seen) tell(f, stored.data());
    ready.store(f + 1, std::memory_order_release);
  }
  void tell(int f, const char* frame) {
    values.resize(stream.info().grid.voxels());
    const std::size_t nonfinite = decode_frame(stream.info(), frame, values.data());
    seen(f, values.data(), nonfinite);
  }
};

std::unique_ptr<FrameFile> FrameFile::inflate_on_demand(const std::string& gz_path,
                                                        const NiftiInfo& info, int scratch_fd,
                                                        const std::string& scratch_path) {
  auto inflater = std::make_unique<Inflater>(gz_path, scratch_fd, scratch_path);
  // The scratch file holds this machine's byte order from its first byte.
  auto file = std::make_unique<FrameFile>(scratch_path, info, 0, false, gz_path);
  file->inflater_ = std::move(inflater);
  return file;
}

FrameFile::~FrameFile() {
  if (fd_ >= 0) ::close(fd_);
}

void FrameFile::reach(int frames) const {
  Inflater& in = *inflater_;
  if (in.ready.load(std::memory_order_acquire) >= frames) return;
  in.locked([&] {
    while (in.ready.load(std::memory_order_relaxed) < frames) in.inflate_next();
  });
}

void FrameFile::watch(Watcher seen) const {
  Inflater& in = *inflater_;
  std::lock_guard<std::mutex> hold(in.lock);
  in.seen = std::move(seen);
  const int ready = in.ready.load(std::memory_order_relaxed);
  std::vector<char> stored(frame_bytes_);
  for (int f = 0; f < ready; ++f) {
    pread_frame(f, stored.data());
    in.tell(f, stored.data());
  }
}

void FrameFile::finish() const {
  if (!inflater_) return;
  reach(info_.frames);
  Inflater& in = *inflater_;
  in.locked([&] {
    if (in.finished) return;
    in.stream.finish();
    in.finished = true;
  });
}

std::size_t FrameFile::read(int f, float* out) const {
  if (f < 0 || f >= info_.frames)
    throw std::out_of_range("FrameFile::read: frame " + std::to_string(f) + " of " +
                            std::to_string(info_.frames));
  if (inflater_) reach(f + 1);
  // The stored frame in a buffer of the calling thread's: threads read frames at once.
  thread_local std::vector<char> raw;
  raw.resize(frame_bytes_);
  pread_frame(f, raw.data());
  if (swapped_) {
    const int b = info_.bytes_per_voxel;
    for (std::size_t i = 0; i < raw.size(); i += b) std::reverse(&raw[i], &raw[i] + b);
  }
  return decode_frame(info_, raw.data(), out);
}

void FrameFile::pread_frame(int f, char* stored) const {
  std::size_t done = 0;
  const off_t at = static_cast<off_t>(offset_ + static_cast<std::uint64_t>(f) * frame_bytes_);
  while (done < frame_bytes_) {
    const ssize_t n = ::pread(fd_, stored + done, frame_bytes_ - done, at + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InputError(name_, "read failed (the file shrank while being read?)");
    done += static_cast<std::size_t>(n);
  }
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
