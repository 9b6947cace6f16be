#include "realign/core/dvars_null.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "realign/core/nearest.hpp"

namespace realign {
namespace {

// The fields kept per voxel: the sum, the sum of squares, the sum of products of
// consecutive frames, the first and the last value, and how many frames were finite.
enum Field { kSum, kSquares, kLag, kFirst, kLast, kFinite, kFields };

// A value outside +-2^24 quanta (16 times the peak) is clipped there: then a square is
// below 2^48 and no sum overflows for up to 2^15 frames.
constexpr double kMaxQuanta = 16777216.0;
constexpr int kMaxFrames = 1 << 15;
constexpr std::int64_t kNotFinite = std::numeric_limits<std::int64_t>::min();

}  // namespace

DvarsNull::DvarsNull(const std::vector<std::uint8_t>& mask, std::size_t voxels, double peak,
                     int frames)
    : frames_(frames) {
  if (!mask.empty() && mask.size() != voxels)
    throw std::invalid_argument("DvarsNull: mask of " + std::to_string(mask.size()) +
                                " voxels for frames of " + std::to_string(voxels));
  if (frames > kMaxFrames)
    throw std::invalid_argument("DvarsNull: more than " + std::to_string(kMaxFrames) + " frames");
  for (std::size_t v = 0; v < voxels; ++v)
    if (mask.empty() || mask[v]) voxels_.push_back(v);
  int e = 0;
  std::frexp(std::isfinite(peak) && peak > 0 ? peak : 1.0, &e);
  quantum_ = std::ldexp(1.0, e - 20);
  sums_.assign(voxels_.size() * kFields, 0);
}

std::int64_t DvarsNull::on_grid(float v) const {
  if (!std::isfinite(v)) return kNotFinite;
  const double q = nearest_integer(static_cast<double>(v) / quantum_);
  return static_cast<std::int64_t>(std::clamp(q, -kMaxQuanta, kMaxQuanta));
}

void DvarsNull::add_frame(int f, const float* frame) {
  const long n = static_cast<long>(voxels_.size());
#pragma omp parallel for schedule(static)
  for (long k = 0; k < n; ++k) {
    const std::int64_t q = on_grid(frame[voxels_[k]]);
    if (q == kNotFinite) continue;
    std::int64_t* s = &sums_[static_cast<std::size_t>(k) * kFields];
    s[kSum] += q;
    s[kSquares] += q * q;
    if (f == 0) s[kFirst] = q;
    if (f == frames_ - 1) s[kLast] = q;
    s[kFinite] += 1;
  }
}

void DvarsNull::add_pair(const float* prev, const float* cur) {
  const long n = static_cast<long>(voxels_.size());
#pragma omp parallel for schedule(static)
  for (long k = 0; k < n; ++k) {
    const std::int64_t a = on_grid(prev[voxels_[k]]), b = on_grid(cur[voxels_[k]]);
    if (a != kNotFinite && b != kNotFinite)
      sums_[static_cast<std::size_t>(k) * kFields + kLag] += a * b;
  }
}

double DvarsNull::expected_dvars() const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (frames_ < 3) return nan;
  using Wide = __int128;
  const Wide t = frames_;
  double total = 0.0;
  std::size_t used = 0;
  for (std::size_t k = 0; k < voxels_.size(); ++k) {
    const std::int64_t* s = &sums_[k * kFields];
    if (s[kFinite] != frames_) continue;
    // Multiplied through by t (and t^2) the demeaned sums are exact integers:
    // t * sum (x - m)^2 and t^2 * sum_t (x_t - m)(x_{t+1} - m).
    const Wide sum = s[kSum];
    const Wide spread = t * s[kSquares] - sum * sum;
    if (spread <= 0) continue;
    const Wide lag =
        t * t * s[kLag] - t * sum * (2 * sum - s[kFirst] - s[kLast]) + (t - 1) * sum * sum;
    const double r1 =
        static_cast<double>(lag) / (static_cast<double>(t) * static_cast<double>(spread));
    const double sd = std::sqrt(static_cast<double>(spread) /
                                (static_cast<double>(t) * static_cast<double>(t - 1)));
    total += sd * std::sqrt(std::max(0.0, 2.0 * (1.0 - r1)));
    ++used;
  }
  return used ? total / static_cast<double>(used) * quantum_ : nan;
}

std::vector<double> standardised_dvars(const std::vector<double>& dvars, double expected) {
  std::vector<double> out(dvars.size(), std::numeric_limits<double>::quiet_NaN());
  if (!(expected > 0) || !std::isfinite(expected)) return out;
  for (std::size_t t = 0; t < dvars.size(); ++t) out[t] = dvars[t] / expected;
  return out;
}

}  // namespace realign
