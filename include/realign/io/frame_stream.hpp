// A series read frame by frame, in order, without ever holding the file: what rank 0
// hands out to the ranks. A .nii is read a frame at a time; a .nii.gz is inflated as a
// stream (ISA-L checks every member's CRC and length), so rank 0's memory does not grow
// with the run.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "realign/io/nifti_header.hpp"

namespace realign {

class FrameStream {
 public:
  // A .nii.gz is read this many bytes at a time.
  static constexpr std::size_t kReadBytes = 1 << 18;

  explicit FrameStream(const std::string& path);  // checks the header; throws InputError
  ~FrameStream();
  FrameStream(const FrameStream&) = delete;
  FrameStream& operator=(const FrameStream&) = delete;

  const NiftiInfo& info() const { return info_; }
  // Bytes of one frame as stored: voxels times the input's bytes per voxel.
  std::size_t frame_bytes() const { return frame_bytes_; }
  // The next frame's stored values in this machine's byte order, unscaled. Throws
  // InputError naming the file when it ends early or its gzip data is corrupt.
  void next(char* out);
  int position() const { return next_frame_; }
  // After the last frame: inflates what is left of a .nii.gz, so that every member's CRC
  // and length are checked, and refuses more than a few trailing bytes (a bomb) or a cut
  // stream, as SeriesFile does. Nothing to do for a .nii.
  void finish();

 private:
  void read_plain(char* out, std::size_t n);
  void inflate_into(char* out, std::size_t n);
  // Inflates the input at hand, reading more when none is left, into where the inflate
  // state's output points; false when the file has ended.
  bool inflate_some();

  NiftiInfo info_;
  std::string path_;
  std::ifstream file_;
  std::size_t frame_bytes_ = 0;
  int next_frame_ = 0;
  struct Gzip;
  std::unique_ptr<Gzip> gz_;
};

// A frame's stored values (this machine's byte order) as float: the header's scaling
// applied, NaN and Inf made 0 and counted in the return value, exactly as
// SeriesFile::read_frames decodes them.
std::size_t decode_frame(const NiftiInfo& info, const char* stored, float* out);

}  // namespace realign
