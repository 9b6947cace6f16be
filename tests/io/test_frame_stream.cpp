// Reading a series frame by frame (FrameStream) gives exactly what reading it whole does.
#include <gtest/gtest.h>
#include <nifti1_io.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "realign/io/frame_stream.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

// Every frame streamed and decoded, against the whole series read at once.
void expect_same_as_whole(const std::string& path) {
  const Series whole = read_series(path);
  FrameStream stream(path);
  ASSERT_EQ(stream.info().frames, whole.frames);
  const std::size_t nv = whole.grid.voxels();
  std::vector<char> raw(stream.frame_bytes());
  std::vector<float> frame(nv);
  std::size_t nonfinite = 0;
  for (int f = 0; f < whole.frames; ++f) {
    ASSERT_EQ(stream.position(), f);
    stream.next(raw.data());
    nonfinite += decode_frame(stream.info(), raw.data(), frame.data());
    ASSERT_EQ(0, std::memcmp(frame.data(), whole.frame(f), nv * sizeof(float))) << path << " " << f;
  }
  EXPECT_EQ(nonfinite, whole.nonfinite_voxels);
  EXPECT_THROW(stream.next(raw.data()), std::out_of_range);
}

TEST(FrameStream, EveryFrameAsWhenReadWhole) {
  const std::string dir = realign::testing::temp_dir("stream");
  realign::testing::write_small_series(dir);
  for (const char* name : {"f.nii", "f.nii.gz", "s.nii.gz"}) expect_same_as_whole(dir + "/" + name);
}

// A big-endian file: the stream hands out this machine's byte order.
TEST(FrameStream, BigEndianAndGzipSingleMember) {
  const std::string dir = realign::testing::temp_dir("stream-be");
  {
    const std::string bytes = realign::testing::big_endian_int16_nii({5, 4, 3}, 2);
    std::ofstream(dir + "/be.nii", std::ios::binary).write(bytes.data(), bytes.size());
  }
  expect_same_as_whole(dir + "/be.nii");
  // The same file as one gzip member (as gzip(1) writes it).
  ASSERT_EQ(0, std::system(("gzip -k -c " + dir + "/be.nii > " + dir + "/be.nii.gz").c_str()));
  expect_same_as_whole(dir + "/be.nii.gz");
}

TEST(FrameStream, TruncatedOrCorruptDataIsAnErrorNamingTheFile) {
  Grid g;
  g.dim = {16, 16, 8};
  std::vector<float> data(g.voxels() * 3);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(std::sin(i * 0.01));
  const std::string dir = realign::testing::temp_dir("stream-bad");
  write_image(dir + "/ok.nii.gz", make_header(g, 3, 1.0, 16), g, 3, data.data(),
              OutputType::Float32);
  std::ifstream in(dir + "/ok.nii.gz", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::string flipped = bytes;
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 32; ++i) flipped[i] ^= 0x5a;
  {
    std::ofstream(dir + "/short.nii.gz", std::ios::binary)
        .write(bytes.data(), bytes.size() * 3 / 4);
    std::ofstream(dir + "/flipped.nii.gz", std::ios::binary).write(flipped.data(), flipped.size());
  }
  for (const char* name : {"short.nii.gz", "flipped.nii.gz"}) {
    FrameStream s(dir + "/" + name);
    std::vector<char> raw(s.frame_bytes());
    try {
      for (int f = 0; f < 3; ++f) s.next(raw.data());
      ADD_FAILURE() << name << " read without error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace realign
