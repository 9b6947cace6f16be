#include "realign/text_format.hpp"

#include <charconv>
#include <system_error>

namespace realign {
namespace {

std::string format_double(double v, std::chars_format fmt, int precision) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, fmt, precision);
  if (res.ec != std::errc()) return "nan";
  return std::string(buf, res.ptr);
}

}  // namespace

std::string format_fixed(double v, int decimals) {
  return format_double(v, std::chars_format::fixed, decimals);
}

std::string format_general(double v, int significant_digits) {
  return format_double(v, std::chars_format::general, significant_digits);
}

std::string format_scientific(double v, int decimals) {
  return format_double(v, std::chars_format::scientific, decimals);
}

std::string xml_escape(std::string_view s) {
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

}  // namespace realign
