#include "realign/outputs.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "realign/errors.hpp"
#include "realign/text_format.hpp"

namespace realign {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::string sci8(double v) { return format_scientific(v, 8); }
std::string gen10(double v) { return format_general(v, 10); }

std::string cell(double v) { return std::isnan(v) ? "n/a" : gen10(v); }

std::string json_number(double v) { return std::isfinite(v) ? gen10(v) : "null"; }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

std::ofstream open_for_write(const std::string& path) {
  std::ofstream f(path, std::ios::out | std::ios::trunc | std::ios::binary);
  if (!f.is_open()) throw OutputError(path, std::string("cannot write: ") + std::strerror(errno));
  // Integers go through the stream; a global C++ locale could add digit grouping.
  f.imbue(std::locale::classic());
  return f;
}

// Closing flushes; a full disk only shows up at that point.
void finish_write(std::ofstream& f, const std::string& path) {
  f.close();
  if (f.fail()) throw OutputError(path, std::string("write failed: ") + std::strerror(errno));
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  const auto is_ws = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == ',';
  };
  while (i < line.size()) {
    while (i < line.size() && is_ws(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_ws(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool parse_finite(std::string_view tok, double& v) {
  // from_chars rejects a leading '+', which some writers emit.
  if (!tok.empty() && tok.front() == '+') tok.remove_prefix(1);
  const auto res = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  return res.ec == std::errc() && res.ptr == tok.data() + tok.size() && std::isfinite(v);
}

// Reads the numeric rows of a text file, skipping blank and '#' lines. Each row is checked
// to have `columns` finite numbers; errors name the file and the 1-based line.
std::vector<std::vector<double>> read_numeric_rows(const std::string& path, std::size_t columns) {
  std::ifstream f(path, std::ios::in | std::ios::binary);
  if (!f.is_open()) throw std::runtime_error(path + ": cannot open for reading");
  std::vector<std::vector<double>> rows;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    const auto toks = split_ws(line);
    if (toks.empty() || toks.front().front() == '#') continue;
    if (toks.size() != columns) {
      throw std::runtime_error(path + ": line " + std::to_string(lineno) + " has " +
                               std::to_string(toks.size()) + " values, expected " +
                               std::to_string(columns));
    }
    std::vector<double> row(columns);
    for (std::size_t k = 0; k < columns; ++k) {
      if (!parse_finite(toks[k], row[k])) {
        throw std::runtime_error(path + ": line " + std::to_string(lineno) + ": '" +
                                 std::string(toks[k]) + "' is not a finite number");
      }
    }
    rows.push_back(std::move(row));
  }
  if (f.bad()) throw std::runtime_error(path + ": read error");
  return rows;
}

void check_column(const std::vector<double>& col, std::size_t n, const char* name) {
  if (!col.empty() && col.size() != n) {
    throw std::invalid_argument(std::string("write_confounds: ") + name + " has " +
                                std::to_string(col.size()) + " entries for " + std::to_string(n) +
                                " frames");
  }
}

double at_or_nan(const std::vector<double>& col, std::size_t n) {
  return n < col.size() ? col[n] : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

void write_rp(const std::string& path, const std::vector<RigidParams>& rp) {
  std::ofstream f = open_for_write(path);
  for (const auto& q : rp) {
    for (int k = 0; k < 6; ++k) f << (k ? "  " : "") << sci8(q[k]);
    f << '\n';
  }
  finish_write(f, path);
}

std::vector<RigidParams> read_rp(const std::string& path) {
  const auto rows = read_numeric_rows(path, 6);
  if (rows.empty()) throw std::runtime_error(path + ": no parameter rows");
  std::vector<RigidParams> rp(rows.size());
  for (std::size_t n = 0; n < rows.size(); ++n) {
    std::copy(rows[n].begin(), rows[n].end(), rp[n].begin());
  }
  return rp;
}

void write_confounds(const std::string& tsv_path, const std::string& json_path,
                     const MotionReport& r) {
  const std::size_t n = r.rp.size();
  check_column(r.fd, n, "fd");
  check_column(r.rmsd, n, "rmsd");
  check_column(r.dvars, n, "dvars");

  std::ofstream t = open_for_write(tsv_path);
  t << "trans_x\ttrans_y\ttrans_z\trot_x\trot_y\trot_z\tframewise_displacement\trmsd\tdvars\n";
  for (std::size_t i = 0; i < n; ++i) {
    for (int k = 0; k < 6; ++k) t << cell(r.rp[i][k]) << '\t';
    t << cell(at_or_nan(r.fd, i)) << '\t' << cell(at_or_nan(r.rmsd, i)) << '\t'
      << cell(at_or_nan(r.dvars, i)) << '\n';
  }
  finish_write(t, tsv_path);

  const std::string fd_r = gen10(r.fd_radius_mm), rms_r = gen10(r.rmsd_radius_mm);
  struct Col {
    const char* name;
    std::string description;
    const char* units;
  };
  const std::string rot_common =
      ", the axis passing through the world origin (0,0,0 in RAS mm) rather than the volume "
      "centre; SPM "
      "order: Q = T * Rx(pitch) * Ry(roll) * Rz(yaw).";
  const std::vector<Col> cols = {
      {"trans_x",
       "Translation along the world x axis (RAS: positive towards the subject's "
       "Right), relative to the reference frame (SPM rp column 1).",
       "mm"},
      {"trans_y",
       "Translation along the world y axis (RAS: positive towards Anterior), relative to the "
       "reference frame (SPM rp column 2).",
       "mm"},
      {"trans_z",
       "Translation along the world z axis (RAS: positive towards Superior), relative to the "
       "reference frame (SPM rp column 3).",
       "mm"},
      {"rot_x", "Rotation (pitch) about the world x axis" + rot_common + " SPM rp column 4.",
       "rad"},
      {"rot_y", "Rotation (roll) about the world y axis" + rot_common + " SPM rp column 5.", "rad"},
      {"rot_z", "Rotation (yaw) about the world z axis" + rot_common + " SPM rp column 6.", "rad"},
      {"framewise_displacement",
       "Framewise displacement (Power et al. 2012): sum of absolute frame-to-frame changes of "
       "the three translations plus " +
           fd_r +
           " mm times the sum of absolute changes of the three rotations (radians). n/a for "
           "the first frame.",
       "mm"},
      {"rmsd",
       "Relative RMS deviation (Jenkinson 2002) between the transforms of consecutive frames, "
       "averaged over a sphere of radius " +
           rms_r + " mm about the volume centre. n/a for the first frame.",
       "mm"},
      {"dvars",
       "DVARS (Power et al. 2012): square root of the mean over brain voxels (where the "
       "reference exceeds 1/8 of its global mean) of the squared intensity change of the "
       "written series from the previous frame. n/a for the first frame.",
       "image intensity units (arbitrary)"},
  };

  std::ofstream j = open_for_write(json_path);
  j << "{\n";
  for (const auto& c : cols) {
    j << "  " << json_string(c.name) << ": {\n";
    j << "    \"Description\": " << json_string(c.description) << ",\n";
    j << "    \"Units\": " << json_string(c.units);
    if (std::string_view(c.name) == "framewise_displacement") {
      j << ",\n    \"Radius_mm\": " << json_number(r.fd_radius_mm);
    } else if (std::string_view(c.name) == "rmsd") {
      j << ",\n    \"Radius_mm\": " << json_number(r.rmsd_radius_mm);
    }
    j << "\n  },\n";
  }
  j << "  \"FramewiseDisplacementRadius_mm\": " << json_number(r.fd_radius_mm) << ",\n";
  j << "  \"RMSDSphereRadius_mm\": " << json_number(r.rmsd_radius_mm) << ",\n";
  j << "  \"Convention\": "
    << json_string(
           "Parameters describe the motion of each frame relative to the reference frame in "
           "NIfTI world space (RAS, mm). Rigid matrix Q = T(trans_x, trans_y, trans_z) * "
           "Rx(rot_x) * Ry(rot_y) * Rz(rot_z), as SPM's spm_matrix, so rotations are about the "
           "world origin and rot_x/rot_y/rot_z are SPM's pitch/roll/yaw. Columns match SPM's "
           "rp_*.txt in the same order.")
    << ",\n";
  if (r.tr_s > 0) j << "  \"RepetitionTime\": " << json_number(r.tr_s) << ",\n";
  j << "  \"UnconvergedFrames\": [";
  for (std::size_t i = 0; i < r.unconverged.size(); ++i) {
    j << (i ? ", " : "") << r.unconverged[i] + 1;
  }
  j << "],\n";
  j << "  \"Source\": " << json_string(r.input_name) << "\n";
  j << "}\n";
  finish_write(j, json_path);
}

void write_xfm(const std::string& path, const std::vector<Mat4>& xfm) {
  std::ofstream f = open_for_write(path);
  f << "# realign per-frame world transforms (NIfTI RAS mm to RAS mm), one 4x4 matrix per "
       "frame, row by row: corrected vox2world = M * original vox2world\n";
  for (std::size_t n = 0; n < xfm.size(); ++n) {
    f << "# frame " << n + 1 << '\n';
    for (int i = 0; i < 4; ++i) {
      for (int k = 0; k < 4; ++k) f << (k ? " " : "") << gen10(xfm[n](i, k));
      f << '\n';
    }
  }
  finish_write(f, path);
}

std::vector<Mat4> read_xfm(const std::string& path) {
  const auto rows = read_numeric_rows(path, 4);
  if (rows.size() % 4 != 0) {
    throw std::runtime_error(path + ": " + std::to_string(rows.size()) +
                             " matrix rows, not a multiple of 4");
  }
  std::vector<Mat4> out(rows.size() / 4);
  for (std::size_t n = 0; n < out.size(); ++n) {
    for (int i = 0; i < 4; ++i) {
      for (int k = 0; k < 4; ++k) out[n](i, k) = rows[4 * n + i][k];
    }
    const Eigen::RowVector4d bottom = out[n].row(3);
    if ((bottom - Eigen::RowVector4d(0, 0, 0, 1)).cwiseAbs().maxCoeff() > 1e-6) {
      throw std::runtime_error(path + ": matrix " + std::to_string(n) +
                               " is not affine (last row is not 0 0 0 1)");
    }
  }
  return out;
}

std::pair<std::vector<PlotSeries>, std::vector<PlotSeries>> motion_traces(
    const std::vector<RigidParams>& rp) {
  std::vector<PlotSeries> trans = {
      {"x", "#1f77b4", {}}, {"y", "#2ca02c", {}}, {"z", "#d62728", {}}};
  std::vector<PlotSeries> rots = {
      {"pitch", "#1f77b4", {}}, {"roll", "#2ca02c", {}}, {"yaw", "#d62728", {}}};
  for (const auto& q : rp) {
    for (int k = 0; k < 3; ++k) {
      trans[k].y.push_back(q[k]);
      rots[k].y.push_back(q[3 + k] * 180.0 / kPi);
    }
  }
  return {trans, rots};
}

void write_motion_plot(const std::string& path, const MotionReport& r) {
  const int n = static_cast<int>(r.rp.size());
  const auto [trans, rots] = motion_traces(r.rp);
  const FrameMarks unconverged{r.unconverged, "#9467bd", 1, "2,3", "", "unconverged"};

  const double width = 1000, left = 90, right = 150, top = 70, ph = 200, gap = 70;
  const double height = top + 3 * ph + 3 * gap;
  const double pw = width - left - right;

  SvgPlot p;
  p.begin(width, height, true);
  std::string title = "Motion parameters";
  if (!r.input_name.empty()) title += ": " + r.input_name;
  p.text(width / 2, 26, title, "middle", " font-size=\"16\" font-weight=\"bold\"");
  std::string sub = std::to_string(n) + " frames";
  if (r.tr_s > 0) sub += ", TR " + gen10(r.tr_s) + " s";
  if (!r.unconverged.empty()) {
    sub += "; " + std::to_string(r.unconverged.size()) +
           " frame(s) stopped at the iteration cap (dotted purple lines)";
  }
  p.text(width / 2, 46, sub, "middle");

  PlotPanel panel;
  panel.lines = {unconverged};
  panel.ylabel = "translation (mm)";
  panel.series = trans;
  p.panel({left, top, pw, ph}, panel, n);
  panel.ylabel = "rotation (degrees)";
  panel.series = rots;
  p.panel({left, top + ph + gap, pw, ph}, panel, n);
  panel.ylabel = "FD (mm, radius " + gen10(r.fd_radius_mm) + " mm)";
  panel.series = {{"FD", "#333333", r.fd}};
  panel.references = {{r.fd_threshold_mm, "#555555", "6,4", gen10(r.fd_threshold_mm) + " mm"}};
  p.panel({left, top + 2 * (ph + gap), pw, ph}, panel, n);
  p.end();

  std::ofstream f = open_for_write(path);
  f << p.str();
  finish_write(f, path);
}

}  // namespace realign
