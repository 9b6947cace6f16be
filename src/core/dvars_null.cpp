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
constexpr std::int32_t kNotFinite = std::numeric_limits<std::int32_t>::min();

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
  inv_quantum_ = std::ldexp(1.0, 20 - e);  // a power of two: dividing and multiplying agree
  sums_.assign(voxels_.size() * kFields, 0);
}

void DvarsNull::quantise(const float* frame, std::vector<std::int32_t>& q) const {
  const long n = static_cast<long>(voxels_.size());
  q.resize(voxels_.size());
#pragma omp parallel for schedule(static)
  for (long k = 0; k < n; ++k) {
    const float v = frame[voxels_[k]];
    q[k] =
        std::isfinite(v)
            ? static_cast<std::int32_t>(std::clamp(
                  nearest_integer(static_cast<double>(v) * inv_quantum_), -kMaxQuanta, kMaxQuanta))
            : kNotFinite;
  }
}

void DvarsNull::add_frame(int f, const float* frame) {
  quantise(frame, work_);
  const bool pair = f > 0 && last_frame_ == f - 1;
  const std::size_t n = voxels_.size();
  std::int64_t* sum = sums_.data() + kSum * n;
  std::int64_t* squares = sums_.data() + kSquares * n;
  std::int64_t* lag = sums_.data() + kLag * n;
  std::int64_t* finite = sums_.data() + kFinite * n;
  const std::int32_t* q = work_.data();
  const std::int32_t* prev = last_.data();
#pragma omp parallel for schedule(static)
  for (long k = 0; k < static_cast<long>(n); ++k) {
    if (q[k] == kNotFinite) continue;
    const std::int64_t v = q[k];
    sum[k] += v;
    squares[k] += v * v;
    finite[k] += 1;
    if (pair && prev[k] != kNotFinite) lag[k] += static_cast<std::int64_t>(prev[k]) * v;
  }
  for (const Field end : {kFirst, kLast}) {
    if (f != (end == kFirst ? 0 : frames_ - 1)) continue;
    for (std::size_t k = 0; k < n; ++k)
      if (q[k] != kNotFinite) sums_[end * n + k] = q[k];
  }
  std::swap(last_, work_);
  last_frame_ = f;
}

void DvarsNull::add_pair(const float* prev, const float* cur) {
  std::vector<std::int32_t> a, b;
  quantise(prev, a);
  quantise(cur, b);
  const std::size_t n = voxels_.size();
  std::int64_t* lag = sums_.data() + kLag * n;
  for (std::size_t k = 0; k < n; ++k)
    if (a[k] != kNotFinite && b[k] != kNotFinite) lag[k] += static_cast<std::int64_t>(a[k]) * b[k];
}

double DvarsNull::expected_dvars() const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (frames_ < 3) return nan;
  using Wide = __int128;
  const Wide t = frames_;
  const std::size_t n = voxels_.size();
  const auto field = [&](Field f, std::size_t k) { return sums_[f * n + k]; };
  double total = 0.0;
  std::size_t used = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (field(kFinite, k) != frames_) continue;
    // Multiplied through by t (and t^2) the demeaned sums are exact integers:
    // t * sum (x - m)^2 and t^2 * sum_t (x_t - m)(x_{t+1} - m).
    const Wide sum = field(kSum, k);
    const Wide spread = t * field(kSquares, k) - sum * sum;
    if (spread <= 0) continue;
    const Wide lag = t * t * field(kLag, k) -
                     t * sum * (2 * sum - field(kFirst, k) - field(kLast, k)) + (t - 1) * sum * sum;
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
