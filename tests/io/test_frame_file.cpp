// Frames read on demand from disk (FrameFile), from a .nii in place or from a .nii.gz
// inflated once (inflate_voxels), are exactly what reading the series whole gives; the
// inflated copy is refused where reading whole refuses the gzip stream.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nifti1_io.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "realign/io/frame_file.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

using testing::slurp;
using testing::write_file;

// Every frame of `file`, in an order other than the file's, against the whole series.
void expect_frames_as_whole(const FrameFile& file, const std::string& path) {
  const Series whole = read_series(path);
  ASSERT_EQ(file.frames(), whole.frames);
  const std::size_t nv = whole.grid.voxels();
  std::vector<float> frame(nv);
  std::size_t nonfinite = 0;
  for (int f = whole.frames - 1; f >= 0; --f) {
    nonfinite += file.read(f, frame.data());
    ASSERT_EQ(0, std::memcmp(frame.data(), whole.frame(f), nv * sizeof(float))) << path << " " << f;
  }
  EXPECT_EQ(nonfinite, whole.nonfinite_voxels);
  EXPECT_THROW(file.read(whole.frames, frame.data()), std::out_of_range);
}

// The .nii.gz inflated into a scratch file, then read from there.
void expect_inflated_as_whole(const std::string& gz) {
  const std::string scratch = gz + ".scratch";
  const int fd = ::open(scratch.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  inflate_voxels(gz, fd, scratch);
  ::close(fd);
  const NiftiInfo info = read_nifti_header(gz);
  expect_frames_as_whole(FrameFile(scratch, info, 0, false, gz), gz);
}

std::string gzip_of(const std::string& dir, const std::string& bytes) {
  write_file(dir + "/plain.bin", bytes);
  EXPECT_EQ(0, std::system(("gzip -c " + dir + "/plain.bin > " + dir + "/plain.bin.gz").c_str()));
  return slurp(dir + "/plain.bin.gz");
}

Grid small_grid() {
  Grid g;
  g.dim = {13, 11, 7};
  g.vox2world.diagonal() << 3.0, 3.0, 3.5, 1.0;
  return g;
}

TEST(FrameFile, EveryFrameAsWhenReadWhole) {
  const std::string dir = realign::testing::temp_dir("framefile");
  realign::testing::write_small_series(dir);
  for (const char* name : {"f.nii", "s.nii"}) {
    const std::string path = dir + "/" + name;
    const NiftiInfo info = read_nifti_header(path);
    expect_frames_as_whole(FrameFile(path, info, info.vox_offset, info.swapped, path), path);
  }
  for (const char* name : {"f.nii.gz", "s.nii.gz"}) expect_inflated_as_whole(dir + "/" + name);
}

// A big-endian .nii read in place swaps each value; inflated, it is stored swapped already.
TEST(FrameFile, BigEndian) {
  const std::string dir = realign::testing::temp_dir("framefile-be");
  const std::string bytes = realign::testing::big_endian_int16_nii({5, 4, 3}, 2);
  write_file(dir + "/be.nii", bytes);
  const NiftiInfo info = read_nifti_header(dir + "/be.nii");
  ASSERT_TRUE(info.swapped);
  expect_frames_as_whole(FrameFile(dir + "/be.nii", info, info.vox_offset, true, "be.nii"),
                         dir + "/be.nii");
  write_file(dir + "/be.nii.gz", gzip_of(dir, bytes));
  expect_inflated_as_whole(dir + "/be.nii.gz");
}

// What SeriesFile refuses in a gzip stream beyond the last frame, inflating refuses too:
// a bad CRC at the very end, a stream that inflates to far more than the header promises.
// A few trailing bytes are accepted.
TEST(FrameFile, InflatingChecksTheWholeStream) {
  const Grid g = small_grid();
  std::vector<float> data(g.voxels() * 2, 7.0f);
  data[3] = 9.0f;
  const std::string dir = realign::testing::temp_dir("framefile-gz");
  write_image(dir + "/ok.nii", make_header(g, 2, 1.0, 16), g, 2, data.data(), OutputType::Float32);
  const std::string plain = slurp(dir + "/ok.nii");
  std::string crc = gzip_of(dir, plain);
  crc[crc.size() - 6] ^= 0x55;  // the CRC, 8 bytes from the end
  write_file(dir + "/crc.nii.gz", crc);
  write_file(dir + "/bomb.nii.gz", gzip_of(dir, plain + std::string(1 << 20, '\0')));
  write_file(dir + "/trailing.nii.gz", gzip_of(dir, plain + std::string(64, '\0')));
  expect_inflated_as_whole(dir + "/trailing.nii.gz");
  for (const char* name : {"crc.nii.gz", "bomb.nii.gz"}) {
    const std::string path = dir + "/" + name;
    EXPECT_THROW(SeriesFile{path}, InputError) << name;
    const int fd = ::open((path + ".scratch").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    try {
      inflate_voxels(path, fd, "scratch");
      ADD_FAILURE() << name << " inflated without error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
    ::close(fd);
  }
}

}  // namespace
}  // namespace realign
