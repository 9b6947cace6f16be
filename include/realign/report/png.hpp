// A minimal PNG writer for 8-bit grayscale images, so that reports can embed pictures
// without an image library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace realign {

// The PNG file bytes of a width x height 8-bit grayscale image (`pixels` row by row, top row
// first): signature, IHDR, one zlib IDAT (libdeflate), IEND, each chunk with its CRC-32.
// Every row takes the filter that leaves the smallest sum of absolute residuals (the
// heuristic the PNG specification suggests). Throws std::invalid_argument when a side is
// not positive or pixels.size() != width * height.
std::vector<std::uint8_t> encode_png_gray8(const std::vector<std::uint8_t>& pixels, int width,
                                           int height);

// Standard base64 (RFC 4648, '+' and '/', '=' padding), for data: URIs.
std::string base64_encode(const std::vector<std::uint8_t>& bytes);

}  // namespace realign
