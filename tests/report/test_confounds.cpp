#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "realign/core/motion_record.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/report/confounds.hpp"
#include "report/sample_record.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

using testing::lines_of;
using testing::sample_record;
using testing::sample_rp;
using testing::slurp;
using testing::split_tabs;
using Json = nlohmann::ordered_json;

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* const kParams[6] = {"trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"};

// fMRIPrep's names in file order: the rp columns, the measures, the 24-parameter expansion,
// then one column per non-steady-state frame and one per motion outlier.
std::vector<std::string> expected_columns(int nonsteady, int outliers) {
  std::vector<std::string> cols(kParams, kParams + 6);
  for (const char* m : {"framewise_displacement", "rmsd", "dvars", "std_dvars"}) cols.push_back(m);
  for (const std::string p : kParams) {
    for (const char* suffix : {"_derivative1", "_power2", "_derivative1_power2"})
      cols.push_back(p + suffix);
  }
  const char* nonsteady_names[] = {"non_steady_state_outlier_00", "non_steady_state_outlier_01"};
  for (int f = 0; f < nonsteady; ++f) cols.push_back(nonsteady_names[f]);
  const char* outlier_names[] = {"motion_outlier_00", "motion_outlier_01"};
  for (int f = 0; f < outliers; ++f) cols.push_back(outlier_names[f]);
  return cols;
}

// BIDS units: mm for translations and the displacement measures, radians for rotations,
// their squares for the squared columns, none for the one-hot non-steady-state columns.
std::string expected_units(const std::string& col) {
  if (col.rfind("non_steady_state_outlier_", 0) == 0) return "";
  if (col.rfind("motion_outlier_", 0) == 0 || col == "std_dvars") return "";
  if (col == "framewise_displacement" || col == "rmsd") return "mm";
  const std::string base = col.substr(0, col.find('_', col.find('_') + 1));
  const std::string unit = base.rfind("trans_", 0) == 0 ? "mm" : "rad";
  const bool squared = col.size() >= 7 && col.compare(col.size() - 7, 7, "_power2") == 0;
  return squared ? unit + "^2" : unit;
}

TEST(Confounds, TsvAndJson) {
  const std::string dir = testing::temp_dir("confounds");
  const std::string tsv = dir + "/c.tsv", json = dir + "/c.json";
  MotionRecord r = sample_record();
  r.nonsteady = 2;
  r.nonsteady_given = true;
  r.unconverged = {2};
  r.fd_radius_mm = 47.123456789;
  r.tr_s = static_cast<double>(0.72f);  // as a float NIfTI header gives it
  write_confounds(tsv, json, r);

  const auto lines = lines_of(slurp(tsv));
  ASSERT_EQ(lines.size(), r.rp.size() + 1);
  // fd 1.5 and 2.25 exceed the default 0.5 mm: frames 2 and 3 are motion outliers.
  const std::vector<std::string> columns = expected_columns(2, 2);
  EXPECT_EQ(split_tabs(lines[0]), columns);
  for (const auto& l : lines) EXPECT_EQ(split_tabs(l).size(), columns.size()) << l;

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
  EXPECT_DOUBLE_EQ(std::stod(row3[9]), 3.0);
  // One-hot regressors: 1 at their own frame only.
  for (std::size_t t = 0; t < r.rp.size(); ++t) {
    const auto row = split_tabs(lines[t + 1]);
    EXPECT_EQ(row[28], t == 0 ? "1" : "0") << "frame " << t;
    EXPECT_EQ(row[29], t == 1 ? "1" : "0") << "frame " << t;
    EXPECT_EQ(row[30], t == 1 ? "1" : "0") << "frame " << t;
    EXPECT_EQ(row[31], t == 2 ? "1" : "0") << "frame " << t;
  }

  const Json j = Json::parse(slurp(json));  // throws, failing the test, if not JSON
  ASSERT_TRUE(j.is_object());
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  std::vector<std::string> expect_keys = columns;
  for (const char* k :
       {"FramewiseDisplacementRadius_mm", "RMSDSphereRadius_mm", "Convention", "MotionExpansion",
        "RepetitionTime", "FramewiseDisplacementThreshold_mm", "NonSteadyStateVolumes",
        "NonSteadyStateOrigin", "UnconvergedFrames", "Source"})
    expect_keys.push_back(k);
  EXPECT_EQ(keys, expect_keys);

  for (const std::string& col : columns) {
    SCOPED_TRACE(col);
    const Json& c = j.at(col);
    const bool has_radius = col == "framewise_displacement" || col == "rmsd";
    EXPECT_EQ(c.size(), has_radius ? 3u : 2u);
    ASSERT_TRUE(c.at("Description").is_string());
    const std::string desc = c.at("Description");
    EXPECT_GT(desc.size(), 20u);
    if (col == "dvars") {
      EXPECT_NE(c.at("Units").get<std::string>().find("arbitrary"), std::string::npos);
    } else {
      EXPECT_EQ(c.at("Units"), expected_units(col));
    }
    // An expansion column says which parameter it expands.
    if (col.find("_derivative1") != std::string::npos || col.find("_power2") != std::string::npos)
      EXPECT_NE(desc.find(col.substr(0, col.find('_', col.find('_') + 1))), std::string::npos);
  }
  // The radii are the record's, to the 10 significant digits the TSV carries.
  const double fd_radius = j.at("framewise_displacement").at("Radius_mm");
  EXPECT_NEAR(fd_radius, r.fd_radius_mm, 1e-9 * r.fd_radius_mm);
  EXPECT_EQ(j.at("FramewiseDisplacementRadius_mm"), j.at("framewise_displacement").at("Radius_mm"));
  EXPECT_EQ(j.at("rmsd").at("Radius_mm"), r.rmsd_radius_mm);
  EXPECT_EQ(j.at("RMSDSphereRadius_mm"), r.rmsd_radius_mm);
  EXPECT_NE(
      j.at("framewise_displacement").at("Description").get<std::string>().find("47.12345679 mm"),
      std::string::npos);
  EXPECT_NE(j.at("rmsd").at("Description").get<std::string>().find("radius 80 mm"),
            std::string::npos);
  EXPECT_NE(j.at("dvars").at("Description").get<std::string>().find("n/a for the first frame"),
            std::string::npos);
  EXPECT_NE(
      j.at("non_steady_state_outlier_01").at("Description").get<std::string>().find("frame 2"),
      std::string::npos);
  EXPECT_NE(j.at("motion_outlier_01").at("Description").get<std::string>().find("frame 3"),
            std::string::npos);
  EXPECT_EQ(j.at("FramewiseDisplacementThreshold_mm"), 0.5);
  const double tr = j.at("RepetitionTime");
  EXPECT_NEAR(tr, r.tr_s, 1e-9 * r.tr_s);
  EXPECT_EQ(j.at("NonSteadyStateVolumes"), 2);
  EXPECT_NE(j.at("NonSteadyStateOrigin").get<std::string>().find("--dummy-scans"),
            std::string::npos);
  EXPECT_EQ(j.at("UnconvergedFrames"), Json::array({3}));  // frame numbers count from 1
  EXPECT_EQ(j.at("Source"), r.input_name);  // quotes and backslashes survive the escaping
  EXPECT_TRUE(j.at("Convention").is_string());
  EXPECT_TRUE(j.at("MotionExpansion").is_string());
}

TEST(Confounds, SidecarOfARunWithoutTrOrReslicing) {
  const std::string dir = testing::temp_dir("confounds");
  MotionRecord r;
  r.rp = sample_rp();
  r.fd = {kNaN, 1, 2, 3};
  // Control characters and a byte that is not UTF-8 (a Latin-1 file name).
  r.input_name = "a\tb\nc\x01 caf\xe9.nii";
  write_confounds(dir + "/c.tsv", dir + "/c.json", r);
  const Json j = Json::parse(slurp(dir + "/c.json"));
  EXPECT_FALSE(j.contains("RepetitionTime"));
  EXPECT_FALSE(j.contains("non_steady_state_outlier_00"));
  EXPECT_EQ(j.at("NonSteadyStateVolumes"), 0);
  EXPECT_EQ(j.at("UnconvergedFrames"), Json::array());
  EXPECT_NE(j.at("dvars").at("Description").get<std::string>().find("--no-reslice"),
            std::string::npos);
  EXPECT_EQ(j.at("Source"), "a\tb\nc\x01 caf\xef\xbf\xbd.nii");  // U+FFFD for the stray byte
  EXPECT_EQ(lines_of(slurp(dir + "/c.tsv")).at(0).find("non_steady"), std::string::npos);
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
  const std::string dir = testing::temp_dir("confounds");
  write_rp(dir + "/rp.txt", r.rp);
  write_confounds(dir + "/c.tsv", dir + "/c.json", r);
  const std::string tsv = slurp(dir + "/c.tsv");

  // The parameters as the rp file holds them, read with a plain stream.
  std::vector<std::array<double, 6>> rp;
  std::istringstream in(slurp(dir + "/rp.txt"));
  std::array<double, 6> row;
  while (in >> row[0] >> row[1] >> row[2] >> row[3] >> row[4] >> row[5]) rp.push_back(row);
  ASSERT_EQ(rp.size(), r.rp.size());

  for (int k = 0; k < 6; ++k) {
    const std::string p = kParams[k];
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
  const std::string dir = testing::temp_dir("confounds");
  MotionRecord r;
  r.rp = sample_rp();
  r.fd = {kNaN, 1, 2, 3};
  write_confounds(dir + "/c.tsv", dir + "/c.json", r);
  const auto row2 = split_tabs(lines_of(slurp(dir + "/c.tsv"))[2]);
  EXPECT_EQ(row2[6], "1");
  EXPECT_EQ(row2[7], "n/a");
  EXPECT_EQ(row2[8], "n/a");
  EXPECT_EQ(row2[9], "n/a");

  r.dvars = {1, 2};
  EXPECT_THROW(write_confounds(dir + "/d.tsv", dir + "/d.json", r), std::invalid_argument);
}

// nilearn.interfaces.fmriprep.load_confounds, as its documentation describes it, on the
// columns it reads. motion="full": the six parameters with _derivative1, _power2 and
// _derivative1_power2, whose n/a (row 1 of the derivatives) it fills. Outlier columns: any
// column whose name holds "motion_outlier" or "non_steady_state" is a one-hot regressor,
// and the frames where one is 1 leave the sample mask. strategy "scrub": frames with
// framewise_displacement > fd_threshold or std_dvars > std_dvars_threshold leave it too,
// then so do runs of kept frames shorter than `scrub`.
struct NilearnView {
  std::vector<std::string> motion_full;
  std::vector<int> sample_mask;  // kept frames, 0-based
};

NilearnView nilearn_load(const std::string& tsv, double fd_threshold, double dvars_threshold,
                         int scrub) {
  const auto lines = lines_of(tsv);
  const auto header = split_tabs(lines.at(0));
  const int n = static_cast<int>(lines.size()) - 1;
  NilearnView v;
  for (const std::string p : kParams)
    for (const char* s : {"", "_derivative1", "_power2", "_derivative1_power2"})
      if (!tsv_column(tsv, p + s).empty()) v.motion_full.push_back(p + s);
  std::vector<bool> out(n, false);
  for (const std::string& col : header) {
    if (col.find("motion_outlier") == std::string::npos &&
        col.find("non_steady_state") == std::string::npos)
      continue;
    const auto c = tsv_column(tsv, col);
    for (int t = 0; t < n; ++t) out[t] = out[t] || c[t] == 1.0;
  }
  const auto fd = tsv_column(tsv, "framewise_displacement");
  const auto sd = tsv_column(tsv, "std_dvars");
  for (int t = 0; t < n; ++t) out[t] = out[t] || fd[t] > fd_threshold || sd[t] > dvars_threshold;
  for (int t = 0; t < n;) {  // short runs of kept frames go too
    int e = t;
    while (e < n && !out[e]) ++e;
    if (e - t < scrub)
      for (int k = t; k < e; ++k) out[k] = true;
    t = e + 1;
  }
  for (int t = 0; t < n; ++t)
    if (!out[t]) v.sample_mask.push_back(t);
  return v;
}

TEST(Confounds, ReadAsNilearnLoadConfoundsDoes) {
  MotionRecord r;
  const std::vector<double> fd = {kNaN, 0.1, 0.6, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9,
                                  0.1,  0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3};
  const int n = static_cast<int>(fd.size());
  for (int t = 0; t < n; ++t) r.rp.push_back({0.01 * t, -0.02 * t, 0.001 * t * t, 1e-4 * t, 0, 0});
  r.fd = fd;
  r.dvars.assign(n, 10.0);
  r.std_dvars.assign(n, 1.0);
  r.dvars[0] = r.std_dvars[0] = kNaN;
  r.std_dvars[15] = 1.7;  // a DVARS spike with no FD above the threshold
  r.nonsteady = 1;
  r.fd_threshold_mm = 0.5;
  const std::string dir = testing::temp_dir("confounds");
  write_confounds(dir + "/c.tsv", dir + "/c.json", r);
  const std::string tsv = slurp(dir + "/c.tsv");

  // motion="full" finds all 24 columns; only the derivatives' first row is n/a.
  const NilearnView motion = nilearn_load(tsv, 1e9, 1e9, 0);
  EXPECT_EQ(motion.motion_full.size(), 24u);
  for (const std::string& col : motion.motion_full) {
    const auto c = tsv_column(tsv, col);
    const bool derivative = col.find("_derivative1") != std::string::npos;
    EXPECT_EQ(std::isnan(c[0]), derivative) << col;
    for (int t = 1; t < n; ++t) EXPECT_FALSE(std::isnan(c[t])) << col << " row " << t;
  }
  // One-hot columns: each has a single 1, at a distinct frame.
  const auto header = split_tabs(lines_of(tsv).at(0));
  std::vector<int> flagged;
  for (const std::string& col : header) {
    if (col.rfind("motion_outlier_", 0) != 0) continue;
    const auto c = tsv_column(tsv, col);
    EXPECT_EQ(std::count(c.begin(), c.end(), 1.0), 1) << col;
    EXPECT_EQ(std::count(c.begin(), c.end(), 0.0), n - 1) << col;
    flagged.push_back(static_cast<int>(std::find(c.begin(), c.end(), 1.0) - c.begin()));
  }
  EXPECT_EQ(flagged, (std::vector<int>{2, 9}));  // fd 0.6 and 0.9 exceed 0.5 mm
  // Without scrub nilearn censors the one-hot frames: the non-steady frame and the two.
  std::vector<int> kept;
  for (int t = 0; t < n; ++t)
    if (t != 0 && t != 2 && t != 9) kept.push_back(t);
  EXPECT_EQ(motion.sample_mask, kept);
  // scrub with its defaults (fd 0.5, std_dvars 1.5, segments of 5): frame 15 goes by
  // std_dvars, and frame 1 (alone between 0 and 2) and 10-14 stay only if long enough.
  const NilearnView scrub = nilearn_load(tsv, 0.5, 1.5, 5);
  std::vector<int> expect;
  for (int t = 3; t <= 8; ++t) expect.push_back(t);
  for (int t = 10; t <= 14; ++t) expect.push_back(t);
  EXPECT_EQ(scrub.sample_mask, expect);
}

TEST(Confounds, UnwritablePathThrows) {
  const std::string bad = testing::temp_dir("confounds") + "/no-such-dir/file.txt";
  const std::string good = testing::temp_dir("confounds") + "/c.tsv";
  try {
    write_confounds(bad, good + ".json", sample_record());
    ADD_FAILURE() << "write_confounds did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(bad + ": cannot write: ", 0), 0u) << e.what();
  }
  EXPECT_THROW(write_confounds(good, bad, sample_record()), std::runtime_error);
}

}  // namespace
}  // namespace realign
