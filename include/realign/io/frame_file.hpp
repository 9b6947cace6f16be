// A series read one frame at a time, on demand, from uncompressed voxels on disk: a .nii
// itself, or a .nii.gz inflated once into a scratch file. Frames come back from the
// page cache rather than from this process's memory, so every rank can read the frames it
// needs, as often as it needs them, and hold none of them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "realign/io/nifti_header.hpp"

namespace realign {

class FrameFile {
 public:
  // `path` holds the voxels of `info` from byte `offset` on, in the other byte order when
  // `swapped`; `name` is the input as the user knows it, for messages. Throws InputError.
  FrameFile(const std::string& path, const NiftiInfo& info, std::uint64_t offset, bool swapped,
            const std::string& name);
  // The voxels of the .nii.gz `gz_path` (header `info`), inflated into the scratch file open
  // as `scratch_fd` at `scratch_path` only as far as reads need them: the thread that first
  // asks for a frame beyond those inflated inflates up to it, frames in order, while any
  // other thread that needs one of them waits. One process then reads, and checks, the
  // stream while its threads already fit the first frames; finish() inflates it whole at
  // once (rank 0 before the other ranks open the scratch file). Throws InputError (the
  // header), OutputError (the scratch file).
  static std::unique_ptr<FrameFile> inflate_on_demand(const std::string& gz_path,
                                                      const NiftiInfo& info, int scratch_fd,
                                                      const std::string& scratch_path);
  ~FrameFile();
  FrameFile(const FrameFile&) = delete;
  FrameFile& operator=(const FrameFile&) = delete;

  const NiftiInfo& info() const { return info_; }
  const Grid& grid() const { return info_.grid; }
  int frames() const { return info_.frames; }
  // Frame f as float, exactly as SeriesFile::read_frames decodes it; returns how many
  // NaN/Inf voxels became 0. Safe to call from several threads at once.
  // A read of a frame the stream cannot give (corrupt, cut short, a full disk for the
  // scratch file) throws what inflating it threw, on every thread that asks.
  std::size_t read(int f, float* out) const;

  // Frames seen as they are inflated: `seen(f, values, nonfinite)` once for every frame, in
  // frame order, with what read() gives: at once for the frames inflated so far, then for
  // each as it comes (on the thread that inflates it). Only for a file made by inflate_on_demand().
  using Watcher = std::function<void(int f, const float* values, std::size_t nonfinite)>;
  void watch(Watcher seen) const;
  bool inflates() const { return inflater_ != nullptr; }
  // Inflates every frame not yet inflated and checks the stream's end (each member's CRC
  // and length, no more than a few trailing bytes, as FrameStream::finish checks them):
  // then any process may read the scratch file. Throws InputError; nothing to do for any
  // other file.
  void finish() const;

 private:
  struct Inflater;
  void reach(int frames) const;                 // inflated at least `frames` frames
  void pread_frame(int f, char* stored) const;  // as the file stores it

  NiftiInfo info_;
  std::string name_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;
  bool swapped_ = false;
  std::size_t frame_bytes_ = 0;  // one stored frame
  std::unique_ptr<Inflater> inflater_;
};

// Writes n bytes to the open file fd, all of them, or throws OutputError naming fd_name
// (a full disk, say): what a scratch file of frames is filled with.
void write_frame_bytes(int fd, const char* bytes, std::size_t n, const std::string& fd_name);

}  // namespace realign
