#include "realign/outputs.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "text_io.hpp"

namespace realign {
namespace {

using text::finish_write;
using text::fixed;
using text::gen10;
using text::open_for_write;
using text::sci8;

constexpr double kPi = 3.14159265358979323846;

std::string xml_escape(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n') {
          out += ' ';
        } else {
          out += ch;
        }
    }
  }
  return out;
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
  if (!f.is_open()) throw InputError(path, "cannot open for reading");
  std::vector<std::vector<double>> rows;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    const auto toks = split_ws(line);
    if (toks.empty() || toks.front().front() == '#') continue;
    if (toks.size() != columns) {
      throw InputError(path, "line " + std::to_string(lineno) + " has " +
                               std::to_string(toks.size()) + " values, expected " +
                               std::to_string(columns));
    }
    std::vector<double> row(columns);
    for (std::size_t k = 0; k < columns; ++k) {
      if (!parse_finite(toks[k], row[k])) {
        throw InputError(path, "line " + std::to_string(lineno) + ": '" +
                                 std::string(toks[k]) + "' is not a finite number");
      }
    }
    rows.push_back(std::move(row));
  }
  if (f.bad()) throw InputError(path, "read error");
  return rows;
}

// ---------------------------------------------------------------------------------------
// SVG plotting

struct PlotSeries {
  std::string name;
  std::string colour;
  std::vector<double> y;
};

struct Axis {
  double lo = 0, hi = 1, step = 1;
};

// A 1, 2 or 5 times a power of ten, close to `raw`.
double nice_step(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  const double m = f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0;
  return m * p;
}

Axis make_axis(double lo, double hi, int target_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = hi = 0.0;
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
    // A flat series (e.g. the all-zero reference frame) still needs a readable axis.
    const double pad = lo == 0.0 ? 1.0 : std::abs(lo) * 0.5;
    lo -= pad;
    hi += pad;
  }
  Axis a;
  a.step = nice_step((hi - lo) / target_ticks);
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  return a;
}

int tick_decimals(double step) {
  return std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
}

std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-6) v = 0.0;  // no "-0.00"
  return fixed(v, tick_decimals(step));
}

struct Frame {
  double left, top, width, height;
};

class SvgPlot {
 public:
  SvgPlot() { out.imbue(std::locale::classic()); }
  std::ostringstream out;

  void panel(const Frame& fr, const std::string& ylabel, const std::vector<PlotSeries>& series,
             double xmax, const std::vector<int>& unconverged, const double* ref_line) {
    double lo = 0.0, hi = 0.0;  // 0 is always shown so drifts read against "no motion"
    for (const auto& s : series) {
      for (double v : s.y) {
        if (std::isfinite(v)) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      }
    }
    if (ref_line) {
      lo = std::min(lo, *ref_line);
      hi = std::max(hi, *ref_line);
    }
    const Axis ya = make_axis(lo, hi, 5);
    const Axis xa = x_axis(xmax);
    const auto px = [&](double x) { return fr.left + (x - xa.lo) / (xa.hi - xa.lo) * fr.width; };
    const auto py = [&](double y) {
      return fr.top + fr.height - (y - ya.lo) / (ya.hi - ya.lo) * fr.height;
    };

    out << "<g>\n";
    out << "<rect x=\"" << fixed(fr.left, 2) << "\" y=\"" << fixed(fr.top, 2) << "\" width=\""
        << fixed(fr.width, 2) << "\" height=\"" << fixed(fr.height, 2) << "\" fill=\"#ffffff\"/>\n";

    // Gridlines and tick labels.
    const int ny = static_cast<int>(std::lround((ya.hi - ya.lo) / ya.step));
    for (int k = 0; k <= ny; ++k) {
      const double v = ya.lo + k * ya.step;
      const double y = py(v);
      line(fr.left, y, fr.left + fr.width, y, "#dddddd", 1, "");
      line(fr.left - 5, y, fr.left, y, "#000000", 1, "");
      text(fr.left - 8, y + 4, tick_label(v, ya.step), "end", "");
    }
    const int nx = static_cast<int>(std::lround((xa.hi - xa.lo) / xa.step));
    for (int k = 0; k <= nx; ++k) {
      const double v = xa.lo + k * xa.step;
      const double x = px(v);
      line(x, fr.top + fr.height, x, fr.top + fr.height + 5, "#000000", 1, "");
      text(x, fr.top + fr.height + 18, tick_label(v, xa.step), "middle", "");
    }
    text(fr.left + fr.width / 2, fr.top + fr.height + 34, "frame", "middle", "");
    // Rotated y label to the left of the tick labels.
    const double lx = fr.left - 58, ly = fr.top + fr.height / 2;
    out << "<text x=\"" << fixed(lx, 2) << "\" y=\"" << fixed(ly, 2)
        << "\" text-anchor=\"middle\" transform=\"rotate(-90 " << fixed(lx, 2) << " "
        << fixed(ly, 2) << ")\">" << xml_escape(ylabel) << "</text>\n";

    if (ref_line) {
      const double y = py(*ref_line);
      line(fr.left, y, fr.left + fr.width, y, "#555555", 1, "6,4");
    }
    for (int u : unconverged) {
      if (u < 0 || u + 1 > xmax) continue;
      line(px(u + 1), fr.top, px(u + 1), fr.top + fr.height, "#9467bd", 1, "2,3");
    }

    // One polyline per stretch of finite values: a NaN (FD's first frame) breaks the line
    // rather than being drawn as zero.
    for (const auto& s : series) {
      std::string pts;
      std::size_t count = 0;
      const auto flush = [&] {
        if (count) {
          out << "<polyline fill=\"none\" stroke=\"" << s.colour
              << "\" stroke-width=\"1.5\" stroke-linejoin=\"round\" points=\"" << pts << "\"/>\n";
        }
        pts.clear();
        count = 0;
      };
      for (std::size_t n = 0; n < s.y.size(); ++n) {
        if (!std::isfinite(s.y[n])) {
          flush();
          continue;
        }
        if (count) pts += ' ';
        pts += fixed(px(static_cast<double>(n + 1)), 2) + "," + fixed(py(s.y[n]), 2);
        ++count;
      }
      flush();
    }

    // The border goes on top so gridlines at the axis limits do not hide it.
    out << "<rect x=\"" << fixed(fr.left, 2) << "\" y=\"" << fixed(fr.top, 2) << "\" width=\""
        << fixed(fr.width, 2) << "\" height=\"" << fixed(fr.height, 2)
        << "\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1\"/>\n";

    // Legend to the right of the panel.
    double ly2 = fr.top + 12;
    const double lx2 = fr.left + fr.width + 15;
    for (const auto& s : series) {
      line(lx2, ly2 - 4, lx2 + 22, ly2 - 4, s.colour, 2, "");
      text(lx2 + 28, ly2, s.name, "start", "");
      ly2 += 18;
    }
    if (ref_line) {
      line(lx2, ly2 - 4, lx2 + 22, ly2 - 4, "#555555", 1, "6,4");
      text(lx2 + 28, ly2, tick_label(*ref_line, 0.1) + " mm", "start", "");
      ly2 += 18;
    }
    if (!unconverged.empty()) {
      line(lx2, ly2 - 4, lx2 + 22, ly2 - 4, "#9467bd", 1, "2,3");
      text(lx2 + 28, ly2, "unconverged", "start", "");
    }
    out << "</g>\n";
  }

  void line(double x1, double y1, double x2, double y2, const std::string& colour, double w,
            const std::string& dash) {
    out << "<line x1=\"" << fixed(x1, 2) << "\" y1=\"" << fixed(y1, 2) << "\" x2=\"" << fixed(x2, 2)
        << "\" y2=\"" << fixed(y2, 2) << "\" stroke=\"" << colour << "\" stroke-width=\""
        << fixed(w, 1) << "\"";
    if (!dash.empty()) out << " stroke-dasharray=\"" << dash << "\"";
    out << "/>\n";
  }

  void text(double x, double y, const std::string& s, const char* anchor, const char* extra) {
    out << "<text x=\"" << fixed(x, 2) << "\" y=\"" << fixed(y, 2) << "\" text-anchor=\"" << anchor
        << "\"" << extra << ">" << xml_escape(s) << "</text>\n";
  }

  static Axis x_axis(double xmax) {
    Axis a;
    a.lo = 0.0;
    a.step = std::max(1.0, nice_step(std::max(xmax, 1.0) / 10.0));
    a.hi = std::max(a.step, std::ceil(xmax / a.step - 1e-9) * a.step);
    return a;
  }
};

std::string exact(double v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

}  // namespace

void write_rp(const std::string& path, const std::vector<RigidParams>& rp) {
  std::ofstream f = open_for_write(path);
  for (const auto& q : rp) {
    // The layout of SPM12's save -ascii under Octave, byte for byte: a space before every
    // value, so negative values are one character wider and columns are not aligned.
    for (int k = 0; k < 6; ++k) f << ' ' << sci8(q[k]);
    f << '\n';
  }
  finish_write(f, path);
}

void write_par(const std::string& path, const std::vector<RigidParams>& rp) {
  std::ofstream f = open_for_write(path);
  for (const auto& q : rp) {
    // MCFLIRT's column order and separators (every value followed by two spaces); more
    // significant digits than its default stream precision of 6.
    for (const int k : {3, 4, 5, 0, 1, 2}) f << gen10(q[k]) << "  ";
    f << '\n';
  }
  finish_write(f, path);
}

std::vector<RigidParams> read_rp(const std::string& path) {
  const auto rows = read_numeric_rows(path, 6);
  if (rows.empty()) throw InputError(path, "no parameter rows");
  std::vector<RigidParams> rp(rows.size());
  for (std::size_t n = 0; n < rows.size(); ++n) {
    std::copy(rows[n].begin(), rows[n].end(), rp[n].begin());
  }
  return rp;
}

void write_xfm(const std::string& path, const std::vector<Mat4>& xfm) {
  std::ofstream f = open_for_write(path);
  f << "# realign per-frame world transforms (NIfTI RAS mm to RAS mm), one 4x4 matrix per "
       "frame, row by row: corrected vox2world = M * original vox2world\n";
  for (std::size_t n = 0; n < xfm.size(); ++n) {
    f << "# frame " << n + 1 << '\n';
    for (int i = 0; i < 4; ++i) {
      // Shortest digits that read back to the same double: `realign apply` then reslices
      // exactly as the run that wrote the file did.
      for (int k = 0; k < 4; ++k) f << (k ? " " : "") << exact(xfm[n](i, k));
      f << '\n';
    }
  }
  finish_write(f, path);
}

std::vector<Mat4> read_xfm(const std::string& path) {
  const auto rows = read_numeric_rows(path, 4);
  if (rows.size() % 4 != 0) {
    throw InputError(path, std::to_string(rows.size()) +
                             " matrix rows, not a multiple of 4");
  }
  std::vector<Mat4> out(rows.size() / 4);
  for (std::size_t n = 0; n < out.size(); ++n) {
    for (int i = 0; i < 4; ++i) {
      for (int k = 0; k < 4; ++k) out[n](i, k) = rows[4 * n + i][k];
    }
    const Eigen::RowVector4d bottom = out[n].row(3);
    if ((bottom - Eigen::RowVector4d(0, 0, 0, 1)).cwiseAbs().maxCoeff() > 1e-6) {
      throw InputError(path, "matrix " + std::to_string(n) +
                               " is not affine (last row is not 0 0 0 1)");
    }
  }
  return out;
}

void write_motion_plot(const std::string& path, const MotionReport& r) {
  const std::size_t n = r.rp.size();
  const double xmax = n > 1 ? static_cast<double>(n) : 1.0;  // frames are numbered 1..n

  std::vector<PlotSeries> trans = {
      {"x", "#1f77b4", {}}, {"y", "#2ca02c", {}}, {"z", "#d62728", {}}};
  std::vector<PlotSeries> rots = {
      {"pitch", "#1f77b4", {}}, {"roll", "#2ca02c", {}}, {"yaw", "#d62728", {}}};
  for (const auto& q : r.rp) {
    for (int k = 0; k < 3; ++k) {
      trans[k].y.push_back(q[k]);
      rots[k].y.push_back(q[3 + k] * 180.0 / kPi);
    }
  }
  std::vector<PlotSeries> fd = {{"FD", "#333333", r.fd}};

  const double width = 1000, left = 90, right = 150, top = 70, ph = 200, gap = 70;
  const double height = top + 3 * ph + 3 * gap;
  const double pw = width - left - right;

  SvgPlot p;
  p.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << fixed(width, 0)
        << "\" height=\"" << fixed(height, 0) << "\" viewBox=\"0 0 " << fixed(width, 0) << " "
        << fixed(height, 0)
        << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  p.out << "<rect x=\"0\" y=\"0\" width=\"" << fixed(width, 0) << "\" height=\"" << fixed(height, 0)
        << "\" fill=\"#ffffff\"/>\n";

  std::string title = "Motion parameters";
  if (!r.input_name.empty()) title += ": " + r.input_name;
  p.text(width / 2, 26, title, "middle", " font-size=\"16\" font-weight=\"bold\"");
  std::string sub = std::to_string(n) + " frames";
  if (r.tr_s > 0) sub += ", TR " + gen10(r.tr_s) + " s";
  if (!r.unconverged.empty()) {
    sub += "; " + std::to_string(r.unconverged.size()) +
           " frame(s) stopped at the iteration cap (dotted purple lines)";
  }
  p.text(width / 2, 46, sub, "middle", "");

  const std::vector<int>& u = r.unconverged;
  p.panel({left, top, pw, ph}, "translation (mm)", trans, xmax, u, nullptr);
  p.panel({left, top + ph + gap, pw, ph}, "rotation (degrees)", rots, xmax, u, nullptr);
  const double fd_ref = 0.5;
  p.panel({left, top + 2 * (ph + gap), pw, ph}, "FD (mm, radius " + gen10(r.fd_radius_mm) + " mm)",
          fd, xmax, u, &fd_ref);
  p.out << "</svg>\n";

  std::ofstream f = open_for_write(path);
  f << p.out.str();
  finish_write(f, path);
}

}  // namespace realign
