// Header validation: every check refuses with a one-line message naming the file and the
// field, valid headers of every datatype and byte order pass with the geometry and
// values that NIfTI's reference library (niftilib's nifti_image_read) finds in the same
// file, and gzip data is never inflated beyond what the header promises.
#include <gtest/gtest.h>
#include <nifti1_io.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "realign/io/nifti_datatype.hpp"
#include "realign/io/nifti_header.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;
using realign::testing::write_file;

const std::string kName = "in.nii";

int bytes_of(int datatype) {
  switch (datatype) {
    case DT_UINT8:
    case DT_INT8:
      return 1;
    case DT_INT16:
    case DT_UINT16:
      return 2;
    case DT_INT32:
    case DT_UINT32:
    case DT_FLOAT32:
      return 4;
    default:
      return 8;
  }
}

const int kDatatypes[] = {DT_UINT8,  DT_INT8,  DT_INT16,  DT_UINT16,  DT_INT32,
                          DT_UINT32, DT_INT64, DT_UINT64, DT_FLOAT32, DT_FLOAT64};

// A plain 4D header: 5x4x3 voxels, 2 frames, sform of 2 x 2.5 x 3 mm with an offset.
nifti_1_header base_header(int datatype = DT_INT16) {
  nifti_1_header h{};
  h.sizeof_hdr = 348;
  const short dim[8] = {4, 5, 4, 3, 2, 1, 1, 1};
  std::memcpy(h.dim, dim, sizeof(dim));
  h.datatype = static_cast<short>(datatype);
  h.bitpix = static_cast<short>(8 * bytes_of(datatype));
  const float pixdim[8] = {1.0f, 2.0f, 2.5f, 3.0f, 1.5f, 0, 0, 0};
  std::memcpy(h.pixdim, pixdim, sizeof(pixdim));
  h.vox_offset = 352.0f;
  h.scl_slope = 1.0f;
  h.xyzt_units = NIFTI_UNITS_MM | NIFTI_UNITS_SEC;
  h.sform_code = NIFTI_XFORM_SCANNER_ANAT;
  const float srow[3][4] = {{2, 0, 0, -10}, {0, 2.5f, 0, 20}, {0, 0, 3, -30}};
  std::memcpy(h.srow_x, srow[0], 16);
  std::memcpy(h.srow_y, srow[1], 16);
  std::memcpy(h.srow_z, srow[2], 16);
  std::memcpy(h.magic, "n+1\0", 4);
  return h;
}

std::size_t voxel_count(const nifti_1_header& h) {
  std::size_t n = 1;
  for (int d = 1; d <= h.dim[0]; ++d) n *= static_cast<std::size_t>(h.dim[d]);
  return n;
}

// The value voxel i holds in a test file of `datatype`, exactly representable in it.
double test_value(int datatype, std::size_t i) {
  const double base = static_cast<double>((i * 37) % 101);
  switch (datatype) {
    case DT_UINT8:
    case DT_UINT16:
    case DT_UINT32:
      return base * (datatype == DT_UINT8 ? 2 : 600);
    case DT_UINT64:
      return base * 1e12;
    case DT_INT64:
      return (base - 50) * 1e12;
    case DT_FLOAT32:
    case DT_FLOAT64:
      return (base - 50) * 0.375;
    default:
      return (base - 50) * (datatype == DT_INT8 ? 2 : 600);
  }
}

template <typename T>
void put(std::vector<char>& out, double v) {
  const T t = static_cast<T>(v);
  const char* b = reinterpret_cast<const char*>(&t);
  out.insert(out.end(), b, b + sizeof(T));
}

std::vector<char> voxel_bytes(int datatype, std::size_t n) {
  std::vector<char> out;
  visit_datatype(datatype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (kDecoded<T>)
      for (std::size_t i = 0; i < n; ++i) put<T>(out, test_value(datatype, i));
    else
      ADD_FAILURE() << "no test values for " << datatype_name(datatype);
  });
  return out;
}

// Header, extension flag and voxels, in the other byte order when `swap`.
std::vector<char> file_of(nifti_1_header h, std::vector<char> voxels, bool swap = false) {
  if (swap) {
    const int w = bytes_of(h.datatype);
    for (std::size_t i = 0; i + w <= voxels.size(); i += w)
      std::reverse(voxels.begin() + i, voxels.begin() + i + w);
    swap_nifti_header(&h, 1);
  }
  std::vector<char> out(kNiftiHeaderBytes + voxels.size(), '\0');
  std::memcpy(out.data(), &h, sizeof(h));
  std::copy(voxels.begin(), voxels.end(), out.begin() + kNiftiHeaderBytes);
  return out;
}

std::vector<char> file_of(const nifti_1_header& h) {
  return file_of(h, voxel_bytes(h.datatype, voxel_count(h)));
}

std::vector<char> gzip(const std::vector<char>& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<char> out(deflateBound(&z, raw.size()));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Bytes built here, as write_file takes them.
std::string as_string(const std::vector<char>& bytes) { return {bytes.begin(), bytes.end()}; }

// The message of the InputError that reading `bytes` in memory throws, or "" if none.
std::string refusal(const std::vector<char>& bytes) {
  try {
    SeriesFile file(kName, bytes);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// A header edited from base_header(), followed by base_header()'s voxels.
std::string refusal(const nifti_1_header& h, bool swap = false) {
  const nifti_1_header base = base_header();
  return refusal(file_of(h, voxel_bytes(base.datatype, voxel_count(base)), swap));
}

// Refused with one line "in.nii: ..." that contains `field`.
void expect_refused(const std::string& message, const std::string& field, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_FALSE(message.empty()) << "accepted";
  EXPECT_EQ(message.rfind(kName + ": ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find(field), std::string::npos) << message;
}

std::vector<float> all_frames(const SeriesFile& f) {
  std::vector<float> out(f.grid().voxels() * f.frames());
  f.read_frames(0, f.frames(), out.data());
  return out;
}

Mat4 to_mat4(const mat44& m) {
  Mat4 out;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) out(r, c) = m.m[r][c];
  return out;
}

// niftilib's reading of a file: shape, datatype, the matrix by our rule, and the voxels.
struct Oracle {
  std::array<int, 3> dim{};
  int frames = 0, datatype = 0;
  Mat4 vox2world;
  std::vector<double> values;
};

Oracle niftilib_read(const std::string& path) {
  nifti_image* nim = nifti_image_read(path.c_str(), 1);
  EXPECT_NE(nim, nullptr);
  Oracle o;
  if (!nim) return o;
  o.dim = {nim->nx, nim->ny, nim->nz};
  o.frames = nim->nt;
  o.datatype = nim->datatype;
  o.vox2world = to_mat4(nim->sform_code > 0 ? nim->sto_xyz : nim->qto_xyz);
  for (std::size_t i = 0; i < nim->nvox; ++i) {
    const char* p = static_cast<const char*>(nim->data) + i * nim->nbyper;
    const double v = visit_datatype(nim->datatype, [p](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (kDecoded<T>) {
        T stored;
        std::memcpy(&stored, p, sizeof(T));
        return static_cast<double>(stored);
      } else {
        return 0.0;
      }
    });
    o.values.push_back(v * (nim->scl_slope != 0 ? nim->scl_slope : 1.0) +
                       (nim->scl_slope != 0 ? nim->scl_inter : 0.0));
  }
  nifti_image_free(nim);
  return o;
}

// visit_datatype's types, checked against niftilib's own description of every code a
// header can hold: size, integer or not, signed or not (by the name).
TEST(NiftiDatatype, EachCodeHasTheTypeNiftilibDescribes) {
  int typed = 0;
  for (int code = std::numeric_limits<std::int16_t>::min();
       code <= std::numeric_limits<std::int16_t>::max(); ++code) {
    visit_datatype(code, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_void_v<T>) {
        EXPECT_EQ(std::count(std::begin(kDatatypes), std::end(kDatatypes), code), 0) << code;
      } else {
        SCOPED_TRACE(datatype_name(code));
        ++typed;
        int bytes = 0, swap_size = 0;
        nifti_datatype_sizes(code, &bytes, &swap_size);
        EXPECT_EQ(static_cast<int>(sizeof(T)), bytes);
        EXPECT_EQ(datatype_bytes(code), bytes);
        EXPECT_EQ(std::is_integral_v<T>, nifti_is_inttype(code) != 0);
        EXPECT_EQ(std::is_signed_v<T>, datatype_name(code)[0] != 'u');
      }
    });
  }
  EXPECT_EQ(typed, static_cast<int>(std::size(kDatatypes)));
}

// The names in messages: every code NIfTI defines by its name, any other as "code N".
TEST(NiftiDatatype, NamesAreNiftisInLowerCase) {
  const std::map<int, std::string> names = {
      {DT_BINARY, "binary"},       {DT_UINT8, "uint8"},           {DT_INT8, "int8"},
      {DT_INT16, "int16"},         {DT_UINT16, "uint16"},         {DT_INT32, "int32"},
      {DT_UINT32, "uint32"},       {DT_INT64, "int64"},           {DT_UINT64, "uint64"},
      {DT_FLOAT32, "float32"},     {DT_FLOAT64, "float64"},       {DT_FLOAT128, "float128"},
      {DT_COMPLEX64, "complex64"}, {DT_COMPLEX128, "complex128"}, {DT_COMPLEX256, "complex256"},
      {DT_RGB24, "rgb24"},         {DT_RGBA32, "rgba32"}};
  for (int code = std::numeric_limits<std::int16_t>::min();
       code <= std::numeric_limits<std::int16_t>::max(); ++code) {
    const auto it = names.find(code);
    const std::string want = it != names.end() ? it->second : "code " + std::to_string(code);
    ASSERT_EQ(datatype_name(code), want);
    ASSERT_EQ(is_defined_datatype(code), it != names.end()) << code;
  }
}

// What realign reads (every integer and real) and writes (not the 64-bit integers).
TEST(NiftiDatatype, DecodedAndWritableTypes) {
  for (int code = std::numeric_limits<std::int16_t>::min();
       code <= std::numeric_limits<std::int16_t>::max(); ++code) {
    const bool listed = std::count(std::begin(kDatatypes), std::end(kDatatypes), code) > 0;
    ASSERT_EQ(is_decoded_datatype(code), listed) << code;
    ASSERT_EQ(is_writable_datatype(code), listed && code != DT_INT64 && code != DT_UINT64) << code;
  }
}

TEST(NiftiHeader, EveryDatatypeAndByteOrderAgreesWithNiftilib) {
  nifti_set_debug_level(0);
  const std::string dir = realign::testing::temp_dir("hdr");
  for (int datatype : kDatatypes) {
    for (bool swap : {false, true}) {
      const std::string what = datatype_name(datatype) + (swap ? " swapped" : " native");
      SCOPED_TRACE(what);
      const nifti_1_header h = base_header(datatype);
      const std::vector<char> bytes = file_of(h, voxel_bytes(datatype, voxel_count(h)), swap);
      const std::string path = dir + "/f.nii";
      write_file(path, as_string(bytes));
      const Oracle o = niftilib_read(path);
      for (const std::vector<char>& stored : {bytes, gzip(bytes)}) {
        const SeriesFile file(kName, stored);
        const NiftiInfo& info = file.info();
        EXPECT_EQ(info.swapped, swap);
        EXPECT_EQ(info.gzip, stored.size() != bytes.size());
        EXPECT_EQ(info.datatype, o.datatype);
        EXPECT_EQ(info.bytes_per_voxel, bytes_of(datatype));
        EXPECT_EQ(info.grid.dim, o.dim);
        EXPECT_EQ(info.frames, o.frames);
        EXPECT_EQ(info.data_bytes, voxel_count(h) * bytes_of(datatype));
        EXPECT_NEAR(info.tr_s, 1.5, 1e-9);
        EXPECT_LT((info.grid.vox2world - o.vox2world).cwiseAbs().maxCoeff(), 1e-6);
        const std::vector<float> values = all_frames(file);
        ASSERT_EQ(values.size(), o.values.size());
        for (std::size_t i = 0; i < values.size(); ++i)
          ASSERT_EQ(values[i], static_cast<float>(o.values[i])) << i;
      }
      // From the file too: the same header, the same voxels.
      const SeriesFile from_disk(path);
      EXPECT_EQ(from_disk.info().swapped, swap);
      const std::vector<float> values = all_frames(from_disk);
      for (std::size_t i = 0; i < values.size(); ++i)
        ASSERT_EQ(values[i], static_cast<float>(o.values[i])) << i;
    }
  }
}

// qform with a rotation, pixdim only, and sform beside a different qform: niftilib's
// matrix for the transform our rule picks.
TEST(NiftiHeader, GeometryAgreesWithNiftilib) {
  nifti_set_debug_level(0);
  const std::string dir = realign::testing::temp_dir("hdr");
  std::vector<std::pair<std::string, std::function<void(nifti_1_header&)>>> cases = {
      {"qform",
       [](nifti_1_header& h) {
         h.sform_code = 0;
         h.qform_code = NIFTI_XFORM_SCANNER_ANAT;
         h.quatern_b = 0.1f;
         h.quatern_c = -0.2f;
         h.quatern_d = 0.3f;
         h.qoffset_x = 12.0f;
         h.qoffset_y = -7.0f;
         h.qoffset_z = 3.5f;
         h.pixdim[0] = -1.0f;  // left-handed
       }},
      {"pixdim only", [](nifti_1_header& h) { h.sform_code = 0; }},
      {"sform over qform",
       [](nifti_1_header& h) {
         h.qform_code = NIFTI_XFORM_ALIGNED_ANAT;
         h.quatern_d = 0.5f;
         h.srow_x[1] = 0.4f;
         h.srow_y[0] = -0.3f;
       }},
  };
  for (const auto& [what, edit] : cases) {
    SCOPED_TRACE(what);
    nifti_1_header h = base_header();
    edit(h);
    const std::string path = dir + "/g.nii";
    write_file(path, as_string(file_of(h)));
    const NiftiInfo info = read_nifti_header(path);
    EXPECT_LT((info.grid.vox2world - niftilib_read(path).vox2world).cwiseAbs().maxCoeff(), 1e-5);
  }
}

TEST(NiftiHeader, EachBadFieldIsRefusedByName) {
  using Edit = std::function<void(nifti_1_header&)>;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<std::tuple<std::string, std::string, Edit>> cases = {
      {"sizeof_hdr 100", "sizeof_hdr", [](auto& h) { h.sizeof_hdr = 100; }},
      {"NIfTI-2", "NIfTI-2", [](auto& h) { h.sizeof_hdr = 540; }},
      {"ni1 pair", ".hdr/.img", [](auto& h) { std::memcpy(h.magic, "ni1\0", 4); }},
      {"ANALYZE", "ANALYZE", [](auto& h) { std::memset(h.magic, 0, 4); }},
      {"bad magic", "magic", [](auto& h) { std::memcpy(h.magic, "n+2\0", 4); }},
      {"dim[0] 0", "dim[0]", [](auto& h) { h.dim[0] = 0; }},
      {"dim[0] 8", "dim[0]", [](auto& h) { h.dim[0] = 8; }},
      {"dim[0] -1", "dim[0]", [](auto& h) { h.dim[0] = -1; }},
      {"dim[2] -5", "dim[2]", [](auto& h) { h.dim[2] = -5; }},
      {"dim[3] 0", "dim[3]", [](auto& h) { h.dim[3] = 0; }},
      {"dim[4] 0", "dim[4]", [](auto& h) { h.dim[4] = 0; }},
      {"5D", "dim[5]", [](auto& h) { h.dim[0] = 5, h.dim[5] = 2; }},
      {"unknown datatype", "unknown datatype code 3", [](auto& h) { h.datatype = 3; }},
      {"complex64", "complex64", [](auto& h) { h.datatype = DT_COMPLEX64, h.bitpix = 64; }},
      {"complex128", "complex128", [](auto& h) { h.datatype = DT_COMPLEX128, h.bitpix = 128; }},
      {"rgb24", "rgb24", [](auto& h) { h.datatype = DT_RGB24, h.bitpix = 24; }},
      {"rgba32", "rgba32", [](auto& h) { h.datatype = DT_RGBA32, h.bitpix = 32; }},
      {"float128", "float128", [](auto& h) { h.datatype = DT_FLOAT128, h.bitpix = 128; }},
      {"binary", "binary", [](auto& h) { h.datatype = DT_BINARY, h.bitpix = 1; }},
      {"bitpix", "bitpix", [](auto& h) { h.bitpix = 8; }},
      {"vox_offset NaN", "vox_offset", [=](auto& h) { h.vox_offset = nan; }},
      {"vox_offset -1", "vox_offset", [](auto& h) { h.vox_offset = -1; }},
      {"vox_offset 100", "vox_offset", [](auto& h) { h.vox_offset = 100; }},
      {"vox_offset 348", "vox_offset", [](auto& h) { h.vox_offset = 348; }},
      {"vox_offset 352.5", "vox_offset", [](auto& h) { h.vox_offset = 352.5f; }},
      {"vox_offset 1e30", "vox_offset", [](auto& h) { h.vox_offset = 1e30f; }},
      {"pixdim[1] 0", "pixdim[1]", [](auto& h) { h.pixdim[1] = 0; }},
      {"pixdim[2] -1", "pixdim[2]", [](auto& h) { h.pixdim[2] = -1; }},
      {"pixdim[3] NaN", "pixdim[3]", [=](auto& h) { h.pixdim[3] = nan; }},
      {"pixdim[1] inf", "pixdim[1]", [=](auto& h) { h.pixdim[1] = inf; }},
      {"scl_slope inf", "scl_slope", [=](auto& h) { h.scl_slope = inf; }},
      {"scl_slope -inf", "scl_slope", [=](auto& h) { h.scl_slope = -inf; }},
      {"scl_inter inf", "scl_inter", [=](auto& h) { h.scl_slope = 2, h.scl_inter = inf; }},
      {"qform_code 99", "qform_code", [](auto& h) { h.qform_code = 99; }},
      {"qform_code -1", "qform_code", [](auto& h) { h.qform_code = -1; }},
      {"sform_code -3", "sform_code", [](auto& h) { h.sform_code = -3; }},
      {"sform zero", "sform",
       [](auto& h) {
         std::memset(h.srow_x, 0, 16), std::memset(h.srow_y, 0, 16), std::memset(h.srow_z, 0, 16);
       }},
      {"sform NaN", "sform", [=](auto& h) { h.srow_y[1] = nan; }},
      {"sform inf offset", "sform", [=](auto& h) { h.srow_z[3] = inf; }},
      {"sform rank 2", "sform", [](auto& h) { std::memcpy(h.srow_z, h.srow_x, 16); }},
      {"qform NaN", "qform",
       [=](auto& h) { h.sform_code = 0, h.qform_code = 1, h.quatern_c = nan; }},
      {"qform offset inf", "qform",
       [=](auto& h) { h.sform_code = 0, h.qform_code = 2, h.qoffset_y = inf; }},
  };
  for (const auto& [what, field, edit] : cases) {
    nifti_1_header h = base_header();
    edit(h);
    expect_refused(refusal(h), field, what);
    // In the other byte order too: the checks see the header as the file means it.
    expect_refused(refusal(h, true), field, what + " (swapped)");
  }
}

TEST(NiftiHeader, SizesAreCheckedAgainstTheFile) {
  const std::vector<char> good = file_of(base_header());
  expect_refused(refusal(std::vector<char>(good.begin(), good.begin() + 200)), "too short",
                 "short header");
  expect_refused(refusal(std::vector<char>(good.begin(), good.end() - 1)),
                 "truncated: the header promises " + std::to_string(good.size()) +
                     " bytes, the file holds " + std::to_string(good.size() - 1),
                 "one byte short");
  // Trailing bytes after the voxels are ignored, as NIfTI readers do.
  std::vector<char> longer = good;
  longer.resize(good.size() + 100, '\x7f');
  EXPECT_EQ(all_frames(SeriesFile(kName, longer)), all_frames(SeriesFile(kName, good)));

  // 32767^4 int16 voxels (2.3e18 bytes): refused from the header and the file size alone.
  nifti_1_header huge = base_header();
  for (int d = 1; d <= 4; ++d) huge.dim[d] = 32767;
  const std::vector<char> head = file_of(huge, {});
  expect_refused(refusal(head), "truncated: the header promises 2305561547121623394 bytes", "huge");
  expect_refused(refusal(gzip(head)), "more than a gzip file of", "huge gzip");
  const std::string path = realign::testing::temp_dir("hdr") + "/huge.nii.gz";
  write_file(path, as_string(gzip(head)));
  try {
    read_nifti_header(path);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("huge.nii.gz: the header promises"), std::string::npos)
        << e.what();
  }
}

TEST(NiftiHeader, GzipInflatesToExactlyWhatTheHeaderPromises) {
  const std::vector<char> good = file_of(base_header());
  // A bomb: a header promising 240 bytes of voxels, then a megabyte of zeros.
  std::vector<char> bomb = good;
  bomb.resize(good.size() + (1 << 20), '\0');
  expect_refused(refusal(gzip(bomb)),
                 "inflates to more than the " + std::to_string(good.size()) + " bytes", "bomb");
  // Fewer bytes than promised (but within deflate's ratio).
  const std::vector<char> shorter(good.begin(), good.end() - 10);
  expect_refused(refusal(gzip(shorter)),
                 "truncated: the header promises " + std::to_string(good.size()) +
                     " bytes, the gzip data inflates to " + std::to_string(shorter.size()),
                 "short gzip");
  // A cut stream and a corrupt one.
  const std::vector<char> gz = gzip(good);
  expect_refused(refusal(std::vector<char>(gz.begin(), gz.end() - 6)), "gzip", "cut gzip");
  std::vector<char> flipped = gz;
  flipped[flipped.size() - 6] ^= 0x55;  // the CRC
  expect_refused(refusal(flipped), "corrupt", "bad CRC");
  // A few trailing bytes, like an uncompressed file may carry, are accepted.
  std::vector<char> trailing = good;
  trailing.resize(good.size() + 64, '\0');
  EXPECT_EQ(all_frames(SeriesFile(kName, gzip(trailing))), all_frames(SeriesFile(kName, good)));
  // Two members, split inside the header, read as one stream.
  std::vector<char> two = gzip(std::vector<char>(good.begin(), good.begin() + 100));
  const std::vector<char> rest = gzip(std::vector<char>(good.begin() + 100, good.end()));
  two.insert(two.end(), rest.begin(), rest.end());
  EXPECT_EQ(all_frames(SeriesFile(kName, two)), all_frames(SeriesFile(kName, good)));
}

// Only the header is inflated by read_nifti_header: a file whose voxels are corrupt
// passes it, and fails when the voxels are read.
TEST(NiftiHeader, ReadingTheHeaderInflatesOnlyTheHeader) {
  nifti_1_header h = base_header(DT_FLOAT64);
  h.dim[1] = h.dim[2] = 64;  // 200 kB of voxels, far beyond zlib's first read
  h.dim[3] = 6;
  const std::vector<char> good = file_of(h);
  std::vector<char> gz = gzip(good);
  gz[gz.size() - 6] ^= 0x55;  // the CRC, checked only at the end of the stream
  const std::string path = realign::testing::temp_dir("hdr") + "/crc.nii.gz";
  write_file(path, as_string(gz));
  const NiftiInfo info = read_nifti_header(path);
  EXPECT_TRUE(info.gzip);
  EXPECT_EQ(info.stored_bytes, gz.size());
  EXPECT_EQ(info.image_bytes(), good.size());
  EXPECT_THROW(SeriesFile{path}, InputError);
}

TEST(NiftiHeader, NoValueEncodingsAreAccepted) {
  const std::vector<float> plain = all_frames(SeriesFile(kName, file_of(base_header())));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // scl_slope 0 or NaN: no scaling, whatever scl_inter says.
  for (float slope : {0.0f, nan}) {
    nifti_1_header h = base_header();
    h.scl_slope = slope;
    h.scl_inter = 1000.0f;
    const SeriesFile f(kName, file_of(h));
    EXPECT_EQ(all_frames(f), plain);
    EXPECT_FALSE(f.info().scaled);
    const auto* raw = static_cast<const nifti_1_header*>(f.header().raw.get());
    EXPECT_EQ(raw->scl_slope, 0.0f);
    EXPECT_EQ(raw->scl_inter, 0.0f);
  }
  {  // scl_inter NaN: 0.
    nifti_1_header h = base_header();
    h.scl_slope = 2.0f;
    h.scl_inter = nan;
    const std::vector<float> scaled = all_frames(SeriesFile(kName, file_of(h)));
    for (std::size_t i = 0; i < plain.size(); ++i) ASSERT_EQ(scaled[i], 2.0f * plain[i]);
  }
  // TR NaN, infinite or negative: unknown (0), in the header copy too.
  for (float tr : {nan, std::numeric_limits<float>::infinity(), -2.0f}) {
    nifti_1_header h = base_header();
    h.pixdim[4] = tr;
    const SeriesFile f(kName, file_of(h));
    EXPECT_EQ(f.tr_s(), 0.0);
    EXPECT_EQ(static_cast<const nifti_1_header*>(f.header().raw.get())->pixdim[4], 0.0f);
  }
  {  // TR in milliseconds.
    nifti_1_header h = base_header();
    h.pixdim[4] = 2500.0f;
    h.xyzt_units = NIFTI_UNITS_MM | NIFTI_UNITS_MSEC;
    EXPECT_NEAR(SeriesFile(kName, file_of(h)).tr_s(), 2.5, 1e-9);
  }
  {  // A 2D image: the unused pixdim[3] may be 0; one frame.
    nifti_1_header h = base_header();
    h.dim[0] = 2;
    h.pixdim[3] = 0.0f;
    h.sform_code = 0;
    const SeriesFile f(kName, file_of(h));
    EXPECT_EQ(f.frames(), 1);
    EXPECT_EQ(f.grid().dim, (std::array<int, 3>{5, 4, 1}));
    EXPECT_EQ(f.grid().vox2world(2, 2), 1.0);
  }
  {  // 3D, and 5D with dim[5] = 1, and code 5 (NIFTI_XFORM_TEMPLATE_OTHER).
    nifti_1_header h = base_header();
    h.dim[0] = 3;
    EXPECT_EQ(SeriesFile(kName, file_of(h)).frames(), 1);
    h = base_header();
    h.dim[0] = 5;
    h.sform_code = 5;
    EXPECT_EQ(SeriesFile(kName, file_of(h)).frames(), 2);
  }
}

}  // namespace
