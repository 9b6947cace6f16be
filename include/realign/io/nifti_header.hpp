// Reading and checking a NIfTI-1 single-file header before any voxel is read. Every field
// that sizes an allocation or feeds the geometry is checked here, against the file's real
// size too, so that a lying header or a gzip bomb is refused in microseconds rather than
// discovered by the allocator. The header is read on its own (for .nii.gz only the start
// of the stream is inflated), and the same checks run on bytes already in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "realign/core/volume.hpp"
#include "realign/io/errors.hpp"

namespace realign {

// The input's header, opaque to callers. Copyable (shared, immutable).
struct NiftiHeader {
  std::shared_ptr<const void> raw;  // a nifti_1_header, native byte order
  int datatype = 0;                 // NIfTI datatype code of the input
  std::string datatype_name() const;
};

// Voxel-to-world by the NIfTI rules: sform when sform_code > 0, else qform when
// qform_code > 0, else pixdim scaling. RAS mm, 0-based voxels.
Mat4 header_vox2world(const NiftiHeader& h);

// "int16", "complex64", ... or "code N" for a code NIfTI does not define.
std::string datatype_name(int code);

// A NIfTI-1 header with its 4-byte extension flag; voxels never start before this.
constexpr std::size_t kNiftiHeaderBytes = 352;
// Deflate cannot expand data by more than this factor (a 258-byte match in 2 bits), so a
// gzip file of n bytes never inflates to more than this times n.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

// What a checked header tells a reader. The header copy is in native byte order with
// its "no value" encodings made explicit: no scaling is scl_slope = scl_inter = 0, an
// unusable TR is pixdim[4] = 0, so outputs that copy it never carry NaN.
struct NiftiInfo {
  NiftiHeader header;
  Grid grid;
  int frames = 1;  // dim[4] when dim[0] >= 4, else 1
  int datatype = 0;
  int bytes_per_voxel = 0;
  std::uint64_t vox_offset = 0;    // first voxel byte in the (inflated) file
  std::uint64_t data_bytes = 0;    // voxels * frames * bytes_per_voxel
  std::uint64_t stored_bytes = 0;  // the file's size as stored (compressed, for gzip)
  bool swapped = false;            // the file is in the other byte order
  bool gzip = false;
  double tr_s = 0.0;  // repetition time in seconds, 0 when unknown
  // value = stored * slope + inter, applied when scaled.
  bool scaled = false;
  float slope = 1.0f, inter = 0.0f;

  // Bytes a reader needs from the start of the (inflated) file.
  std::uint64_t image_bytes() const { return vox_offset + data_bytes; }
};

// Checks a header held in memory: `bytes` are the first n bytes of the (inflated) file,
// at least 348 of them for a header to be found; stored_bytes is the size of the file as
// stored, gzip whether it is compressed. Throws InputError "<path>: <problem>".
NiftiInfo validate_nifti_header(const std::string& path, const void* bytes, std::size_t n,
                                std::uint64_t stored_bytes, bool gzip);

// Reads and checks the header of a file: at most the first 352 (inflated) bytes and the
// file's size. Throws InputError.
NiftiInfo read_nifti_header(const std::string& path);

// The same for a whole file already in memory, as stored (gzip or not); only the start of
// a gzip stream is inflated. `name` is used in messages.
NiftiInfo read_nifti_header(const std::string& name, const void* file, std::size_t size);

// A checked header packed for another process (the 348 header bytes in native order, the
// stored size and whether it is gzip), and unpacked there into the same NiftiInfo, so a
// run's geometry, timing and datatype travel as one message.
std::vector<char> pack_header(const NiftiInfo& info);

// The same header with a TR of tr_s seconds: pixdim[4] in the header's time unit (seconds
// when it names none), so the outputs that copy the header carry it.
NiftiInfo with_repetition_time(const NiftiInfo& info, double tr_s);
// `frames` frames of like's grid stored as float32 in this machine's byte order from byte
// 0, unscaled, with like's header otherwise: frames realign decoded and kept in a file of
// its own (`realign follow` keeps the volumes it saw so).
NiftiInfo float32_frames_info(const NiftiInfo& like, int frames);
NiftiInfo unpack_header(const std::string& name, const std::vector<char>& packed);

// Whether bytes start like a gzip stream.
bool is_gzip(const void* bytes, std::size_t n);

}  // namespace realign
