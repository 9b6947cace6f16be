#include "realign/io/nifti_header.hpp"

#include <nifti1_io.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "realign/io/nifti_datatype.hpp"

namespace realign {
namespace {

// Header extensions are a few kB in practice; a larger offset is a corrupt field, and the
// bound keeps every later sum far from overflow.
constexpr std::uint64_t kMaxVoxOffset = std::uint64_t{1} << 30;

const nifti_1_header& hdr(const NiftiHeader& h) {
  return *static_cast<const nifti_1_header*>(h.raw.get());
}

std::string num(double v) {
  std::ostringstream s;
  s.precision(9);
  s << v;
  return s.str();
}

std::uint32_t byteswap32(std::uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

NiftiHeader wrap(const nifti_1_header& h) {
  auto* raw = static_cast<nifti_1_header*>(std::malloc(sizeof(nifti_1_header)));
  if (!raw) throw std::bad_alloc();
  *raw = h;
  NiftiHeader out;
  out.raw =
      std::shared_ptr<const void>(raw, [](const void* p) { std::free(const_cast<void*>(p)); });
  out.datatype = h.datatype;
  return out;
}

// sizeof_hdr and magic: NIfTI-1 single file, in either byte order. Returns whether the
// header must be swapped.
bool check_identity(const std::string& path, const nifti_1_header& h) {
  std::uint32_t size = 0;
  std::memcpy(&size, &h.sizeof_hdr, 4);
  const bool swapped = size != 348 && byteswap32(size) == 348;
  if (size != 348 && !swapped) {
    if (size == 540 || byteswap32(size) == 540)
      throw InputError(path, "NIfTI-2 files are not supported; convert to NIfTI-1");
    throw InputError(path, "not a NIfTI-1 file (sizeof_hdr is " +
                               std::to_string(static_cast<std::int32_t>(size)) + ", not 348)");
  }
  if (std::memcmp(h.magic, "n+1\0", 4) != 0) {
    if (std::memcmp(h.magic, "ni1\0", 4) == 0)
      throw InputError(path, "separate .hdr/.img pairs are not supported; convert to .nii");
    if (std::memcmp(h.magic, "\0\0\0\0", 4) == 0)
      throw InputError(path, "not a NIfTI-1 file (no magic: ANALYZE 7.5 is not supported)");
    throw InputError(path, "not a NIfTI-1 file (bad magic)");
  }
  return swapped;
}

// dim[]: returns the voxel counts along x, y, z and t, unused ones 1.
std::array<int, 4> check_dims(const std::string& path, const nifti_1_header& h) {
  const int nd = h.dim[0];
  if (nd < 1 || nd > 7)
    throw InputError(path, "dim[0] is " + std::to_string(nd) + "; must be 1 to 7");
  for (int d = 1; d <= nd; ++d)
    if (h.dim[d] < 1)
      throw InputError(path, "dim[" + std::to_string(d) + "] is " + std::to_string(h.dim[d]) +
                                 "; every dimension must be at least 1");
  for (int d = 5; d <= nd; ++d)
    if (h.dim[d] > 1)
      throw InputError(path, "dim[" + std::to_string(d) + "] is " + std::to_string(h.dim[d]) +
                                 "; more than 4 dimensions are not supported");
  std::array<int, 4> n{1, 1, 1, 1};
  for (int d = 1; d <= std::min(nd, 4); ++d) n[d - 1] = h.dim[d];
  return n;
}

int check_datatype(const std::string& path, const nifti_1_header& h) {
  if (!is_decoded_datatype(h.datatype)) {
    const std::string name = datatype_name(h.datatype);
    if (!is_defined_datatype(h.datatype)) throw InputError(path, "unknown datatype " + name);
    throw InputError(path, "datatype " + name + " is not supported (integer and real only)");
  }
  const int bytes = datatype_bytes(h.datatype);
  if (h.bitpix != 8 * bytes)
    throw InputError(path, "bitpix is " + std::to_string(h.bitpix) + " but datatype " +
                               datatype_name(h.datatype) + " has " + std::to_string(8 * bytes) +
                               " bits per voxel");
  return bytes;
}

std::uint64_t check_vox_offset(const std::string& path, const nifti_1_header& h) {
  const double v = h.vox_offset;
  if (!std::isfinite(v)) throw InputError(path, "vox_offset is " + num(v));
  if (v < static_cast<double>(kNiftiHeaderBytes))
    throw InputError(path, "vox_offset " + num(v) + " is inside the header (must be >= 352)");
  if (v != std::floor(v)) throw InputError(path, "vox_offset " + num(v) + " is not a whole byte");
  if (v > static_cast<double>(kMaxVoxOffset))
    throw InputError(path, "vox_offset " + num(v) + " is beyond any header extension (1 GiB)");
  return static_cast<std::uint64_t>(v);
}

// Voxel sizes along the axes in use must be real lengths; an unused axis (a 1D or 2D
// image) gets 1 when its entry is unusable, since nothing depends on it.
void check_pixdim(const std::string& path, nifti_1_header& h) {
  for (int d = 1; d <= 3; ++d) {
    const float p = h.pixdim[d];
    if (std::isfinite(p) && p > 0.0f) continue;
    if (d > h.dim[0]) {
      h.pixdim[d] = 1.0f;
      continue;
    }
    throw InputError(path, "pixdim[" + std::to_string(d) + "] (voxel size) is " + num(p) +
                               "; must be a positive length");
  }
  // TR: a negative or non-finite value says nothing about timing; it is not worth
  // refusing a series that can be realigned without it.
  if (!std::isfinite(h.pixdim[4]) || h.pixdim[4] < 0.0f) h.pixdim[4] = 0.0f;
}

// NIfTI: scl_slope 0 (or unset, NaN) means the stored values are the values.
void check_scaling(const std::string& path, nifti_1_header& h, NiftiInfo& info) {
  if (std::isinf(h.scl_slope)) throw InputError(path, "scl_slope is " + num(h.scl_slope));
  if (h.scl_slope == 0.0f || std::isnan(h.scl_slope)) {
    h.scl_slope = h.scl_inter = 0.0f;
    return;
  }
  if (std::isinf(h.scl_inter)) throw InputError(path, "scl_inter is " + num(h.scl_inter));
  if (std::isnan(h.scl_inter)) h.scl_inter = 0.0f;
  info.slope = h.scl_slope;
  info.inter = h.scl_inter;
  info.scaled = info.slope != 1.0f || info.inter != 0.0f;
}

void check_xform_code(const std::string& path, const char* field, int code) {
  // 0-4 as in the original nifti1.h; 5 (NIFTI_XFORM_TEMPLATE_OTHER) was added in 2019.
  if (code < 0 || code > 5)
    throw InputError(path, std::string(field) + " is " + std::to_string(code) +
                               "; must be 0 to 5 (NIFTI_XFORM_*)");
}

// The 3x3 part must map the voxel axes to three independent directions.
void check_matrix(const std::string& path, const char* what, const Mat4& m) {
  if (!m.allFinite()) throw InputError(path, std::string(what) + " has non-finite entries");
  const Eigen::Matrix3d a = m.topLeftCorner<3, 3>();
  const double scale = a.col(0).norm() * a.col(1).norm() * a.col(2).norm();
  // |det| / product of column lengths is the sine-like volume of the unit axes: 1 for
  // orthogonal axes, 0 when they are dependent.
  if (!(scale > 0.0) || !(std::abs(a.determinant()) > 1e-6 * scale))
    throw InputError(path, std::string(what) + " is singular");
}

Mat4 check_geometry(const std::string& path, const nifti_1_header& h) {
  check_xform_code(path, "qform_code", h.qform_code);
  check_xform_code(path, "sform_code", h.sform_code);
  if (h.sform_code > 0) {
    Mat4 m = Mat4::Identity();
    for (int c = 0; c < 4; ++c) {
      m(0, c) = h.srow_x[c];
      m(1, c) = h.srow_y[c];
      m(2, c) = h.srow_z[c];
    }
    check_matrix(path, "sform matrix (srow_x/y/z)", m);
    return m;
  }
  if (h.qform_code > 0) {
    for (float v : {h.quatern_b, h.quatern_c, h.quatern_d, h.qoffset_x, h.qoffset_y, h.qoffset_z})
      if (!std::isfinite(v)) throw InputError(path, "qform quaternion or offset is " + num(v));
  }
  NiftiHeader view;
  view.raw = std::shared_ptr<const void>(&h, [](const void*) {});
  const Mat4 m = header_vox2world(view);
  check_matrix(path, h.qform_code > 0 ? "qform matrix" : "voxel-size matrix", m);
  return m;
}

double tr_seconds(const nifti_1_header& h) {
  const double tr = h.pixdim[4];
  switch (XYZT_TO_TIME(h.xyzt_units)) {
    case NIFTI_UNITS_MSEC:
      return tr / 1e3;
    case NIFTI_UNITS_USEC:
      return tr / 1e6;
    default:
      return tr;
  }
}

void check_readable(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) throw InputError(path, "is a directory");
}

std::uint64_t data_bytes(const std::string& path, const std::array<int, 4>& dims,
                         int bytes_per_voxel) {
  // Each factor is below 2^15, so only the byte count could overflow; check it anyway.
  std::uint64_t total = static_cast<std::uint64_t>(bytes_per_voxel);
  for (int d : dims)
    if (mul_overflows(total, static_cast<std::uint64_t>(d), &total))
      throw InputError(path, "image size overflows 64 bits");
  return total;
}

// The file as stored must be able to hold what the header promises: all of it when
// uncompressed, at least the deflate bound of it when gzip.
void check_stored_size(const std::string& path, const NiftiInfo& info) {
  const std::uint64_t need = info.image_bytes(), stored = info.stored_bytes;
  if (!info.gzip && stored < need)
    throw InputError(path, "truncated: the header promises " + std::to_string(need) +
                               " bytes, the file holds " + std::to_string(stored));
  if (info.gzip && (need + kMaxDeflateRatio - 1) / kMaxDeflateRatio > stored)
    throw InputError(path, "the header promises " + std::to_string(need) +
                               " bytes, more than a gzip file of " + std::to_string(stored) +
                               " bytes can hold");
}

// The first `want` bytes a gzip stream inflates to (fewer if it is shorter), crossing
// member boundaries as gzip readers do.
std::string inflate_prefix(const std::string& name, const unsigned char* in, std::size_t n,
                           std::size_t want) {
  std::string out(want, '\0');
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  std::size_t done = 0, pos = 0;
  int rc = Z_OK;
  while (done < want) {
    const std::size_t chunk = std::min<std::size_t>(n - pos, 1u << 30);
    z.next_in = const_cast<unsigned char*>(in + pos);
    z.avail_in = static_cast<uInt>(chunk);
    z.next_out = reinterpret_cast<unsigned char*>(&out[done]);
    z.avail_out = static_cast<uInt>(want - done);
    rc = inflate(&z, Z_NO_FLUSH);
    pos += chunk - z.avail_in;
    done = want - z.avail_out;
    if (rc == Z_STREAM_END) {
      if (pos >= n) break;
      inflateReset(&z);
      continue;
    }
    if (rc == Z_BUF_ERROR && pos >= n) break;  // the stream ends early
    if (rc != Z_OK) {
      inflateEnd(&z);
      throw InputError(name, "corrupt gzip data");
    }
  }
  inflateEnd(&z);
  out.resize(done);
  return out;
}

}  // namespace

std::string datatype_name(int code) {
  if (!is_defined_datatype(code)) return "code " + std::to_string(code);
  // niftilib's names are realign's in upper case ("INT16", "COMPLEX64"); lowered by hand,
  // as std::tolower would follow the locale.
  std::string name = nifti_datatype_string(code);
  for (char& c : name)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return name;
}

std::string NiftiHeader::datatype_name() const { return realign::datatype_name(datatype); }

Mat4 header_vox2world(const NiftiHeader& h) {
  const nifti_1_header& n = hdr(h);
  Mat4 m = Mat4::Identity();
  if (n.sform_code > 0) {
    for (int c = 0; c < 4; ++c) {
      m(0, c) = n.srow_x[c];
      m(1, c) = n.srow_y[c];
      m(2, c) = n.srow_z[c];
    }
  } else if (n.qform_code > 0) {
    const mat44 q =
        nifti_quatern_to_mat44(n.quatern_b, n.quatern_c, n.quatern_d, n.qoffset_x, n.qoffset_y,
                               n.qoffset_z, n.pixdim[1], n.pixdim[2], n.pixdim[3], n.pixdim[0]);
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) m(r, c) = q.m[r][c];
  } else {
    for (int d = 0; d < 3; ++d) m(d, d) = n.pixdim[d + 1] > 0 ? n.pixdim[d + 1] : 1.0;
  }
  return m;
}

bool is_gzip(const void* bytes, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(bytes);
  return n >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

NiftiInfo validate_nifti_header(const std::string& path, const void* bytes, std::size_t n,
                                std::uint64_t stored_bytes, bool gzip) {
  nifti_1_header h;
  if (n < sizeof(h)) throw InputError(path, "not a NIfTI-1 file (too short for a header)");
  std::memcpy(&h, bytes, sizeof(h));
  NiftiInfo info;
  info.swapped = check_identity(path, h);
  if (info.swapped) swap_nifti_header(&h, 1);
  info.gzip = gzip;
  info.stored_bytes = stored_bytes;

  const std::array<int, 4> dims = check_dims(path, h);
  info.bytes_per_voxel = check_datatype(path, h);
  info.datatype = h.datatype;
  info.vox_offset = check_vox_offset(path, h);
  check_pixdim(path, h);
  check_scaling(path, h, info);
  info.grid.vox2world = check_geometry(path, h);
  info.grid.dim = {dims[0], dims[1], dims[2]};
  info.frames = dims[3];
  info.tr_s = tr_seconds(h);
  info.data_bytes = data_bytes(path, dims, info.bytes_per_voxel);
  check_stored_size(path, info);
  info.header = wrap(h);
  return info;
}

std::vector<char> pack_header(const NiftiInfo& info) {
  std::vector<char> out(sizeof(nifti_1_header) + sizeof(std::uint64_t) + 1);
  std::memcpy(out.data(), info.header.raw.get(), sizeof(nifti_1_header));
  std::memcpy(out.data() + sizeof(nifti_1_header), &info.stored_bytes, sizeof(std::uint64_t));
  out.back() = info.gzip ? 1 : 0;
  return out;
}

NiftiInfo float32_frames_info(const NiftiInfo& like, int frames) {
  NiftiInfo f = like;
  f.frames = frames;
  f.datatype = DT_FLOAT32;
  f.bytes_per_voxel = 4;
  f.vox_offset = 0;
  f.data_bytes = like.grid.voxels() * 4 * static_cast<std::uint64_t>(frames);
  f.stored_bytes = f.data_bytes;
  f.swapped = f.gzip = f.scaled = false;
  f.slope = 1.0f;
  f.inter = 0.0f;
  return f;
}

NiftiInfo with_repetition_time(const NiftiInfo& info, double tr_s) {
  nifti_1_header h;
  std::memcpy(&h, info.header.raw.get(), sizeof(h));
  switch (XYZT_TO_TIME(h.xyzt_units)) {
    case NIFTI_UNITS_MSEC:
      h.pixdim[4] = static_cast<float>(tr_s * 1e3);
      break;
    case NIFTI_UNITS_USEC:
      h.pixdim[4] = static_cast<float>(tr_s * 1e6);
      break;
    case NIFTI_UNITS_SEC:
      h.pixdim[4] = static_cast<float>(tr_s);
      break;
    default:  // no time unit (or Hz, ppm): say seconds
      h.pixdim[4] = static_cast<float>(tr_s);
      h.xyzt_units = static_cast<char>(XYZT_TO_SPACE(h.xyzt_units) | NIFTI_UNITS_SEC);
  }
  NiftiInfo out = info;
  out.tr_s = tr_s;
  out.header.raw = wrap(h).raw;
  return out;
}

NiftiInfo unpack_header(const std::string& name, const std::vector<char>& packed) {
  if (packed.size() != sizeof(nifti_1_header) + sizeof(std::uint64_t) + 1)
    throw std::invalid_argument("unpack_header: not a packed header");
  std::uint64_t stored = 0;
  std::memcpy(&stored, packed.data() + sizeof(nifti_1_header), sizeof(stored));
  // The header was checked where it was read; checking it again gives the same facts.
  return validate_nifti_header(name, packed.data(), sizeof(nifti_1_header), stored,
                               packed.back() != 0);
}

NiftiInfo read_nifti_header(const std::string& path) {
  check_readable(path);
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  const std::streamoff size = f.tellg();
  if (size < 0) throw InputError(path, "cannot tell the file's size (not a regular file?)");
  f.seekg(0);
  char head[kNiftiHeaderBytes];
  f.read(head, sizeof(head));
  std::size_t n = static_cast<std::size_t>(f.gcount());
  if (!is_gzip(head, n))
    return validate_nifti_header(path, head, n, static_cast<std::uint64_t>(size), false);

  // zlib inflates only as far as the header; the rest of the stream is left untouched.
  gzFile z = gzopen(path.c_str(), "rb");
  if (!z) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  const int got = gzread(z, head, sizeof(head));
  int err = Z_OK;
  const std::string msg = got < 0 ? gzerror(z, &err) : "";
  gzclose(z);
  if (got < 0) throw InputError(path, "corrupt gzip data (" + msg + ")");
  n = static_cast<std::size_t>(got);
  return validate_nifti_header(path, head, n, static_cast<std::uint64_t>(size), true);
}

NiftiInfo read_nifti_header(const std::string& name, const void* file, std::size_t size) {
  if (!is_gzip(file, size)) return validate_nifti_header(name, file, size, size, false);
  const std::string head =
      inflate_prefix(name, static_cast<const unsigned char*>(file), size, kNiftiHeaderBytes);
  return validate_nifti_header(name, head.data(), head.size(), size, true);
}

}  // namespace realign
