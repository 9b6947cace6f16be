#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "realign/core/rigid.hpp"
#include "realign/io/motion_files.hpp"
#include "report/sample_record.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

using testing::lines_of;
using testing::sample_rp;
using testing::slurp;
using testing::write_file;

TEST(RpFile, RoundTripAndFormat) {
  const std::string dir = testing::temp_dir("motion-files");
  const std::string path = dir + "/rp_test.txt";
  const auto rp = sample_rp();
  write_rp(path, rp);
  const auto back = read_rp(path);
  ASSERT_EQ(back.size(), rp.size());
  for (std::size_t n = 0; n < rp.size(); ++n) {
    for (int k = 0; k < 6; ++k) {
      // %.8e keeps 9 significant digits, so the bound is relative for large values.
      EXPECT_NEAR(back[n][k], rp[n][k], 1e-8 * std::max(1.0, std::abs(rp[n][k])));
    }
  }
  // Each line is the six values, each as " %.8e" (C's printf as the independent formatter).
  const auto lines = lines_of(slurp(path));
  ASSERT_EQ(lines.size(), rp.size());
  char expect[256];
  const auto& q = rp[2];
  std::snprintf(expect, sizeof expect, " %.8e %.8e %.8e %.8e %.8e %.8e", q[0], q[1], q[2], q[3],
                q[4], q[5]);
  EXPECT_EQ(lines[2], expect);
}

TEST(RpFile, ExactSpm12Layout) {
  // SPM12's save -ascii under Octave: one space before every value, 8 decimals, a signed
  // two-digit exponent, no padding of positive values, '\n' after every row.
  const std::string path = testing::temp_dir("motion-files") + "/rp_exact.txt";
  write_rp(path, {{0, 0, 0, 0, 0, 0},
                  {0.0117065835, 0.0474200459, -0.0341733363, 1.9838446e-4, -2.39211331e-4,
                   3.41635114e-4},
                  {-12.5, 1e-35, 123456.789, -1, 0.5, 2.5e100}});
  EXPECT_EQ(slurp(path),
            " 0.00000000e+00 0.00000000e+00 0.00000000e+00 0.00000000e+00 0.00000000e+00 "
            "0.00000000e+00\n"
            " 1.17065835e-02 4.74200459e-02 -3.41733363e-02 1.98384460e-04 -2.39211331e-04 "
            "3.41635114e-04\n"
            " -1.25000000e+01 1.00000000e-35 1.23456789e+05 -1.00000000e+00 5.00000000e-01 "
            "2.50000000e+100\n");
}

TEST(RpFile, SameBytesAsSpm12RpFiles) {
  // Parameters read from SPM12's own rp files and written again come out byte for byte
  // as SPM wrote them: same widths, separators, exponents and line ends.
  const std::string shared = testing::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared is absent";
  const std::string dir = shared + "/data/reference/spm12";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is absent";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 7 || name.compare(name.size() - 7, 7, "_rp.txt") != 0) continue;
    const std::string spm = slurp(entry.path().string());
    const std::string ours = testing::temp_dir("motion-files") + "/" + name;
    write_rp(ours, read_rp(entry.path().string()));
    EXPECT_EQ(slurp(ours), spm) << name;
    ++files;
  }
  if (files == 0) GTEST_SKIP() << "no SPM12 rp files in " << dir;
}

TEST(ParFile, McflirtOrderAndLayout) {
  const std::string path = testing::temp_dir("motion-files") + "/out.par";
  const auto rp = sample_rp();
  write_par(path, rp);
  const auto lines = lines_of(slurp(path));
  ASSERT_EQ(lines.size(), rp.size());
  for (std::size_t n = 0; n < rp.size(); ++n) {
    // MCFLIRT writes every value followed by two spaces, the last one included.
    ASSERT_GE(lines[n].size(), 2u);
    EXPECT_EQ(lines[n].substr(lines[n].size() - 2), "  ") << lines[n];
    EXPECT_EQ(lines[n].find("   "), std::string::npos) << lines[n];
    std::istringstream in(lines[n]);
    double v[6];
    for (double& x : v) ASSERT_TRUE(in >> x) << lines[n];
    double extra;
    EXPECT_FALSE(in >> extra) << lines[n];
    // Rotations (rp columns 4-6) first, then translations (rp columns 1-3).
    const int from_rp[6] = {3, 4, 5, 0, 1, 2};
    for (int k = 0; k < 6; ++k) {
      EXPECT_NEAR(v[k], rp[n][from_rp[k]], 1e-9 * std::max(1.0, std::abs(rp[n][from_rp[k]])));
    }
    // Byte for byte "%.10g  " per value (C's printf as the independent formatter).
    std::string expect;
    for (int k = 0; k < 6; ++k) {
      char cell[64];
      std::snprintf(cell, sizeof cell, "%.10g  ", rp[n][from_rp[k]]);
      expect += cell;
    }
    EXPECT_EQ(lines[n], expect);
  }
}

TEST(RpFile, ReadsSpmStyleFile) {
  const std::string dir = testing::temp_dir("motion-files");
  const std::string path = dir + "/rp_spm.txt";
  // Leading spaces, mixed widths, CRLF and a trailing blank line, as seen in the wild.
  write_file(
      path,
      "  0.00000000e+00   0.00000000e+00   0.00000000e+00   0.00000000e+00   0.00000000e+00  "
      " 0.00000000e+00\r\n"
      "  1.23456700e-02  -4.50000000e-01   2.00000000e+00  -1.00000000e-03   5.00000000e-04  "
      " 3.20000000e-03\r\n"
      " -1.00000000E+00\t2.5e-01 3 -0.002 +1.0e-3 0\n"
      "\n");
  const auto rp = read_rp(path);
  ASSERT_EQ(rp.size(), 3u);
  for (int k = 0; k < 6; ++k) EXPECT_EQ(rp[0][k], 0.0);
  EXPECT_DOUBLE_EQ(rp[1][0], 1.234567e-2);
  EXPECT_DOUBLE_EQ(rp[1][1], -0.45);
  EXPECT_DOUBLE_EQ(rp[1][2], 2.0);
  EXPECT_DOUBLE_EQ(rp[1][3], -1e-3);
  EXPECT_DOUBLE_EQ(rp[1][4], 5e-4);
  EXPECT_DOUBLE_EQ(rp[1][5], 3.2e-3);
  EXPECT_DOUBLE_EQ(rp[2][0], -1.0);
  EXPECT_DOUBLE_EQ(rp[2][1], 0.25);
  EXPECT_DOUBLE_EQ(rp[2][2], 3.0);
  EXPECT_DOUBLE_EQ(rp[2][3], -0.002);
  EXPECT_DOUBLE_EQ(rp[2][4], 1e-3);
  EXPECT_DOUBLE_EQ(rp[2][5], 0.0);
}

TEST(RpFile, BadContentThrowsWithPath) {
  const std::string dir = testing::temp_dir("motion-files");
  const auto expect_throw = [&](const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    write_file(path, text);
    try {
      read_rp(path);
      ADD_FAILURE() << name << " did not throw";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    }
  };
  expect_throw("five.txt", "0 0 0 0 0 0\n1 2 3 4 5\n");
  expect_throw("seven.txt", "0 0 0 0 0 0 0\n");
  expect_throw("word.txt", "0 0 0 0 0 abc\n");
  expect_throw("partial.txt", "0 0 0 0 0 1.5x\n");
  expect_throw("nan.txt", "0 0 0 0 0 nan\n");
  expect_throw("empty.txt", "");
  EXPECT_THROW(read_rp(dir + "/does-not-exist.txt"), std::runtime_error);
}

TEST(XfmFile, RoundTrip) {
  const std::string dir = testing::temp_dir("motion-files");
  const std::string path = dir + "/xfm.txt";
  std::vector<Mat4> xfm;
  for (const auto& q : sample_rp()) xfm.push_back(rigid_matrix(q));
  Mat4 affine = rigid_matrix({-90.5, 126.25, -72.125, 0.1, 0.2, 0.3});
  affine.topLeftCorner<3, 3>() *= 2.5;  // also non-rigid content
  xfm.push_back(affine);
  write_xfm(path, xfm);

  const std::string text = slurp(path);
  EXPECT_EQ(text.front(), '#');
  EXPECT_NE(text.find("# frame 1\n"), std::string::npos);  // numbered from 1, as SPM
  EXPECT_NE(text.find("# frame 5\n"), std::string::npos);

  const auto back = read_xfm(path);
  ASSERT_EQ(back.size(), xfm.size());
  for (std::size_t n = 0; n < xfm.size(); ++n) {
    EXPECT_LE((back[n] - xfm[n]).cwiseAbs().maxCoeff(), 1e-8) << "frame " << n;
  }

  write_xfm(path, {});
  EXPECT_TRUE(read_xfm(path).empty());
}

TEST(XfmFile, BadContentThrows) {
  const std::string dir = testing::temp_dir("motion-files");
  const std::string short_path = dir + "/short.txt";
  write_file(short_path, "# frame 0\n1 0 0 0\n0 1 0 0\n0 0 1 0\n");
  EXPECT_THROW(read_xfm(short_path), std::runtime_error);
  const std::string bottom = dir + "/bottom.txt";
  write_file(bottom, "1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 1 1\n");
  EXPECT_THROW(read_xfm(bottom), std::runtime_error);
  const std::string wide = dir + "/wide.txt";
  write_file(wide, "1 0 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n");
  EXPECT_THROW(read_xfm(wide), std::runtime_error);
}

// std::to_chars without a format: the shortest digits that read back to the same double,
// as %f or %e, whichever is shorter. The independent truth for the xfm numbers.
std::string to_chars_shortest(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

TEST(XfmFile, ShortestDigitsThatReadBackExactly) {
  // Magnitudes where the two notations trade places (1e-4, 1e15 ... 1e22), integers past
  // 2^53 whose exact digits are not the shortest ones, the extremes of the doubles, powers
  // of two (uneven rounding intervals), and random values of every exponent.
  std::vector<double> values = {0.0,
                                -0.0,
                                1e-4,
                                -1e-4,
                                1.5e-5,
                                0.001,
                                1e15,
                                1e16,
                                123456.0,
                                1e21,
                                1e22,
                                1.2345678901234567e21,
                                0x1p60,
                                0x1p-30,
                                1.0 / 3,
                                -2.0 / 3,
                                0.1,
                                5e-324,
                                1.7976931348623157e308,
                                2.2250738585072014e-308};
  for (int e = -60; e <= 80; e += 7) values.push_back(std::ldexp(1.0, e));
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-40, 40);
  while (values.size() % 12 != 0 || values.size() < 240) {
    values.push_back(mantissa(gen) * std::pow(10.0, exponent(gen)));
  }
  std::vector<Mat4> xfm;
  for (std::size_t i = 0; i < values.size(); i += 12) {
    Mat4 m = Mat4::Identity();
    for (int k = 0; k < 12; ++k) m(k / 4, k % 4) = values[i + k];
    xfm.push_back(m);
  }
  const std::string path = testing::temp_dir("motion-files") + "/xfm_digits.txt";
  write_xfm(path, xfm);

  std::string expect;
  for (std::size_t n = 0; n < xfm.size(); ++n) {
    expect += "# frame " + std::to_string(n + 1) + "\n";
    for (int i = 0; i < 4; ++i) {
      for (int k = 0; k < 4; ++k) expect += (k ? " " : "") + to_chars_shortest(xfm[n](i, k));
      expect += "\n";
    }
  }
  const std::string text = slurp(path);
  ASSERT_GE(text.size(), expect.size());
  EXPECT_EQ(text.substr(text.size() - expect.size()), expect);

  const auto back = read_xfm(path);
  ASSERT_EQ(back.size(), xfm.size());
  for (std::size_t n = 0; n < xfm.size(); ++n) {
    for (int k = 0; k < 16; ++k) {
      EXPECT_EQ(back[n](k / 4, k % 4), xfm[n](k / 4, k % 4)) << "frame " << n << " entry " << k;
    }
  }
}

TEST(MotionFiles, UnwritablePathThrows) {
  const std::string bad = testing::temp_dir("motion-files") + "/no-such-dir/file.txt";
  const auto rp = sample_rp();
  try {
    write_rp(bad, rp);
    ADD_FAILURE() << "write_rp did not throw";
  } catch (const std::runtime_error& e) {
    // "<file>: cannot write: <reason from the system>"
    EXPECT_EQ(std::string(e.what()).rfind(bad + ": cannot write: ", 0), 0u) << e.what();
  }
  EXPECT_THROW(write_par(bad, rp), std::runtime_error);
  EXPECT_THROW(write_xfm(bad, {rigid_matrix(rp[1])}), std::runtime_error);
}

}  // namespace
}  // namespace realign
