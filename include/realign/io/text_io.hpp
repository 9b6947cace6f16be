// Private to the text writers (outputs.cpp, confounds.cpp, svg_plot.cpp, report.cpp):
// locale-independent number formatting, JSON and XML escaping, and opening/closing files with
// errors that name the path (OutputError, so a run that cannot write ends with exit status 3).
#pragma once

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <locale>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "realign/io/errors.hpp"

namespace realign::text {

// std::to_chars is used throughout because printf-style formatting follows the global C
// locale, and a host program that calls setlocale() could otherwise get decimal commas.
inline std::string format_double(double v, std::chars_format fmt, int precision) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, fmt, precision);
  if (res.ec != std::errc()) return "nan";
  return std::string(buf, res.ptr);
}

inline std::string sci8(double v) { return format_double(v, std::chars_format::scientific, 8); }
inline std::string gen10(double v) { return format_double(v, std::chars_format::general, 10); }
inline std::string fixed(double v, int decimals) {
  return format_double(v, std::chars_format::fixed, decimals);
}
inline std::string general(double v, int significant_digits) {
  return format_double(v, std::chars_format::general, significant_digits);
}

// A TSV cell: BIDS writes missing values as "n/a".
inline std::string cell(double v) { return std::isnan(v) ? "n/a" : gen10(v); }

inline std::string json_number(double v) { return std::isfinite(v) ? gen10(v) : "null"; }

inline std::string json_string(std::string_view s) {
  static const char* hex = "0123456789abcdef";
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
  // Integers go through the stream; a global C++ locale could add digit grouping.
  f.imbue(std::locale::classic());
  return f;
}

// Closing flushes; a full disk only shows up at that point.
inline void finish_write(std::ofstream& f, const std::string& path) {
  f.close();
  if (f.fail()) throw OutputError(path, std::string("write failed: ") + std::strerror(errno));
}

}  // namespace realign::text
