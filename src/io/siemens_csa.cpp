#include "realign/io/siemens_csa.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "realign/io/errors.hpp"

namespace realign {
namespace {

constexpr std::size_t kElementHeader = 84;  // name, VM, VR, SyngoDT, items, one more
constexpr std::size_t kItemHeader = 16;     // four int32

std::string trimmed(const char* p, std::size_t n) {
  std::size_t len = ::strnlen(p, n);
  std::size_t first = 0;
  while (first < len && std::isspace(static_cast<unsigned char>(p[first]))) ++first;
  while (len > first && std::isspace(static_cast<unsigned char>(p[len - 1]))) --len;
  return std::string(p + first, len - first);
}

class Parse {
 public:
  Parse(const std::string& file, const char* bytes, std::size_t size)
      : file_(file), b_(bytes), size_(size) {}

  std::vector<CsaElement> run() {
    if (size_ < 16 || std::memcmp(b_, "SV10", 4) != 0)
      refuse("no \"SV10\" mark (" + std::to_string(size_) + " bytes)");
    const std::uint32_t count = u32(8);
    // Each element takes at least its header: a count that cannot fit is refused before
    // anything is reserved for it.
    if (count > (size_ - 16) / kElementHeader)
      refuse("claims " + std::to_string(count) + " elements in " + std::to_string(size_) +
             " bytes");
    std::vector<CsaElement> out(count);
    std::size_t at = 16;
    for (CsaElement& e : out) at = element(at, e);
    return out;
  }

 private:
  [[noreturn]] void refuse(const std::string& problem) const {
    throw RefusedInput(file_, "Siemens CSA header: " + problem);
  }
  std::uint32_t u32(std::size_t at) const {
    const auto* p = reinterpret_cast<const unsigned char*>(b_ + at);
    return p[0] | p[1] << 8 | p[2] << 16 | static_cast<std::uint32_t>(p[3]) << 24;
  }
  // n bytes from `at` lie inside the header; else what starts there (named by `what`, then
  // `whose`) is refused.
  void need(std::size_t at, std::size_t n, const char* what, const std::string& whose) const {
    if (at > size_ || n > size_ - at)
      refuse(what + whose + " at byte " + std::to_string(at) + " runs past its " +
             std::to_string(size_) + " bytes");
  }

  std::size_t element(std::size_t at, CsaElement& e) {
    need(at, kElementHeader, "an element", "");
    e.name = trimmed(b_ + at, 64);
    e.vr = trimmed(b_ + at + 68, 4);
    const std::uint32_t items = u32(at + 76);
    at += kElementHeader;
    if (items > (size_ - at) / kItemHeader)
      refuse(e.name + " claims " + std::to_string(items) + " items in the " +
             std::to_string(size_ - at) + " bytes left");
    for (std::uint32_t i = 0; i < items; ++i) {
      need(at, kItemHeader, "an item of ", e.name);
      const std::uint32_t length = u32(at + 4);
      at += kItemHeader;
      need(at, length, "a value of ", e.name);
      std::string v = trimmed(b_ + at, length);
      if (!v.empty()) e.values.push_back(std::move(v));
      // Values are padded to four bytes; the last one may end the header unpadded.
      const std::size_t padded = (static_cast<std::size_t>(length) + 3) & ~std::size_t{3};
      at = std::min(at + padded, size_);
    }
    return at;
  }

  const std::string& file_;
  const char* b_;
  std::size_t size_;
};

const CsaElement* find(const std::vector<CsaElement>& csa, const char* name) {
  for (const CsaElement& e : csa)
    if (e.name == name) return &e;
  return nullptr;
}

bool number(const std::string& text, double& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno != ERANGE && std::isfinite(out);
}

}  // namespace

std::vector<CsaElement> parse_csa(const std::string& file, const char* bytes, std::size_t size) {
  return Parse(file, bytes, size).run();
}

MosaicCsa mosaic_csa(const std::string& file, const std::vector<CsaElement>& csa) {
  MosaicCsa out;
  const CsaElement* images = find(csa, "NumberOfImagesInMosaic");
  double n = 0;
  if (!images || images->values.empty() || !number(images->values[0], n) || n < 1 || n > 65535 ||
      n != std::floor(n))
    throw RefusedInput(file,
                       "a Siemens mosaic whose CSA header has no NumberOfImagesInMosaic from 1 "
                       "to 65535");
  out.images = static_cast<int>(n);
  const CsaElement* normal = find(csa, "SliceNormalVector");
  bool ok = normal && normal->values.size() == 3;
  double length = 0;
  for (int i = 0; ok && i < 3; ++i) {
    ok = number(normal->values[i], out.normal[i]);
    length += out.normal[i] * out.normal[i];
  }
  if (!ok || !(length > 1e-6) || !std::isfinite(length))
    throw RefusedInput(file,
                       "a Siemens mosaic whose CSA header has no SliceNormalVector of three "
                       "numbers");
  for (double& x : out.normal) x /= std::sqrt(length);
  return out;
}

}  // namespace realign
