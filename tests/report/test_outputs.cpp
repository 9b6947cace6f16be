#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "realign/core/motion_record.hpp"
#include "realign/core/rigid.hpp"
#include "realign/io/errors.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/report/confounds.hpp"
#include "realign/report/motion_plot.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

using testing::count_of;
using testing::slurp;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

void spit(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

std::vector<RigidParams> sample_rp() {
  return {{0, 0, 0, 0, 0, 0},
          {0.123456789, -1.5, 2.25e-3, 1.0e-4, -0.0123, 0.0456},
          {-12.3456789, 3.14159, -0.5, -2.5e-3, 7.0e-7, -0.1},
          {1e-12, -47.25, 8.0, 0.2, -0.25, 0.03}};
}

MotionRecord sample_report() {
  MotionRecord r;
  r.rp = sample_rp();
  for (const auto& q : r.rp) r.xfm.push_back(rigid_matrix(q));
  r.fd = {kNaN, 1.5, 2.25, 0.125};
  r.rmsd = {kNaN, 0.75, 1.0, 0.5};
  r.dvars = {kNaN, 12.5, 30.0, 8.0};
  r.tr_s = 2.0;
  r.input_name = "sub-01 \"run\\1\" <bold>&.nii";
  return r;
}

TEST(RpFile, RoundTripAndFormat) {
  const std::string dir = testing::temp_dir("outputs");
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
  const std::string path = testing::temp_dir("outputs") + "/rp_exact.txt";
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
    const std::string ours = testing::temp_dir("outputs") + "/" + name;
    write_rp(ours, read_rp(entry.path().string()));
    EXPECT_EQ(slurp(ours), spm) << name;
    ++files;
  }
  if (files == 0) GTEST_SKIP() << "no SPM12 rp files in " << dir;
}

TEST(ParFile, McflirtOrderAndLayout) {
  const std::string path = testing::temp_dir("outputs") + "/out.par";
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
  }
}

TEST(RpFile, ReadsSpmStyleFile) {
  const std::string dir = testing::temp_dir("outputs");
  const std::string path = dir + "/rp_spm.txt";
  // Leading spaces, mixed widths, CRLF and a trailing blank line, as seen in the wild.
  spit(path,
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
  const std::string dir = testing::temp_dir("outputs");
  const auto expect_throw = [&](const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    spit(path, text);
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
  const std::string dir = testing::temp_dir("outputs");
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
  const std::string dir = testing::temp_dir("outputs");
  const std::string short_path = dir + "/short.txt";
  spit(short_path, "# frame 0\n1 0 0 0\n0 1 0 0\n0 0 1 0\n");
  EXPECT_THROW(read_xfm(short_path), std::runtime_error);
  const std::string bottom = dir + "/bottom.txt";
  spit(bottom, "1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 1 1\n");
  EXPECT_THROW(read_xfm(bottom), std::runtime_error);
  const std::string wide = dir + "/wide.txt";
  spit(wide, "1 0 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n");
  EXPECT_THROW(read_xfm(wide), std::runtime_error);
}

TEST(Confounds, TsvAndJson) {
  const std::string dir = testing::temp_dir("outputs");
  const std::string tsv = dir + "/c.tsv", json = dir + "/c.json";
  const MotionRecord r = sample_report();
  write_confounds(tsv, json, r);

  const auto lines = lines_of(slurp(tsv));
  ASSERT_EQ(lines.size(), r.rp.size() + 1);
  // fMRIPrep's names: the first nine columns, then the 24-parameter expansion.
  std::string header =
      "trans_x\ttrans_y\ttrans_z\trot_x\trot_y\trot_z\tframewise_displacement\trmsd\tdvars";
  for (const char* p : {"trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"}) {
    header +=
        std::string("\t") + p + "_derivative1\t" + p + "_power2\t" + p + "_derivative1_power2";
  }
  EXPECT_EQ(lines[0], header);
  for (const auto& l : lines) EXPECT_EQ(split_tabs(l).size(), 27u) << l;

  const auto row1 = split_tabs(lines[1]);
  EXPECT_EQ(row1[6], "n/a");
  EXPECT_EQ(row1[7], "n/a");
  EXPECT_EQ(row1[8], "n/a");
  for (int k = 0; k < 6; ++k) EXPECT_EQ(std::stod(row1[k]), 0.0);

  const auto row3 = split_tabs(lines[3]);
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(std::stod(row3[k]), r.rp[2][k], 1e-9);
  EXPECT_DOUBLE_EQ(std::stod(row3[6]), 2.25);
  EXPECT_DOUBLE_EQ(std::stod(row3[7]), 1.0);
  EXPECT_DOUBLE_EQ(std::stod(row3[8]), 30.0);

  const std::string j = slurp(json);
  // Every TSV column is described in the sidecar.
  for (const auto& col : split_tabs(lines[0])) {
    EXPECT_NE(j.find("\"" + col + "\": {"), std::string::npos) << col;
  }
  EXPECT_EQ(count_of(j, "\"Description\""), 27u);
  EXPECT_EQ(count_of(j, "\"Units\""), 27u);
  EXPECT_NE(j.find("\"Units\": \"rad\""), std::string::npos);
  EXPECT_NE(j.find("\"Units\": \"rad^2\""), std::string::npos);
  EXPECT_NE(j.find("\"Units\": \"mm^2\""), std::string::npos);
  EXPECT_NE(j.find("\"MotionExpansion\""), std::string::npos);
  EXPECT_NE(j.find("\"FramewiseDisplacementRadius_mm\": 50"), std::string::npos);
  EXPECT_NE(j.find("\"RMSDSphereRadius_mm\": 80"), std::string::npos);
  EXPECT_NE(j.find("\"Convention\""), std::string::npos);
  // Quotes and backslashes in the input name are escaped.
  EXPECT_NE(j.find(R"("Source": "sub-01 \"run\\1\" <bold>&.nii")"), std::string::npos) << j;
  EXPECT_EQ(count_of(j, "{"), count_of(j, "}"));
  EXPECT_EQ(j.front(), '{');
}

// The TSV column `name` as numbers (NaN for "n/a"), looked up by its header.
std::vector<double> tsv_column(const std::string& tsv_text, const std::string& name) {
  const auto lines = lines_of(tsv_text);
  const auto header = split_tabs(lines.at(0));
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return {};
  const std::size_t c = static_cast<std::size_t>(it - header.begin());
  std::vector<double> out;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string v = split_tabs(lines[i]).at(c);
    out.push_back(v == "n/a" ? kNaN : std::stod(v));
  }
  return out;
}

TEST(Confounds, ExpansionRecomputedFromTheRpFile) {
  // The first row is not zero here, so a derivative that forgot the n/a, or a square
  // of the wrong row, shows.
  MotionRecord r;
  r.rp = sample_rp();
  r.rp[0] = {0.5, -0.25, 1.0, 0.01, -0.02, 0.003};
  const std::string dir = testing::temp_dir("outputs");
  write_rp(dir + "/rp.txt", r.rp);
  write_confounds(dir + "/c.tsv", dir + "/c.json", r);
  const std::string tsv = slurp(dir + "/c.tsv");

  // The parameters as the rp file holds them, read with a plain stream.
  std::vector<std::array<double, 6>> rp;
  std::istringstream in(slurp(dir + "/rp.txt"));
  std::array<double, 6> row;
  while (in >> row[0] >> row[1] >> row[2] >> row[3] >> row[4] >> row[5]) rp.push_back(row);
  ASSERT_EQ(rp.size(), r.rp.size());

  const char* names[6] = {"trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"};
  for (int k = 0; k < 6; ++k) {
    const std::string p = names[k];
    const auto base = tsv_column(tsv, p);
    const auto d = tsv_column(tsv, p + "_derivative1");
    const auto sq = tsv_column(tsv, p + "_power2");
    const auto dsq = tsv_column(tsv, p + "_derivative1_power2");
    ASSERT_EQ(d.size(), rp.size()) << p;
    ASSERT_EQ(sq.size(), rp.size()) << p;
    ASSERT_EQ(dsq.size(), rp.size()) << p;
    EXPECT_TRUE(std::isnan(d[0])) << p << ": the first derivative row must be n/a";
    EXPECT_TRUE(std::isnan(dsq[0])) << p;
    for (std::size_t t = 0; t < rp.size(); ++t) {
      // rp holds 9 significant digits, the TSV 10: compare at the rp file's precision.
      const double v = rp[t][k];
      const double tol = 2e-8 * std::max(1.0, std::abs(v));
      EXPECT_NEAR(base[t], v, tol) << p << " row " << t;
      EXPECT_NEAR(sq[t], v * v, 2 * tol * std::max(1.0, std::abs(v))) << p << " row " << t;
      if (t == 0) continue;
      const double dv = v - rp[t - 1][k];
      const double dtol = 2e-8 * std::max({1.0, std::abs(v), std::abs(rp[t - 1][k])});
      EXPECT_NEAR(d[t], dv, dtol) << p << " row " << t;
      EXPECT_NEAR(dsq[t], dv * dv, 2 * dtol * std::max(1.0, std::abs(dv))) << p << " row " << t;
    }
  }
}

TEST(Confounds, EmptyMetricColumnsAreNotAvailableAndMismatchThrows) {
  const std::string dir = testing::temp_dir("outputs");
  MotionRecord r;
  r.rp = sample_rp();
  r.fd = {kNaN, 1, 2, 3};
  write_confounds(dir + "/c.tsv", dir + "/c.json", r);
  const auto row2 = split_tabs(lines_of(slurp(dir + "/c.tsv"))[2]);
  EXPECT_EQ(row2[6], "1");
  EXPECT_EQ(row2[7], "n/a");
  EXPECT_EQ(row2[8], "n/a");

  r.dvars = {1, 2};
  EXPECT_THROW(write_confounds(dir + "/d.tsv", dir + "/d.json", r), std::invalid_argument);
}

TEST(Writers, UnwritablePathThrows) {
  const std::string bad = testing::temp_dir("outputs") + "/no-such-dir/file.txt";
  const MotionRecord r = sample_report();
  try {
    write_rp(bad, r.rp);
    ADD_FAILURE() << "write_rp did not throw";
  } catch (const std::runtime_error& e) {
    // "<file>: cannot write: <reason from the system>"
    EXPECT_EQ(std::string(e.what()).rfind(bad + ": cannot write: ", 0), 0u) << e.what();
  }
  EXPECT_THROW(write_xfm(bad, r.xfm), std::runtime_error);
  EXPECT_THROW(write_confounds(bad, bad, r), std::runtime_error);
  EXPECT_THROW(write_motion_plot(bad, r), std::runtime_error);
}

TEST(MotionPlot, StandaloneSvg) {
  const std::string dir = testing::temp_dir("outputs");
  const std::string path = dir + "/motion.svg";
  MotionRecord r = sample_report();
  r.unconverged = {2};
  write_motion_plot(path, r);
  const std::string s = slurp(path);

  EXPECT_TRUE(s.rfind("<?xml", 0) == 0 || s.rfind("<svg", 0) == 0);
  EXPECT_NE(s.find("</svg>"), std::string::npos);
  EXPECT_GE(count_of(s, "<polyline"), 7u);
  // Every polyline is a self-closed element with no stray '<' inside it.
  for (std::size_t p = s.find("<polyline"); p != std::string::npos;
       p = s.find("<polyline", p + 1)) {
    const std::size_t close = s.find("/>", p);
    ASSERT_NE(close, std::string::npos);
    EXPECT_EQ(s.find('<', p + 1) > close, true);
  }
  EXPECT_EQ(count_of(s, "<text"), count_of(s, "</text>"));
  EXPECT_EQ(count_of(s, "<g>"), count_of(s, "</g>"));
  // Three panels with their units, degrees for rotations, and the escaped title.
  EXPECT_NE(s.find("translation (mm)"), std::string::npos);
  EXPECT_NE(s.find("rotation (degrees)"), std::string::npos);
  EXPECT_NE(s.find("FD (mm"), std::string::npos);
  EXPECT_NE(s.find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(s.find("sub-01 &quot;run\\1&quot; &lt;bold&gt;&amp;.nii"), std::string::npos);
  EXPECT_EQ(s.find("<bold>"), std::string::npos);
  EXPECT_NE(s.find("unconverged"), std::string::npos);
  EXPECT_EQ(s.find("nan"), std::string::npos);
  EXPECT_EQ(s.find("inf"), std::string::npos);
  // No external resources.
  EXPECT_EQ(s.find("href"), std::string::npos);
}

TEST(MotionPlot, DegenerateRuns) {
  const std::string dir = testing::temp_dir("outputs");
  MotionRecord one;
  one.rp = {RigidParams{0, 0, 0, 0, 0, 0}};
  one.fd = {kNaN};
  write_motion_plot(dir + "/one.svg", one);
  const std::string s = slurp(dir + "/one.svg");
  EXPECT_NE(s.find("</svg>"), std::string::npos);
  EXPECT_EQ(s.find("nan"), std::string::npos);

  MotionRecord none;
  write_motion_plot(dir + "/none.svg", none);
  EXPECT_NE(slurp(dir + "/none.svg").find("</svg>"), std::string::npos);
}

}  // namespace
}  // namespace realign
