// Shared by the text writers (motion_files.cpp, confounds.cpp, motion_plot.cpp, svg_plot.cpp,
// report.cpp): number formatting that ignores the locale, XML escaping, and opening/closing
// files with errors that name the path (OutputError, so a run that cannot write ends with exit
// status 3).
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <locale>
#include <string>
#include <string_view>

#include "realign/io/errors.hpp"

namespace realign::text {

// fmt without the 'L' flag never consults a locale, so a host program that calls
// setlocale() cannot turn these into decimal commas, as printf-style formatting would.
inline std::string sci8(double v) { return fmt::format("{:.8e}", v); }
inline std::string gen10(double v) { return fmt::format("{:.10g}", v); }
inline std::string fixed(double v, int decimals) { return fmt::format("{:.{}f}", v, decimals); }
inline std::string general(double v, int significant_digits) {
  return fmt::format("{:.{}g}", v, significant_digits);
}

// A TSV cell: BIDS writes missing values as "n/a".
inline std::string cell(double v) { return std::isnan(v) ? "n/a" : gen10(v); }

// For XML/HTML text and attribute values; control characters that XML 1.0 forbids (all
// below 0x20 but tab and newline) become spaces.
inline std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
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
        out += static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n' ? ' ' : ch;
    }
  }
  return out;
}

inline std::ofstream open_for_write(const std::string& path) {
  std::ofstream f(path, std::ios::out | std::ios::trunc | std::ios::binary);
  if (!f.is_open()) throw OutputError(path, std::string("cannot write: ") + std::strerror(errno));
  // The writers format every number with fmt; should one ever go through the stream, a
  // global C++ locale must still not add digit grouping.
  f.imbue(std::locale::classic());
  return f;
}

// Closing flushes; a full disk only shows up at that point.
inline void finish_write(std::ofstream& f, const std::string& path) {
  f.close();
  if (f.fail()) throw OutputError(path, std::string("write failed: ") + std::strerror(errno));
}

// A whole text file at once (a JSON sidecar, say).
inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream f = open_for_write(path);
  f << text;
  finish_write(f, path);
}

}  // namespace realign::text
