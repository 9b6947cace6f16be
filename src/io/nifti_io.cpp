#include "realign/io/nifti_io.hpp"

#include <libdeflate.h>
#include <nifti1_io.h>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <type_traits>

#include "realign/io/frame_stream.hpp"
#include "realign/io/nifti_datatype.hpp"

namespace realign {
namespace {

const nifti_1_header& hdr(const NiftiHeader& h) {
  return *static_cast<const nifti_1_header*>(h.raw.get());
}

// Case-insensitive, as file names from Windows shares and scanners' exports come in capitals
// (OUT.NII.GZ); `tail` is lower case.
bool ends_with(const std::string& s, const std::string& tail) {
  if (s.size() < tail.size()) return false;
  const std::size_t at = s.size() - tail.size();
  for (std::size_t i = 0; i < tail.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[at + i])) != tail[i]) return false;
  return true;
}

// Uninitialised, so pages are touched only as they are filled; running out of memory
// is the input's problem, reported against its name.
std::unique_ptr<char[]> allocate(const std::string& path, std::uint64_t bytes) {
  try {
    return std::unique_ptr<char[]>(new char[bytes]);
  } catch (const std::bad_alloc&) {
    throw InputError(path, "not enough memory to hold its " + std::to_string(bytes) + " bytes");
  }
}

// Every frame is decoded on each of its reads (four per run), so these loops are kept in
// the form the compiler vectorises: no per-voxel branch on the byte order, and the
// non-finite test as a select rather than a jump.
template <typename T>
void convert(const char* src, std::size_t n, bool swap, float* dst) {
  if (swap) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < static_cast<long>(n); ++i) {
      T v;
      std::memcpy(&v, src + i * sizeof(T), sizeof(T));
      char* b = reinterpret_cast<char*>(&v);
      std::reverse(b, b + sizeof(T));
      dst[i] = static_cast<float>(v);
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (long i = 0; i < static_cast<long>(n); ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<float>(v);
  }
}

// Zeroes non-finite values, which (masked float images) are missing data, as SPM treats
// them; returns how many there were. `scale` applies the header's slope and intercept first.
template <bool scale>
std::size_t zero_nonfinite(float* values, std::size_t n, float slope, float inter) {
  std::size_t bad = 0;
#pragma omp parallel for reduction(+ : bad) schedule(static)
  for (long i = 0; i < static_cast<long>(n); ++i) {
    const float v = scale ? values[i] * slope + inter : values[i];
    const bool finite = std::isfinite(v);
    values[i] = finite ? v : 0.0f;
    bad += finite ? 0 : 1;
  }
  return bad;
}

// Applies the header's scaling in place and zeroes non-finite values. An integer
// converted to float is finite, so unscaled integers need no pass at all.
std::size_t finish_values(float* values, std::size_t n, bool scaled, float slope, float inter,
                          bool integers) {
  if (scaled) return zero_nonfinite<true>(values, n, slope, inter);
  return integers ? 0 : zero_nonfinite<false>(values, n, slope, inter);
}

// Inflates a gzip file into exactly `expected` bytes. A stream that would inflate to more
// (beyond a small tolerance for trailing bytes, which an uncompressed file may also
// carry) or to less is an error, and nothing larger than the header's promise is ever
// allocated. libdeflate checks the CRC and length of every member, so corrupt data is an
// error rather than silently wrong voxels; on a whole buffer it is as fast as ISA-L (0.12
// against 0.13 s for decnef's 36 MB, 0.08 against 0.09 s for studyforrest's 24 MB).
std::unique_ptr<char[]> inflate_exactly(const std::string& path, const std::vector<char>& gz,
                                        std::uint64_t expected) {
  constexpr std::uint64_t kTrailingBytes = 1 << 16;
  const std::uint64_t capacity = expected + kTrailingBytes;
  std::unique_ptr<char[]> out = allocate(path, capacity);
  std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(
      libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  if (!d) throw std::bad_alloc();
  std::size_t in_pos = 0, out_pos = 0;
  while (in_pos < gz.size()) {
    if (gz.size() - in_pos < 18) throw InputError(path, "truncated gzip data");
    std::size_t in_used = 0, produced = 0;
    const libdeflate_result r =
        libdeflate_gzip_decompress_ex(d.get(), gz.data() + in_pos, gz.size() - in_pos,
                                      out.get() + out_pos, capacity - out_pos, &in_used, &produced);
    if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
      throw InputError(path, "gzip data inflates to more than the " + std::to_string(expected) +
                                 " bytes the header promises");
    if (r != LIBDEFLATE_SUCCESS) throw InputError(path, "corrupt or truncated gzip data");
    in_pos += in_used;
    out_pos += produced;
  }
  if (out_pos < expected)
    throw InputError(path, "truncated: the header promises " + std::to_string(expected) +
                               " bytes, the gzip data inflates to " + std::to_string(out_pos));
  return out;
}

}  // namespace

int datatype_from_name(const std::string& name) {
  for (int code : {DT_UINT8, DT_INT16, DT_UINT16, DT_INT32, DT_FLOAT32, DT_FLOAT64})
    if (datatype_name(code) == name) return code;
  throw std::invalid_argument("unknown datatype '" + name + "'");
}

SeriesFile::SeriesFile(const std::string& path) : info_(read_nifti_header(path)), path_(path) {
  // The header is sound and the file big enough: only now are the voxels read.
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  if (info_.gzip) {
    std::vector<char> gz;
    try {
      gz.resize(info_.stored_bytes);
    } catch (const std::bad_alloc&) {
      throw InputError(
          path, "not enough memory to read " + std::to_string(info_.stored_bytes) + " bytes");
    }
    if (!f.read(gz.data(), static_cast<std::streamsize>(gz.size())))
      throw InputError(path, "read failed");
    owned_ = inflate_exactly(path, gz, info_.image_bytes());
    voxels_ = owned_.get() + info_.vox_offset;
    return;
  }
  owned_ = allocate(path, info_.data_bytes);
  f.seekg(static_cast<std::streamoff>(info_.vox_offset));
  if (!f.read(owned_.get(), static_cast<std::streamsize>(info_.data_bytes)))
    throw InputError(path, "read failed (the file shrank while being read?)");
  voxels_ = owned_.get();
}

SeriesFile::SeriesFile(const std::string& name, std::vector<char> stored)
    : info_(read_nifti_header(name, stored.data(), stored.size())), path_(name) {
  if (info_.gzip) {
    owned_ = inflate_exactly(name, stored, info_.image_bytes());
    voxels_ = owned_.get() + info_.vox_offset;
  } else {
    stored_ = std::move(stored);
    voxels_ = stored_.data() + info_.vox_offset;
  }
}

SeriesFile::~SeriesFile() = default;

namespace {

// `count` stored values to float, then scaling and the non-finite count.
std::size_t decode_values(const NiftiInfo& info, const char* raw, std::size_t count, bool swapped,
                          float* out, const std::string& name) {
  bool integers = false;
  const bool decoded = visit_datatype(info.datatype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kDecoded<T>) {
      convert<T>(raw, count, swapped, out);
      integers = std::is_integral_v<T>;
      return true;
    } else {
      return false;
    }
  });
  if (!decoded)  // validate_nifti_header admits no other type
    throw InputError(name, "unsupported voxel datatype " + datatype_name(info.datatype));
  return finish_values(out, count, info.scaled, info.slope, info.inter, integers);
}

}  // namespace

std::size_t SeriesFile::read_frames(int begin, int end, float* out) const {
  if (begin < 0 || end > info_.frames || begin > end)
    throw std::out_of_range("read_frames: frames [" + std::to_string(begin) + ", " +
                            std::to_string(end) + ") of " + std::to_string(info_.frames));
  const std::size_t nv = info_.grid.voxels();
  const std::size_t count = nv * static_cast<std::size_t>(end - begin);
  const char* raw = voxels_ + nv * static_cast<std::size_t>(begin) * info_.bytes_per_voxel;
  return decode_values(info_, raw, count, info_.swapped, out, path_);
}

std::size_t decode_frame(const NiftiInfo& info, const char* stored, float* out) {
  return decode_values(info, stored, info.grid.voxels(), false, out, "frame");
}

Series read_series(const std::string& path, NiftiHeader* header_out) {
  const SeriesFile file(path);
  Series s;
  s.grid = file.grid();
  s.frames = file.frames();
  s.tr_s = file.tr_s();
  s.data.resize(s.grid.voxels() * static_cast<std::size_t>(s.frames));
  s.nonfinite_voxels = file.read_frames(0, s.frames, s.data.data());
  if (header_out) *header_out = file.header();
  return s;
}

Volume read_volume(const std::string& path, NiftiHeader* header) {
  Series s = read_series(path, header);
  if (s.frames != 1)
    throw InputError(path, "expected a 3D volume, found " + std::to_string(s.frames) + " frames");
  Volume v;
  v.grid = s.grid;
  v.data = std::move(s.data);
  return v;
}

NiftiHeader with_datatype(const NiftiHeader& like, int datatype) {
  auto* raw = static_cast<nifti_1_header*>(std::malloc(sizeof(nifti_1_header)));
  if (!raw) throw std::bad_alloc();
  *raw = hdr(like);
  raw->datatype = static_cast<short>(datatype);
  raw->bitpix = static_cast<short>(8 * datatype_bytes(datatype));
  raw->scl_slope = 1.0f;
  raw->scl_inter = 0.0f;
  NiftiHeader h;
  h.raw = std::shared_ptr<const void>(raw, [](const void* p) { free(const_cast<void*>(p)); });
  h.datatype = datatype;
  return h;
}

NiftiHeader make_header(const Grid& grid, int frames, double tr_s, int datatype) {
  int dims[8] = {frames > 1 ? 4 : 3, grid.dim[0], grid.dim[1], grid.dim[2], frames, 1, 1, 1};
  nifti_1_header* raw = nifti_make_new_header(dims, datatype);
  const Vec3 vox = grid.voxel_size_mm();
  for (int d = 0; d < 3; ++d) raw->pixdim[d + 1] = static_cast<float>(vox[d]);
  raw->pixdim[4] = static_cast<float>(tr_s);
  raw->xyzt_units = NIFTI_UNITS_MM | NIFTI_UNITS_SEC;
  mat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = static_cast<float>(grid.vox2world(r, c));
  float qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
  nifti_mat44_to_quatern(m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
  raw->quatern_b = qb;
  raw->quatern_c = qc;
  raw->quatern_d = qd;
  raw->qoffset_x = qx;
  raw->qoffset_y = qy;
  raw->qoffset_z = qz;
  raw->pixdim[0] = qfac;
  raw->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  raw->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  for (int c = 0; c < 4; ++c) {
    raw->srow_x[c] = m.m[0][c];
    raw->srow_y[c] = m.m[1][c];
    raw->srow_z[c] = m.m[2][c];
  }
  NiftiHeader h;
  h.raw = std::shared_ptr<const void>(raw, [](const void* p) { free(const_cast<void*>(p)); });
  h.datatype = datatype;
  return h;
}

// ---------------------------------------------------------------------------------------
// Writing: one header, then frames streamed to the file. A .gz name gets gzip members
// of its own for each write (header, then each frame, in parts of kGzipPart), compressed
// by libdeflate: concatenated members are standard gzip that every NIfTI reader accepts,
// and frames never wait on a single long zlib stream.

namespace {

// Stores floats as T: reals as they are (NaN kept, never scaled: frame_format gives
// them slope 1 and inter 0), integers scaled, rounded and clamped.
template <typename T>
void store_as(const float* src, std::size_t n, float slope, float inter, char* dst) {
  T* d = reinterpret_cast<T*>(dst);
  if constexpr (std::is_floating_point_v<T>) {
    for (std::size_t i = 0; i < n; ++i) d[i] = src[i];
  } else {
    const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    const double hi = static_cast<double>(std::numeric_limits<T>::max());
    for (std::size_t i = 0; i < n; ++i) {
      double v = src[i];
      if (!std::isfinite(v)) v = 0.0;  // integer types have no NaN: masked voxels become 0
      v = std::round((v - inter) / slope);
      d[i] = static_cast<T>(std::clamp(v, lo, hi));
    }
  }
}

}  // namespace

FrameFormat frame_format(const NiftiHeader& like, OutputType type, const std::string& path) {
  const nifti_1_header& n = hdr(like);
  FrameFormat f;
  f.datatype = type == OutputType::Float32 ? DT_FLOAT32 : n.datatype;
  f.gzip = ends_with(path, ".gz");
  // Stored values are (value - inter) / slope; floats and unscaled headers store values.
  const bool scaled = f.datatype != DT_FLOAT32 && f.datatype != DT_FLOAT64 &&
                      std::isfinite(n.scl_slope) && n.scl_slope != 0.0f &&
                      std::isfinite(n.scl_inter);
  f.slope = scaled ? n.scl_slope : 1.0f;
  f.inter = scaled ? n.scl_inter : 0.0f;
  f.bytes_per_voxel = datatype_bytes(f.datatype);
  if (!is_writable_datatype(f.datatype))
    throw OutputError(path, "cannot write datatype " + like.datatype_name());
  return f;
}

namespace {
// A frame is compressed in parts of this many bytes, each a gzip member of its own: the
// parts go to the OpenMP threads, and the bytes written do not depend on how many there
// are. A part is several deflate windows long, so splitting costs almost no size.
constexpr std::size_t kGzipPart = 256 * 1024;
// libdeflate's level 1: on decnef_sub-1_run-2's resliced float32 frames (mantissas are
// noise) it keeps 82.4% of the raw size; level 2 keeps 82.6% and takes 1.3 times as long.
constexpr int kGzipLevel = 1;

// The fuzz target builds this file without OpenMP.
int max_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}
int thread_index() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}
}  // namespace

// One thread's compressor. libdeflate, not Intel ISA-L (which inflates the inputs, three
// times as fast as libdeflate compresses): on this project's AMD EPYC machines ISA-L's
// level-1 compressor now and then encoded one part of a frame in another, equally valid
// way when OpenMP threads were preempted (one run in ten under load with OMP_DYNAMIC, a
// member's Huffman header first), so the same run gave .nii.gz files of different bytes.
// libdeflate's output is a function of the part's bytes alone.
struct FrameEncoder::Compressor {
  std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> deflate{
      libdeflate_alloc_compressor(kGzipLevel), libdeflate_free_compressor};

  // `n` bytes as one gzip member; false if libdeflate refused (it should not).
  bool member(const char* in, std::size_t n, std::vector<char>& out) {
    out.resize(libdeflate_gzip_compress_bound(deflate.get(), n));
    const std::size_t size =
        deflate ? libdeflate_gzip_compress(deflate.get(), in, n, out.data(), out.size()) : 0;
    out.resize(size);
    return size > 0;
  }
};

FrameEncoder::FrameEncoder(const FrameFormat& format, std::size_t voxels)
    : format_(format), voxels_(voxels), raw_(voxels * format.bytes_per_voxel) {}

FrameEncoder::~FrameEncoder() = default;

const std::vector<char>& FrameEncoder::pack(const void* data, std::size_t size) {
  if (!format_.gzip) {
    packed_.assign(static_cast<const char*>(data), static_cast<const char*>(data) + size);
    return packed_;
  }
  const long parts =
      static_cast<long>(std::max<std::size_t>(1, (size + kGzipPart - 1) / kGzipPart));
  if (static_cast<long>(parts_.size()) < parts) parts_.resize(parts);
  const int threads = static_cast<int>(std::min<long>(parts, max_threads()));
  while (static_cast<int>(compressors_.size()) < threads)
    compressors_.push_back(std::make_unique<Compressor>());
  const char* in = static_cast<const char*>(data);
  bool ok = true;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(&& : ok)
  for (long p = 0; p < parts; ++p) {
    const std::size_t begin = p * kGzipPart, n = std::min(kGzipPart, size - begin);
    ok = compressors_[thread_index()]->member(in + begin, n, parts_[p]) && ok;
  }
  if (!ok) throw std::logic_error("libdeflate could not compress a frame");
  packed_.clear();
  for (long p = 0; p < parts; ++p)
    packed_.insert(packed_.end(), parts_[p].begin(), parts_[p].end());
  return packed_;
}

const std::vector<char>& FrameEncoder::encode(const float* frame) {
  // Floats are already what the file holds: no copy.
  if (format_.datatype == DT_FLOAT32) return pack(frame, voxels_ * sizeof(float));
  visit_datatype(format_.datatype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kWritable<T>)
      store_as<T>(frame, voxels_, format_.slope, format_.inter, raw_.data());
  });
  return pack(raw_.data(), raw_.size());
}

struct NiftiWriter::Impl {
  std::FILE* file = nullptr;
  std::string path;
  FrameFormat format;
  std::unique_ptr<FrameEncoder> encoder;
  std::size_t voxels = 0;
  ~Impl() {
    if (file) std::fclose(file);
  }
  void put(const std::vector<char>& bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) fail();
  }
  // errno tells a full disk from a file-size limit (EFBIG: SIGXFSZ is ignored in main).
  [[noreturn]] void fail() const {
    throw OutputError(path, std::string("write failed: ") + std::strerror(errno));
  }
};

namespace {

// Outputs carry the input's header (geometry, timing, labels); only the fields that
// describe the stored voxels, and the description, are the output's own.
nifti_1_header output_header(const NiftiHeader& like, const Grid& grid, int frames,
                             const FrameFormat& f, const std::string& descrip) {
  nifti_1_header n = hdr(like);
  n.dim[0] = frames > 1 ? 4 : 3;
  for (int d = 0; d < 3; ++d) n.dim[d + 1] = static_cast<short>(grid.dim[d]);
  n.dim[4] = static_cast<short>(frames);
  for (int d = 5; d < 8; ++d) n.dim[d] = 1;
  n.datatype = static_cast<short>(f.datatype);
  n.bitpix = static_cast<short>(8 * f.bytes_per_voxel);
  n.scl_slope = f.slope;
  n.scl_inter = f.inter;
  n.cal_min = n.cal_max = 0.0f;
  n.glmin = n.glmax = 0;
  n.vox_offset = 352.0f;
  n.sizeof_hdr = 348;
  std::memcpy(n.magic, "n+1\0", 4);
  if (!descrip.empty()) {
    std::memset(n.descrip, 0, sizeof(n.descrip));
    std::strncpy(n.descrip, descrip.c_str(), sizeof(n.descrip) - 1);
  }
  return n;
}

}  // namespace

NiftiWriter::NiftiWriter(const std::string& path, const NiftiHeader& like, const Grid& grid,
                         int frames, OutputType type, const std::string& descrip)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->format = frame_format(like, type, path);
  const FrameFormat& f = impl_->format;
  const nifti_1_header n = output_header(like, grid, frames, f, descrip);
  impl_->encoder = std::make_unique<FrameEncoder>(f, grid.voxels());
  impl_->voxels = grid.voxels();
  impl_->file = std::fopen(path.c_str(), "wb");
  if (!impl_->file) throw OutputError(path, std::string("cannot create: ") + std::strerror(errno));
  char head[352] = {};
  std::memcpy(head, &n, sizeof(n));
  // The header is a member of its own, so every frame can be one too.
  FrameEncoder header_encoder(f, 0);
  impl_->put(header_encoder.pack(head, sizeof(head)));
}

NiftiWriter::~NiftiWriter() = default;

void NiftiWriter::write_frame(const float* frame) {
  const FrameFormat& f = impl_->format;
  if (f.datatype == DT_FLOAT32 && !f.gzip) {  // the common case needs no copy
    const std::size_t bytes = impl_->voxels * sizeof(float);
    if (std::fwrite(frame, 1, bytes, impl_->file) != bytes) impl_->fail();
    return;
  }
  impl_->put(impl_->encoder->encode(frame));
}

void NiftiWriter::write_encoded(const std::vector<char>& bytes) { impl_->put(bytes); }

void NiftiWriter::close() {
  if (!impl_->file) return;
  const int rc = std::fclose(impl_->file);
  impl_->file = nullptr;
  if (rc != 0) impl_->fail();
}

void write_image(const std::string& path, const NiftiHeader& like, const Grid& grid, int frames,
                 const float* data, OutputType type, const std::string& descrip) {
  NiftiWriter w(path, like, grid, frames, type, descrip);
  for (int f = 0; f < frames; ++f)
    w.write_frame(data + static_cast<std::size_t>(f) * grid.voxels());
  w.close();
}

std::pair<std::string, std::string> split_image_path(const std::string& path) {
  for (const std::string ext : {".nii.gz", ".nii"})
    if (path.size() > ext.size() && ends_with(path, ext))
      return {path.substr(0, path.size() - ext.size()), path.substr(path.size() - ext.size())};
  return {path, ""};
}

}  // namespace realign
