// Reading a series frame by frame (FrameStream) gives exactly what reading it whole does,
// and every gzip member of a stream is checked, wherever the reads cut it.
#include <gtest/gtest.h>
#include <nifti1_io.h>
#include <zlib.h>

#include <cmath>
#include <cstring>

#include "realign/io/errors.hpp"
#include "realign/io/frame_stream.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

using testing::slurp;
using testing::write_file;

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
  write_file(dir + "/be.nii", realign::testing::big_endian_int16_nii({5, 4, 3}, 2));
  expect_same_as_whole(dir + "/be.nii");
  // The same file as one gzip member (as gzip(1) writes it).
  ASSERT_EQ(0, std::system(("gzip -k -c " + dir + "/be.nii > " + dir + "/be.nii.gz").c_str()));
  expect_same_as_whole(dir + "/be.nii.gz");
}

TEST(FrameStream, TruncatedOrCorruptDataIsAnErrorNamingTheFile) {
  const std::string dir = realign::testing::temp_dir("stream-bad");
  realign::testing::write_damaged_gzips(dir);
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

// ---------------------------------------------------------------------------------------
// Multi-member streams built here byte by byte (RFC 1952), with zlib's raw deflate as the
// compressor: streams no writer of ours makes.

void put_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::string raw_deflate(const std::string& data, int level) {
  z_stream z{};
  EXPECT_EQ(Z_OK, deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY));
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(Z_STREAM_END, deflate(&z, Z_FINISH));
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::uint32_t crc_of(const std::string& s) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

// A gzip member of `data` (level 0: stored blocks). With `fields`, its header has every
// optional field: FEXTRA of `extra` bytes, FNAME, FCOMMENT and the header's own CRC.
std::string gzip_member(const std::string& data, int level, bool fields, std::size_t extra = 0) {
  std::string m = {'\x1f', '\x8b', 8, fields ? '\x1e' : '\0', 0, 0, 0, 0, 0, 3};
  if (fields) {
    m += static_cast<char>(extra & 0xff);
    m += static_cast<char>(extra >> 8);
    m += std::string(extra, 'x');
    m += std::string("a name") + '\0' + "a comment" + '\0';
    const std::uint32_t hcrc = crc_of(m);
    m += static_cast<char>(hcrc & 0xff);
    m += static_cast<char>((hcrc >> 8) & 0xff);
  }
  m += raw_deflate(data, level);
  put_u32(m, crc_of(data));
  put_u32(m, static_cast<std::uint32_t>(data.size()));
  return m;
}

// A small float32 series as an uncompressed file's bytes.
std::string plain_series(const std::string& dir, int frames) {
  Grid g;
  g.dim = {32, 32, 40};  // 160 KiB a frame
  std::vector<float> data(g.voxels() * frames);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(std::cos(i * 0.003));
  write_image(dir + "/plain.nii", make_header(g, frames, 1.0, 16), g, frames, data.data(),
              OutputType::Float32);
  return slurp(dir + "/plain.nii");
}

// Every frame streamed from `gz` is the plain file's, and the stream ends cleanly.
void expect_frames_of(const std::string& gz, const std::string& plain) {
  FrameStream stream(gz);
  std::vector<char> raw(stream.frame_bytes());
  for (int f = 0; f < stream.info().frames; ++f) {
    stream.next(raw.data());
    ASSERT_EQ(0, std::memcmp(raw.data(), plain.data() + 352 + f * raw.size(), raw.size()))
        << gz << " frame " << f;
  }
  EXPECT_NO_THROW(stream.finish()) << gz;
}

// The file is read in parts: a member's header, its data and its trailer may each be cut
// between two reads, at any byte, and are put back together.
TEST(FrameStream, MembersCutAnywhereBetweenTwoReads) {
  const std::string dir = realign::testing::temp_dir("stream-cut");
  const std::string plain = plain_series(dir, 2);
  const std::size_t split = 200000;
  const std::string first_data = plain.substr(0, split);
  const std::string second = gzip_member(plain.substr(split), 6, true);
  const std::size_t second_header = second.size() - raw_deflate(plain.substr(split), 6).size() - 8;
  const std::size_t empty_extra = gzip_member(first_data, 0, true).size();
  // The first member is made to end where the cut between two reads falls at every byte
  // from the end of its data, through its trailer and the second member's header, into
  // the second member's data.
  const std::size_t cut = FrameStream::kReadBytes;
  for (std::size_t end = cut - second_header - 2; end <= cut + 10; ++end) {
    const std::string first = gzip_member(first_data, 0, true, end - empty_extra);
    ASSERT_EQ(first.size(), end);
    write_file(dir + "/cut.nii.gz", first + second);
    expect_frames_of(dir + "/cut.nii.gz", plain);
  }
  // gzip(1) accepts what was built.
  EXPECT_EQ(0, std::system(("gzip -t " + dir + "/cut.nii.gz").c_str()));
}

// A CRC or a length that does not match its member's data is an error in any member; so
// is data after the last member that is not a member, or one that inflates far beyond the
// header's promise. A small member of padding after the last is accepted.
TEST(FrameStream, EveryMemberIsChecked) {
  const std::string dir = realign::testing::temp_dir("stream-members");
  const std::string plain = plain_series(dir, 3);
  std::vector<std::string> parts;  // header and the first frame, then one member a frame
  const std::size_t frame = (plain.size() - 352) / 3;
  for (std::size_t at = 0, n = 352 + frame; at < plain.size(); at += n, n = frame)
    parts.push_back(gzip_member(plain.substr(at, n), 1, false));
  ASSERT_EQ(parts.size(), 3u);
  const auto joined = [&](const std::vector<std::string>& members) {
    std::string s;
    for (const std::string& m : members) s += m;
    return s;
  };
  write_file(dir + "/ok.nii.gz", joined(parts));
  expect_frames_of(dir + "/ok.nii.gz", plain);
  write_file(dir + "/padded.nii.gz",
             joined(parts) + gzip_member(std::string(100, '\0'), 9, true, 5));
  expect_frames_of(dir + "/padded.nii.gz", plain);
  EXPECT_EQ(0, std::system(("gzip -t " + dir + "/padded.nii.gz").c_str()));

  std::vector<std::pair<std::string, std::string>> bad;  // name, stream
  for (std::size_t m = 0; m < parts.size(); ++m) {
    for (const auto& [field, from_end] : {std::pair<const char*, std::size_t>{"crc", 8},
                                          std::pair<const char*, std::size_t>{"size", 4}}) {
      std::vector<std::string> members = parts;
      members[m][members[m].size() - from_end] ^= 0x01;
      bad.emplace_back(field + std::to_string(m) + ".nii.gz", joined(members));
    }
  }
  bad.emplace_back("garbage.nii.gz", joined(parts) + std::string(40, 'g'));
  bad.emplace_back("bomb.nii.gz",
                   joined(parts) + gzip_member(std::string(1 << 20, '\0'), 9, false));
  bad.emplace_back("cut_member.nii.gz",
                   joined(parts) + gzip_member(std::string(100, '\0'), 9, false).substr(0, 20));
  for (const auto& [name, bytes] : bad) {
    write_file(dir + "/" + name, bytes);
    // gzip(1) refuses the same streams, the bomb aside: it is sound gzip.
    const bool gzip_refuses =
        std::system(("gzip -t " + dir + "/" + name + " 2>/dev/null").c_str()) != 0;
    EXPECT_EQ(gzip_refuses, name != "bomb.nii.gz") << name;
    try {
      FrameStream s(dir + "/" + name);
      std::vector<char> raw(s.frame_bytes());
      for (int f = 0; f < 3; ++f) s.next(raw.data());
      s.finish();
      ADD_FAILURE() << name << " read without error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace realign
