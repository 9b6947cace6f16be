// NIfTI-1 input and output. The header is checked first (nifti_header.hpp); the voxels
// are decoded here (every datatype, either byte order, scaling applied), because ITK's
// reader silently zeroes NaNs and accepts truncated or corrupt gzip streams, and
// libdeflate inflates faster. Tests hold the result against ITK's own
// NiftiImageIO. The raw header is kept so that outputs carry the input's geometry,
// timing and labels.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "realign/core/volume.hpp"
#include "realign/io/errors.hpp"
#include "realign/io/nifti_header.hpp"

namespace realign {

enum class OutputType { Float32, Input };

// An opened NIfTI file: header checked before anything else is read (see
// nifti_header.hpp), voxel bytes in memory (inflated, never beyond what the header
// promises), converted to float frame by frame on request, so that a reader can hand
// frames out without ever holding the whole series twice.
class SeriesFile {
 public:
  explicit SeriesFile(const std::string& path);  // throws InputError
  // The same for a file already in memory, as stored (gzip or not); `name` is used in
  // messages. This is the path the fuzz target drives.
  SeriesFile(const std::string& name, std::vector<char> stored);
  ~SeriesFile();
  SeriesFile(const SeriesFile&) = delete;
  SeriesFile& operator=(const SeriesFile&) = delete;

  const NiftiInfo& info() const { return info_; }
  const Grid& grid() const { return info_.grid; }
  int frames() const { return info_.frames; }
  double tr_s() const { return info_.tr_s; }
  const NiftiHeader& header() const { return info_.header; }
  // Frames [begin, end) as float, scaling applied; NaN/Inf become 0 and are counted in
  // the return value.
  std::size_t read_frames(int begin, int end, float* out) const;

 private:
  NiftiInfo info_;
  std::string path_;
  std::vector<char> stored_;       // an uncompressed file's bytes, when given in memory
  std::unique_ptr<char[]> owned_;  // voxel bytes read or inflated here
  const char* voxels_ = nullptr;   // the first voxel byte
};

// Reads a 4D series (a 3D file gives frames == 1). NaN and Inf voxels become 0 and are
// counted in nonfinite_voxels. Throws InputError.
Series read_series(const std::string& path, NiftiHeader* header = nullptr);

// Reads a 3D volume (a 4D file must have one frame). Throws InputError.
Volume read_volume(const std::string& path, NiftiHeader* header = nullptr);

// A fresh header for a new image (the phantom tool): sform = qform = grid.vox2world,
// codes 1 (scanner), units mm and s.
NiftiHeader make_header(const Grid& grid, int frames, double tr_s, int datatype);

// `like` (geometry, timing, labels kept) storing its voxels as `datatype`, unscaled: an
// image derived from a series that is not of its kind (a mask as uint8).
NiftiHeader with_datatype(const NiftiHeader& like, int datatype);

// How frames are stored in an output file: plain numbers, so rank 0 can tell every rank
// and each can encode its own frames.
struct FrameFormat {
  int datatype = 16;  // NIfTI code
  int bytes_per_voxel = 4;
  float slope = 1.0f, inter = 0.0f;  // stored = (value - inter) / slope
  bool gzip = false;                 // gzip members of its own for each frame
  // Frames are stored as the floats they are (float32, no compression): nothing to encode.
  bool plain_floats() const { return datatype == 16 && !gzip; }
};
FrameFormat frame_format(const NiftiHeader& like, OutputType type, const std::string& path);

// Turns float frames into the bytes a file of `format` holds for them; `format` comes from
// frame_format, which refuses datatypes that cannot be written.
class FrameEncoder {
 public:
  FrameEncoder(const FrameFormat& format, std::size_t voxels);
  ~FrameEncoder();
  FrameEncoder(const FrameEncoder&) = delete;
  FrameEncoder& operator=(const FrameEncoder&) = delete;
  // The encoded frame; valid until the next call.
  const std::vector<char>& encode(const float* frame);
  // Raw bytes as they are (or as gzip members, compressed by the OpenMP threads).
  const std::vector<char>& pack(const void* data, std::size_t size);

 private:
  FrameFormat format_;
  std::size_t voxels_;
  struct Compressor;
  std::vector<std::unique_ptr<Compressor>> compressors_;  // one per thread
  std::vector<std::vector<char>> parts_;
  std::vector<char> raw_, packed_;
};

// Streams frames into a NIfTI-1 file (gzip when the name ends in .gz) with `like`'s
// header: geometry, codes, pixdim (TR), units, slice info and descrip are kept.
// Float32 writes floats (NaN allowed); Input converts to the header's datatype with
// rounding and clamping (NaN -> 0). Writes exactly the path it is given: callers that
// must leave nothing behind on failure write to a temporary name (see OutputSet).
class NiftiWriter {
 public:
  NiftiWriter(const std::string& path, const NiftiHeader& like, const Grid& grid, int frames,
              OutputType type, const std::string& descrip = "");
  ~NiftiWriter();
  NiftiWriter(const NiftiWriter&) = delete;
  NiftiWriter& operator=(const NiftiWriter&) = delete;
  void write_frame(const float* frame);  // grid.voxels() values
  // A frame another rank encoded with this writer's format.
  void write_encoded(const std::vector<char>& bytes);
  void close();  // throws if the data did not reach the file

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// All frames at once (frames == 1 writes a 3D image).
void write_image(const std::string& path, const NiftiHeader& like, const Grid& grid, int frames,
                 const float* data, OutputType type, const std::string& descrip = "");

// The stem of an image path and its extension: "dir/out.nii.gz" -> ("dir/out", ".nii.gz");
// ("path", "") when it is neither .nii nor .nii.gz. The extension is matched in any case and
// returned as written ("OUT.NII.GZ" -> ("OUT", ".NII.GZ")).
std::pair<std::string, std::string> split_image_path(const std::string& path);

// NIfTI datatype code from a name: uint8 int16 uint16 int32 float32 float64 (the phantom
// tool's choices). Throws std::invalid_argument for any other.
int datatype_from_name(const std::string& name);

}  // namespace realign
