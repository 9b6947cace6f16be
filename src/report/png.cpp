#include "realign/report/png.hpp"

#include <libdeflate.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace realign {
namespace {

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_chunk(std::vector<std::uint8_t>& out, const char type[4],
               const std::vector<std::uint8_t>& data) {
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  // The CRC covers the type and the data, not the length.
  put_u32(out, libdeflate_crc32(0, out.data() + start, out.size() - start));
}

std::uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<std::uint8_t>(a);
  return static_cast<std::uint8_t>(pb <= pc ? b : c);
}

// Filters one row (one byte per pixel) with PNG filter `type` into `out`.
void filter_row(int type, const std::uint8_t* row, const std::uint8_t* above, int width,
                std::uint8_t* out) {
  for (int x = 0; x < width; ++x) {
    const int a = x > 0 ? row[x - 1] : 0;
    const int b = above ? above[x] : 0;
    const int c = x > 0 && above ? above[x - 1] : 0;
    int predicted = 0;
    switch (type) {
      case 1:
        predicted = a;
        break;
      case 2:
        predicted = b;
        break;
      case 3:
        predicted = (a + b) / 2;
        break;
      case 4:
        predicted = paeth(a, b, c);
        break;
      default:
        break;
    }
    out[x] = static_cast<std::uint8_t>(row[x] - predicted);
  }
}

// Residuals read as signed bytes: small either way round means cheap to compress.
long residual_cost(const std::uint8_t* filtered, int width) {
  long sum = 0;
  for (int x = 0; x < width; ++x)
    sum += std::abs(static_cast<int>(static_cast<std::int8_t>(filtered[x])));
  return sum;
}

}  // namespace

std::vector<std::uint8_t> encode_png_gray8(const std::vector<std::uint8_t>& pixels, int width,
                                           int height) {
  if (width <= 0 || height <= 0 ||
      pixels.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
    throw std::invalid_argument("encode_png_gray8: image size does not match its pixels");

  const std::size_t stride = static_cast<std::size_t>(width) + 1;
  std::vector<std::uint8_t> raw(stride * height);
  std::vector<std::uint8_t> trial(width);
  for (int y = 0; y < height; ++y) {
    const std::uint8_t* row = pixels.data() + static_cast<std::size_t>(y) * width;
    const std::uint8_t* above = y > 0 ? row - width : nullptr;
    std::uint8_t* dst = raw.data() + y * stride;
    long best = -1;
    for (int type = 0; type <= 4; ++type) {
      filter_row(type, row, above, width, trial.data());
      const long cost = residual_cost(trial.data(), width);
      if (best < 0 || cost < best) {
        best = cost;
        dst[0] = static_cast<std::uint8_t>(type);
        std::copy(trial.begin(), trial.end(), dst + 1);
      }
    }
  }

  std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> comp(
      libdeflate_alloc_compressor(9), libdeflate_free_compressor);
  if (!comp) throw std::bad_alloc();
  std::vector<std::uint8_t> idat(libdeflate_zlib_compress_bound(comp.get(), raw.size()));
  const std::size_t n =
      libdeflate_zlib_compress(comp.get(), raw.data(), raw.size(), idat.data(), idat.size());
  if (n == 0) throw std::runtime_error("encode_png_gray8: compression failed");
  idat.resize(n);

  std::vector<std::uint8_t> ihdr;
  put_u32(ihdr, static_cast<std::uint32_t>(width));
  put_u32(ihdr, static_cast<std::uint32_t>(height));
  // Bit depth 8, colour type 0 (grayscale), deflate, adaptive filtering, no interlace.
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});

  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IDAT", idat);
  put_chunk(png, "IEND", {});
  return png;
}

std::string base64_encode(const std::vector<std::uint8_t>& bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += digits[(v >> shift) & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = bytes[i] << 16;
    if (rest == 2) v |= bytes[i + 1] << 8;
    out += digits[(v >> 18) & 63];
    out += digits[(v >> 12) & 63];
    out += rest == 2 ? digits[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace realign
