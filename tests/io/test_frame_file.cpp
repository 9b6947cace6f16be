// Frames read on demand from disk (FrameFile), from a .nii in place or from a .nii.gz
// inflated whole at once (FrameFile::finish, as rank 0 does for the other ranks) or as reads
// need it (FrameFile::inflate_on_demand, as one process does), are
// exactly what reading the series whole gives; the inflated copy is refused where reading
// whole refuses the gzip stream.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nifti1_io.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

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

// The .nii.gz inflated whole into a scratch file, then read from there by a file of its
// own, as the other ranks read what rank 0 inflated.
void expect_inflated_as_whole(const std::string& gz) {
  const std::string scratch = gz + ".scratch";
  const int fd = ::open(scratch.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  const NiftiInfo info = read_nifti_header(gz);
  FrameFile::inflate_on_demand(gz, info, fd, scratch)->finish();
  ::close(fd);
  expect_frames_as_whole(FrameFile(scratch, info, 0, false, gz), gz);
}

// The .nii.gz inflated as reads need it: frame 1 first (as choosing the reference does),
// then a watcher, then every frame by three threads at once, from the last; the watcher
// must see every frame once, in order, as read() gives it, and the stream must end well.
void expect_inflated_on_demand_as_whole(const std::string& gz) {
  const std::string scratch = gz + ".demand";
  const int fd = ::open(scratch.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  const NiftiInfo info = read_nifti_header(gz);
  const auto file = FrameFile::inflate_on_demand(gz, info, fd, scratch);
  ::close(fd);  // the file keeps its own
  ASSERT_TRUE(file->inflates());
  const Series whole = read_series(gz);
  const std::size_t nv = whole.grid.voxels();
  std::vector<float> frame(nv);
  file->read(0, frame.data());
  std::vector<int> seen;
  std::size_t seen_nonfinite = 0;
  file->watch([&](int f, const float* values, std::size_t nonfinite) {
    EXPECT_EQ(0, std::memcmp(values, whole.frame(f), nv * sizeof(float))) << gz << " " << f;
    seen.push_back(f);
    seen_nonfinite += nonfinite;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) readers.emplace_back([&] { expect_frames_as_whole(*file, gz); });
  for (std::thread& r : readers) r.join();
  file->finish();
  std::vector<int> in_order(whole.frames);
  for (int f = 0; f < whole.frames; ++f) in_order[f] = f;
  EXPECT_EQ(seen, in_order) << gz;
  EXPECT_EQ(seen_nonfinite, whole.nonfinite_voxels);
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
  for (const char* name : {"f.nii.gz", "s.nii.gz"}) {
    expect_inflated_as_whole(dir + "/" + name);
    expect_inflated_on_demand_as_whole(dir + "/" + name);
  }
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
  expect_inflated_on_demand_as_whole(dir + "/be.nii.gz");
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
  expect_inflated_on_demand_as_whole(dir + "/trailing.nii.gz");
  for (const char* name : {"crc.nii.gz", "bomb.nii.gz"}) {
    const std::string path = dir + "/" + name;
    EXPECT_THROW(SeriesFile{path}, InputError) << name;
    const int fd = ::open((path + ".scratch").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    try {
      FrameFile::inflate_on_demand(path, read_nifti_header(path), fd, path + ".scratch")->finish();
      ADD_FAILURE() << name << " inflated without error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
    ::close(fd);
    // Inflated on demand: refused too, at the latest by finish() (a file this small has its
    // CRC checked already when its header is read).
    const std::string demand = path + ".demand";
    const int dfd = ::open(demand.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    std::vector<float> frame(g.voxels());
    EXPECT_THROW(
        {
          const auto file =
              FrameFile::inflate_on_demand(path, read_nifti_header(path), dfd, demand);
          file->read(1, frame.data());
          file->read(0, frame.data());
          EXPECT_EQ(9.0f, frame[3]) << name;
          file->finish();
        },
        InputError)
        << name;
    ::close(dfd);
  }
}

// A stream cut short: the frames before the cut read as they are, any frame after it is
// refused naming the file, on every later ask (whichever thread asks), and so is the end.
TEST(FrameFile, OnDemandRefusesACutStreamOnEveryAsk) {
  // Frames larger than a read of the stream (FrameStream::kReadBytes), so that the cut
  // falls a few reads in.
  Grid g = small_grid();
  g.dim = {64, 64, 20};
  const int frames = 6;
  std::vector<float> data(g.voxels() * frames);
  std::uint32_t state = 12345;  // values gzip cannot shrink much
  for (float& v : data) v = static_cast<float>((state = state * 1664525u + 1013904223u) >> 8);
  const std::string dir = realign::testing::temp_dir("framefile-cut");
  write_image(dir + "/ok.nii", make_header(g, frames, 1.0, 16), g, frames, data.data(),
              OutputType::Float32);
  const std::string gz = gzip_of(dir, slurp(dir + "/ok.nii"));
  write_file(dir + "/cut.nii.gz", gz.substr(0, gz.size() * 3 / 5));
  const std::string path = dir + "/cut.nii.gz";
  const int fd = ::open((dir + "/scratch").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  const auto file =
      FrameFile::inflate_on_demand(path, read_nifti_header(path), fd, dir + "/scratch");
  ::close(fd);
  std::vector<float> frame(g.voxels());
  file->read(0, frame.data());
  EXPECT_EQ(0, std::memcmp(frame.data(), data.data(), g.voxels() * sizeof(float)));
  for (int ask = 0; ask < 2; ++ask) {
    std::string message;
    std::thread([&] {
      try {
        file->read(frames - 1, frame.data());
      } catch (const InputError& e) {
        message = e.what();
      }
    }).join();
    EXPECT_NE(message.find("cut.nii.gz"), std::string::npos) << "ask " << ask << ": " << message;
  }
  EXPECT_THROW(file->finish(), InputError);
  file->read(0, frame.data());  // what was inflated stays readable
  EXPECT_EQ(0, std::memcmp(frame.data(), data.data(), g.voxels() * sizeof(float)));
}

}  // namespace
}  // namespace realign
