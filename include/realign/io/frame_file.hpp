// A series read one frame at a time, on demand, from uncompressed voxels on disk: a .nii
// itself, or a .nii.gz inflated once into a scratch file. Frames come back from the
// page cache rather than from this process's memory, so every rank can read the frames it
// needs, as often as it needs them, and hold none of them.
#pragma once

#include <cstdint>
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
  ~FrameFile();
  FrameFile(const FrameFile&) = delete;
  FrameFile& operator=(const FrameFile&) = delete;

  const NiftiInfo& info() const { return info_; }
  const Grid& grid() const { return info_.grid; }
  int frames() const { return info_.frames; }
  // Frame f as float, exactly as SeriesFile::read_frames decodes it; returns how many
  // NaN/Inf voxels became 0. Safe to call from several threads at once.
  std::size_t read(int f, float* out) const;

 private:
  NiftiInfo info_;
  std::string name_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;
  bool swapped_ = false;
  std::size_t frame_bytes_ = 0;  // one stored frame
};

// Inflates the voxels of the .nii.gz `gz_path` (header first checked, then every frame
// and the stream's end, as FrameStream checks them) into the open file `fd`, frame after
// frame in this machine's byte order. `fd_name` names fd in a write error.
void inflate_voxels(const std::string& gz_path, int fd, const std::string& fd_name);

// Writes n bytes to the open file fd, all of them, or throws OutputError naming fd_name
// (a full disk, say): what a scratch file of frames is filled with.
void write_frame_bytes(int fd, const char* bytes, std::size_t n, const std::string& fd_name);

}  // namespace realign
