#include "realign/io/motion_files.hpp"

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
      throw InputError(path, "line " + std::to_string(lineno) + " has " +
                                 std::to_string(toks.size()) + " values, expected " +
                                 std::to_string(columns));
    }
    std::vector<double> row(columns);
    for (std::size_t k = 0; k < columns; ++k) {
      if (!parse_finite(toks[k], row[k])) {
        throw InputError(path, "line " + std::to_string(lineno) + ": '" + std::string(toks[k]) +
                                   "' is not a finite number");
      }
    }
    rows.push_back(std::move(row));
  }
  if (f.bad()) throw InputError(path, "read error");
  return rows;
}

// Shortest digits that read back to the same double.
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
    throw InputError(path, std::to_string(rows.size()) + " matrix rows, not a multiple of 4");
  }
  std::vector<Mat4> out(rows.size() / 4);
  for (std::size_t n = 0; n < out.size(); ++n) {
    for (int i = 0; i < 4; ++i) {
      for (int k = 0; k < 4; ++k) out[n](i, k) = rows[4 * n + i][k];
    }
    const Eigen::RowVector4d bottom = out[n].row(3);
    if ((bottom - Eigen::RowVector4d(0, 0, 0, 1)).cwiseAbs().maxCoeff() > 1e-6) {
      throw InputError(path,
                       "matrix " + std::to_string(n) + " is not affine (last row is not 0 0 0 1)");
    }
  }
  return out;
}

}  // namespace realign
