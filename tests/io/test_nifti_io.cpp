#include <gtest/gtest.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <nifti1_io.h>
#include <omp.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>

#include "realign/core/rigid.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;

Grid oblique_grid() {
  Grid g;
  g.dim = {7, 6, 5};
  Mat4 scale = Mat4::Identity();
  scale.diagonal() << 2.5, 3.0, 3.5, 1.0;
  // A tilted grid, with the origin away from the world origin.
  g.vox2world = rigid_matrix({-40.0, 25.0, -12.0, 0.2, -0.15, 0.3}) * scale;
  return g;
}

std::vector<float> ramp(std::size_t n, float scale = 1.0f) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 37) % 101);
  return v;
}

// ITK reports LPS; our RAS matrix must be ITK's with x and y negated.
TEST(NiftiIo, ObliqueHeaderRasAgreesWithItkLps) {
  const Grid g = oblique_grid();
  const std::string path = realign::testing::temp_dir("nifti") + "/oblique.nii";
  // 3D, because ITK's reader drops the rotation when it reads a 4D file into a 3D image.
  const NiftiHeader h = make_header(g, 1, 2.0, datatype_from_name("float32"));
  const std::vector<float> data = ramp(g.voxels());
  write_image(path, h, g, 1, data.data(), OutputType::Float32);

  const Series s = read_series(path);
  EXPECT_LT((s.grid.vox2world - g.vox2world).cwiseAbs().maxCoeff(), 1e-4);

  using Image = itk::Image<float, 3>;
  auto reader = itk::ImageFileReader<Image>::New();
  reader->SetFileName(path);
  reader->UpdateOutputInformation();
  const Image* img = reader->GetOutput();
  Mat4 lps = Mat4::Identity();
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) lps(r, c) = img->GetDirection()[r][c] * img->GetSpacing()[c];
    lps(r, 3) = img->GetOrigin()[r];
  }
  Mat4 flip = Mat4::Identity();
  flip(0, 0) = -1;
  flip(1, 1) = -1;
  EXPECT_LT((flip * lps - s.grid.vox2world).cwiseAbs().maxCoeff(), 1e-4);
}

TEST(NiftiIo, RoundTripKeepsDataTimingAndShape) {
  const Grid g = oblique_grid();
  const std::string dir = realign::testing::temp_dir("nifti");
  const NiftiHeader h = make_header(g, 4, 1.5, datatype_from_name("float32"));
  const std::vector<float> data = ramp(g.voxels() * 4, 0.5f);
  for (const char* name : {"/a.nii", "/a.nii.gz"}) {
    write_image(dir + name, h, g, 4, data.data(), OutputType::Float32);
    NiftiHeader back;
    const Series s = read_series(dir + name, &back);
    EXPECT_EQ(s.frames, 4);
    EXPECT_EQ(s.grid.dim, g.dim);
    EXPECT_NEAR(s.tr_s, 1.5, 1e-6);
    EXPECT_EQ(back.datatype_name(), "float32");
    ASSERT_EQ(s.data.size(), data.size());
    for (std::size_t i = 0; i < data.size(); ++i) ASSERT_EQ(s.data[i], data[i]);
  }
}

// Gzip members in a file, each inflated by zlib on its own (as gzip(1) reads them): their
// count, and every byte they inflate to.
std::pair<int, std::string> gzip_members(const std::string& path) {
  const std::string gz = realign::testing::slurp(path);
  std::string data;
  int members = 0;
  std::size_t pos = 0;
  while (pos < gz.size()) {
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return {-1, ""};
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + pos));
    z.avail_in = static_cast<uInt>(gz.size() - pos);
    int rc = Z_OK;
    char buf[65536];
    while (rc == Z_OK) {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof(buf);
      rc = inflate(&z, Z_NO_FLUSH);
      data.append(buf, sizeof(buf) - z.avail_out);
    }
    pos += z.total_in;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) return {-1, ""};
    ++members;
  }
  return {members, data};
}

// .nii.gz frames are cut into members of 256 KiB that the threads compress: the file's
// bytes are the same for any thread count, and it is a plain multi-member gzip of the
// .nii file's bytes.
TEST(NiftiIo, GzipOutputIsTheSameForAnyThreadCount) {
  Grid g;
  g.dim = {100, 100, 9};  // 360,000 bytes per float32 frame: two members
  const std::string dir = realign::testing::temp_dir("gzip_threads");
  const NiftiHeader h = make_header(g, 3, 2.0, datatype_from_name("float32"));
  const std::vector<float> data = ramp(g.voxels() * 3, 0.25f);
  const int threads = omp_get_max_threads();
  for (int t : {1, 2, 3}) {
    omp_set_num_threads(t);
    write_image(dir + "/t" + std::to_string(t) + ".nii.gz", h, g, 3, data.data(),
                OutputType::Float32);
  }
  omp_set_num_threads(threads);
  write_image(dir + "/plain.nii", h, g, 3, data.data(), OutputType::Float32);
  const auto one = gzip_members(dir + "/t1.nii.gz");
  EXPECT_EQ(one.first, 1 + 3 * 2);  // the header, then two per frame
  EXPECT_EQ(one.second, realign::testing::slurp(dir + "/plain.nii"));
  for (const char* other : {"/t2.nii.gz", "/t3.nii.gz"}) {
    std::ifstream a(dir + "/t1.nii.gz", std::ios::binary), b(dir + other, std::ios::binary);
    EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(a), std::istreambuf_iterator<char>(),
                           std::istreambuf_iterator<char>(b), std::istreambuf_iterator<char>()))
        << other;
  }
}

// Frames that do not compress (random bits) are stored as they are, in members gzip(1)
// reads back, barely larger than the data.
TEST(NiftiIo, GzipOfIncompressibleFramesHoldsTheBytes) {
  Grid g;
  g.dim = {100, 100, 9};
  const std::string dir = realign::testing::temp_dir("gzip_random");
  const NiftiHeader h = make_header(g, 2, 2.0, datatype_from_name("float32"));
  std::vector<float> data(g.voxels() * 2);
  std::mt19937 bits(7);
  for (float& v : data) {
    const std::uint32_t b = bits();
    std::memcpy(&v, &b, sizeof v);
  }
  write_image(dir + "/r.nii.gz", h, g, 2, data.data(), OutputType::Float32);
  write_image(dir + "/r.nii", h, g, 2, data.data(), OutputType::Float32);
  const std::string bytes = realign::testing::slurp(dir + "/r.nii");
  EXPECT_EQ(gzip_members(dir + "/r.nii.gz").second, bytes);
  EXPECT_LT(std::filesystem::file_size(dir + "/r.nii.gz"), bytes.size() * 1.001);
  EXPECT_EQ(0, std::system(("gzip -t " + dir + "/r.nii.gz").c_str()));
}

// --datatype input: the input's type, rounded and clamped, with its scaling kept.
TEST(NiftiIo, InputDatatypeRoundsAndClamps) {
  Grid g;
  g.dim = {4, 1, 1};
  const std::string dir = realign::testing::temp_dir("nifti");
  const NiftiHeader h = make_header(g, 1, 0.0, datatype_from_name("int16"));
  const float values[4] = {1.4f, -2.6f, 40000.0f, std::nanf("")};
  write_image(dir + "/i.nii", h, g, 1, values, OutputType::Input);
  NiftiHeader back;
  const Series s = read_series(dir + "/i.nii", &back);
  EXPECT_EQ(back.datatype_name(), "int16");
  EXPECT_EQ(s.data[0], 1.0f);
  EXPECT_EQ(s.data[1], -3.0f);
  EXPECT_EQ(s.data[2], 32767.0f);
  EXPECT_EQ(s.data[3], 0.0f);
}

// The studyforrest run carries scl_slope; ITK must have applied it (values are not
// the raw integers).
TEST(NiftiIo, ScalingFactorsAreApplied) {
  const std::string shared = realign::testing::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared is absent";
  const std::string path = shared + "/data/real/studyforrest_oneback_run-1_bold.nii.gz";
  NiftiHeader h;
  const Series s = read_series(path, &h);
  EXPECT_EQ(h.datatype_name(), "int16");
  // Raw int16 values times a non-integer slope leave fractional parts.
  std::size_t fractional = 0;
  for (std::size_t i = 0; i < s.frame_voxels(); ++i)
    fractional += std::fabs(s.data[i] - std::round(s.data[i])) > 1e-3;
  EXPECT_GT(fractional, s.frame_voxels() / 10);
}

TEST(NiftiIo, BadFilesGiveOneLineErrorsNamingTheFile) {
  const std::string dir = realign::testing::temp_dir("nifti");
  try {
    read_series(dir + "/missing.nii");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.nii: no such file"), std::string::npos);
  }
  {
    std::FILE* f = std::fopen((dir + "/text.nii").c_str(), "w");
    std::fputs("this is not an image\n", f);
    std::fclose(f);
  }
  try {
    read_series(dir + "/text.nii");
    FAIL();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos);
    EXPECT_NE(msg.find("text.nii: not a NIfTI"), std::string::npos);
  }
}

// Our decoder against ITK's NiftiImageIO on every datatype, with scaling and gzip.
TEST(NiftiIo, DecodingAgreesWithItkForEveryDatatype) {
  Grid g;
  g.dim = {9, 7, 5};
  g.vox2world.diagonal() << 2.0, 2.0, 3.0, 1.0;
  const std::size_t n = g.voxels() * 2;
  std::vector<float> data(n);
  for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<float>((i * 7919) % 200) + 0.25f;
  const std::string dir = realign::testing::temp_dir("itk");
  for (const char* type : {"uint8", "int16", "uint16", "int32", "float32", "float64"}) {
    for (const char* ext : {".nii", ".nii.gz"}) {
      const std::string path = dir + "/" + type + ext;
      write_image(path, make_header(g, 2, 1.0, datatype_from_name(type)), g, 2, data.data(),
                  OutputType::Input);
      const Series ours = read_series(path);
      using Image = itk::Image<float, 4>;
      auto reader = itk::ImageFileReader<Image>::New();
      reader->SetFileName(path);
      reader->Update();
      const float* theirs = reader->GetOutput()->GetBufferPointer();
      ASSERT_EQ(ours.data.size(), n);
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_EQ(ours.data[i], theirs[i]) << type << ext << " " << i;
    }
  }
}

// --datatype input for every type realign writes: each value rounded to the nearest
// integer and clamped to the type's range, or kept as it is in a real type.
TEST(NiftiIo, EveryWritableDatatypeRoundsAndClampsToItsRange) {
  Grid g;
  g.dim = {6, 1, 1};
  const float values[6] = {-1e10f, -130.4f, -0.6f, 2.5f, 300.7f, 5e9f};
  const std::string dir = realign::testing::temp_dir("nifti");
  const std::vector<std::pair<int, std::vector<float>>> cases = {
      {DT_UINT8, {0, 0, 0, 3, 255, 255}},
      {DT_INT8, {-128, -128, -1, 3, 127, 127}},
      {DT_INT16, {-32768, -130, -1, 3, 301, 32767}},
      {DT_UINT16, {0, 0, 0, 3, 301, 65535}},
      {DT_INT32, {-2147483648.0f, -130, -1, 3, 301, 2147483647.0f}},
      {DT_UINT32, {0, 0, 0, 3, 301, 4294967295.0f}},
      {DT_FLOAT32, {values, values + 6}},
      {DT_FLOAT64, {values, values + 6}},
  };
  for (const auto& [code, want] : cases) {
    SCOPED_TRACE(datatype_name(code));
    const std::string path = dir + "/w.nii";
    write_image(path, make_header(g, 1, 1.0, code), g, 1, values, OutputType::Input);
    NiftiHeader back;
    const Series s = read_series(path, &back);
    EXPECT_EQ(back.datatype, code);
    ASSERT_EQ(s.data.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(s.data[i], want[i]) << i;
  }
}

// 64-bit integers are read but never written, nor is anything without a C++ type.
TEST(NiftiIo, OtherDatatypesAreRefusedForOutput) {
  Grid g;
  g.dim = {2, 2, 2};
  for (int code : {DT_INT64, DT_UINT64, DT_COMPLEX64, DT_RGB24}) {
    const std::string want = "out.nii: cannot write datatype " + datatype_name(code);
    try {
      frame_format(make_header(g, 1, 1.0, code), OutputType::Input, "out.nii");
      ADD_FAILURE() << want;
    } catch (const OutputError& e) {
      EXPECT_EQ(e.what(), want);
    }
    // Float32 output does not depend on the input's type.
    EXPECT_EQ(frame_format(make_header(g, 1, 1.0, code), OutputType::Float32, "out.nii").datatype,
              DT_FLOAT32);
  }
}

TEST(NiftiIo, DatatypeNamesThePhantomOffers) {
  for (const char* name : {"uint8", "int16", "uint16", "int32", "float32", "float64"})
    EXPECT_EQ(datatype_name(datatype_from_name(name)), name);
  for (const char* name : {"int8", "uint32", "int64", "complex64", "INT16", "", "code 4"})
    EXPECT_THROW(datatype_from_name(name), std::invalid_argument) << name;
}

TEST(NiftiIo, ScalingMatchesItk) {
  Grid g;
  g.dim = {6, 5, 4};
  std::vector<float> data(g.voxels() * 2);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i % 50);
  const std::string path = realign::testing::temp_dir("itk") + "/scaled.nii";
  write_image(path, make_header(g, 2, 1.0, datatype_from_name("int16")), g, 2, data.data(),
              OutputType::Input);
  {
    // scl_slope and scl_inter live at bytes 112 and 116 of the header.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    const float slope = 0.37f, inter = -4.5f;
    f.seekp(112);
    f.write(reinterpret_cast<const char*>(&slope), 4);
    f.write(reinterpret_cast<const char*>(&inter), 4);
  }
  const Series ours = read_series(path);
  auto reader = itk::ImageFileReader<itk::Image<float, 4>>::New();
  reader->SetFileName(path);
  reader->Update();
  const float* theirs = reader->GetOutput()->GetBufferPointer();
  for (std::size_t i = 0; i < data.size(); ++i) {
    ASSERT_FLOAT_EQ(ours.data[i], theirs[i]);
    ASSERT_FLOAT_EQ(ours.data[i], data[i] * 0.37f - 4.5f);
  }
}

TEST(NiftiIo, NonFiniteVoxelsBecomeZeroAndAreCounted) {
  Grid g;
  g.dim = {4, 3, 2};
  std::vector<float> data(g.voxels() * 2, 5.0f);
  data[3] = std::nanf("");
  data[30] = INFINITY;
  const std::string path = realign::testing::temp_dir("nan") + "/nan.nii";
  write_image(path, make_header(g, 2, 1.0, datatype_from_name("float32")), g, 2, data.data(),
              OutputType::Float32);
  const Series s = read_series(path);
  EXPECT_EQ(s.nonfinite_voxels, 2u);
  EXPECT_EQ(s.data[3], 0.0f);
  EXPECT_EQ(s.data[30], 0.0f);
  EXPECT_EQ(s.data[4], 5.0f);
}

// Values that become non-finite only as float: a double beyond float's range, or an
// integer times a huge scl_slope. An odd voxel count puts some in the vector loops' tails.
TEST(NiftiIo, ValuesBeyondFloatAreZeroedAndCounted) {
  Grid g;
  g.dim = {5, 3, 3};
  const std::size_t n = g.voxels();
  std::vector<float> data(n * 2);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i % 7);
  const std::string dir = realign::testing::temp_dir("beyond");
  const auto patch = [](const std::string& path, long at, const void* bytes, int size) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(at);
    f.write(static_cast<const char*>(bytes), size);
  };
  const std::string wide = dir + "/wide.nii";
  write_image(wide, make_header(g, 2, 1.0, datatype_from_name("float64")), g, 2, data.data(),
              OutputType::Input);
  const long voxels_at = 352;  // a .nii's vox_offset
  const double big = 1e300, nan = std::nan("");
  for (long i : {0L, 44L, 89L}) patch(wide, voxels_at + 8 * i, &big, 8);
  patch(wide, voxels_at + 8 * 60, &nan, 8);
  const Series w = read_series(wide);
  EXPECT_EQ(w.nonfinite_voxels, 4u);
  for (std::size_t i = 0; i < w.data.size(); ++i)
    ASSERT_EQ(w.data[i], (i == 0 || i == 44 || i == 60 || i == 89) ? 0.0f : data[i]) << i;

  const std::string scaled = dir + "/scaled.nii";
  write_image(scaled, make_header(g, 2, 1.0, datatype_from_name("int16")), g, 2, data.data(),
              OutputType::Input);
  const float slope = 1e38f, inter = 0.0f;  // 3e38 is a float; 4e38 is not
  patch(scaled, 112, &slope, 4);
  patch(scaled, 116, &inter, 4);
  const Series s = read_series(scaled);
  std::size_t beyond = 0;
  for (std::size_t i = 0; i < s.data.size(); ++i) {
    const bool inf = data[i] >= 4.0f;
    beyond += inf;
    ASSERT_EQ(s.data[i], inf ? 0.0f : data[i] * slope) << i;
  }
  EXPECT_EQ(s.nonfinite_voxels, beyond);
}

TEST(NiftiIo, TruncatedAndCorruptGzipAreErrors) {
  const std::string dir = realign::testing::temp_dir("gz");
  const std::vector<float> data = realign::testing::write_damaged_gzips(dir);
  EXPECT_THROW(read_series(dir + "/short.nii.gz"), InputError);
  EXPECT_THROW(read_series(dir + "/flipped.nii.gz"), InputError);
  EXPECT_EQ(read_series(dir + "/ok.nii.gz").data.size(), data.size());
}

// A big-endian file (as some older scanners and tools write) decodes to the same values.
TEST(NiftiIo, BigEndianFilesDecode) {
  Grid g;
  g.dim = {5, 4, 3};
  g.vox2world.diagonal() << 2.0, 2.0, 2.5, 1.0;
  const NiftiHeader h = make_header(g, 2, 2.0, datatype_from_name("int16"));
  nifti_1_header be = *static_cast<const nifti_1_header*>(h.raw.get());
  be.vox_offset = 352.0f;
  std::memcpy(be.magic, "n+1\0", 4);
  swap_nifti_header(&be, 1);
  const std::size_t n = g.voxels() * 2;
  std::vector<std::int16_t> values(n);
  for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<std::int16_t>(i * 37 - 500);
  std::vector<std::int16_t> swapped = values;
  nifti_swap_2bytes(swapped.size(), swapped.data());
  const std::string path = realign::testing::temp_dir("endian") + "/be.nii";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(&be), sizeof(be));
    f.write("\0\0\0\0", 4);
    f.write(reinterpret_cast<const char*>(swapped.data()), swapped.size() * 2);
  }
  const Series s = read_series(path);
  EXPECT_EQ(s.grid.dim, g.dim);
  EXPECT_NEAR(s.tr_s, 2.0, 1e-6);
  EXPECT_LT((s.grid.vox2world - g.vox2world).cwiseAbs().maxCoeff(), 1e-5);
  ASSERT_EQ(s.data.size(), n);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(s.data[i], static_cast<float>(values[i]));
}

}  // namespace
