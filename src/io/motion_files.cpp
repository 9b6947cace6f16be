#include "realign/io/motion_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "realign/io/text_io.hpp"

namespace realign {
namespace {

using text::finish_write;
using text::gen10;
using text::open_for_write;
using text::sci8;

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
      throw InputError(
          path, fmt::format("line {} has {} values, expected {}", lineno, toks.size(), columns));
    }
    std::vector<double> row(columns);
    for (std::size_t k = 0; k < columns; ++k) {
      if (!parse_finite(toks[k], row[k])) {
        throw InputError(path,
                         fmt::format("line {}: '{}' is not a finite number", lineno, toks[k]));
      }
    }
    rows.push_back(std::move(row));
  }
  if (f.bad()) throw InputError(path, "read error");
  return rows;
}

// Sign, significant digits (no leading or trailing zeros) and decimal exponent of the
// shortest decimal that reads back to v, from fmt's shortest round-trip output, which may be
// in either notation ("1e-05", "0.0001", "1000000000000000"). v is finite and not zero.
struct Decimal {
  bool negative = false;
  std::string digits;  // v = 0.d1d2... x 10^(exponent + 1), i.e. d1.d2... x 10^exponent
  int exponent = 0;
};

Decimal shortest_decimal(double v) {
  Decimal d;
  std::string s = fmt::format("{}", v);
  d.negative = s.front() == '-';
  if (d.negative) s.erase(0, 1);
  if (const auto e = s.find('e'); e != std::string::npos) {
    d.exponent = std::stoi(s.substr(e + 1));
    s.erase(e);
  }
  const auto dot = s.find('.');
  const int before_dot = static_cast<int>(dot == std::string::npos ? s.size() : dot);
  if (dot != std::string::npos) s.erase(dot, 1);
  const auto first = s.find_first_not_of('0');
  d.exponent += before_dot - 1 - static_cast<int>(first);
  d.digits = s.substr(first);
  d.digits.erase(d.digits.find_last_not_of('0') + 1);
  return d;
}

// The shortest digits that read back to the same double, laid out as std::to_chars(v) does
// (the form of the earlier files, kept byte for byte): printf's %f or %e layout of those
// digits, whichever is shorter, %f on a tie. fmt's own shortest form switches to the
// exponent at other magnitudes ("0.0001" rather than "1e-04").
std::string shortest(double v) {
  if (!std::isfinite(v) || v == 0) return fmt::format("{}", v);
  const Decimal d = shortest_decimal(v);
  const std::string sign = d.negative ? "-" : "";
  const int n = static_cast<int>(d.digits.size()), e = d.exponent;
  const std::string sci = sign + d.digits.substr(0, 1) + (n > 1 ? "." + d.digits.substr(1) : "") +
                          fmt::format("e{:+03d}", e);
  const std::size_t fixed_size = sign.size() + (e >= n - 1 ? e + 1 : e >= 0 ? n + 1 : n + 1 - e);
  if (fixed_size > sci.size()) return sci;
  // An integer: its exact digits, which beyond 2^53 are not the shortest digits padded with
  // zeros; to_chars writes these too.
  if (e >= n - 1) return fmt::format("{:.0f}", v);
  if (e >= 0) return sign + d.digits.substr(0, e + 1) + "." + d.digits.substr(e + 1);
  return sign + "0." + std::string(-e - 1, '0') + d.digits;
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
    f << fmt::format("# frame {}\n", n + 1);
    for (int i = 0; i < 4; ++i) {
      // Shortest digits that read back to the same double: `realign apply` then reslices
      // exactly as the run that wrote the file did.
      for (int k = 0; k < 4; ++k) f << (k ? " " : "") << shortest(xfm[n](i, k));
      f << '\n';
    }
  }
  finish_write(f, path);
}

std::vector<Mat4> read_xfm(const std::string& path) {
  const auto rows = read_numeric_rows(path, 4);
  if (rows.size() % 4 != 0) {
    throw InputError(path, fmt::format("{} matrix rows, not a multiple of 4", rows.size()));
  }
  std::vector<Mat4> out(rows.size() / 4);
  for (std::size_t n = 0; n < out.size(); ++n) {
    for (int i = 0; i < 4; ++i) {
      for (int k = 0; k < 4; ++k) out[n](i, k) = rows[4 * n + i][k];
    }
    const Eigen::RowVector4d bottom = out[n].row(3);
    if ((bottom - Eigen::RowVector4d(0, 0, 0, 1)).cwiseAbs().maxCoeff() > 1e-6) {
      throw InputError(path, fmt::format("matrix {} is not affine (last row is not 0 0 0 1)", n));
    }
  }
  return out;
}

}  // namespace realign
