// Number and markup formatting for the text outputs, independent of the process locale.
#pragma once

#include <string>
#include <string_view>

namespace realign {

// std::to_chars underneath: printf-style formatting follows the global C locale, and a host
// program that calls setlocale() could otherwise get decimal commas. "nan" if it fails.
std::string format_fixed(double v, int decimals);
std::string format_general(double v, int significant_digits);
std::string format_scientific(double v, int decimals);

// Escapes & < > " ' for XML/HTML text and attribute values; control characters that XML 1.0
// forbids (all below 0x20 except tab and newline) become spaces.
std::string xml_escape(std::string_view s);

}  // namespace realign
