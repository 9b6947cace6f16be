#include "realign/core/dvars_null.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "realign/core/nearest.hpp"
#include "simd/cpu_features.hpp"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

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

// One value on the grid. Clamping before rounding gives what rounding before clamping
// gives (the bounds are integers and both steps are monotonic); the vector form below
// relies on it.
std::int32_t on_grid(float v, double inv_quantum) {
  if (!std::isfinite(v)) return kNotFinite;
  const double x = std::clamp(static_cast<double>(v) * inv_quantum, -kMaxQuanta, kMaxQuanta);
  return static_cast<std::int32_t>(nearest_integer(x));
}

void quantise_portable(const float* v, std::size_t n, double inv_quantum, std::int32_t* q) {
  for (std::size_t i = 0; i < n; ++i) q[i] = on_grid(v[i], inv_quantum);
}

// The frame's sums: std_dvars takes every frame once, on rank 0's path, where these loops
// were most of its cost per frame. Missing values (kNotFinite) add zeros, which is what
// skipping them did; written without branches, the compiler vectorises the loop (AVX2
// multiplies 32-bit values into 64-bit products four at a time).
template <bool pair>
inline void add_sums(const std::int32_t* q, const std::int32_t* prev, std::size_t n,
                     std::int64_t* sum, std::int64_t* squares, std::int64_t* lag,
                     std::int64_t* finite) {
  for (std::size_t k = 0; k < n; ++k) {
    const bool ok = q[k] != kNotFinite;
    const std::int64_t v = ok ? q[k] : 0;
    sum[k] += v;
    squares[k] += v * v;
    finite[k] += ok;
    if (pair) lag[k] += (prev[k] != kNotFinite ? std::int64_t{prev[k]} : 0) * v;
  }
}

#if defined(__SSE2__)
// on_grid four values at a time: the same products, clamps and rounding (add and take
// away 2^52, the sign put back), each an exact operation on doubles.
__attribute__((target("avx2"))) void quantise_avx2(const float* v, std::size_t n,
                                                   double inv_quantum, std::int32_t* q) {
  const __m256d lo = _mm256_set1_pd(-kMaxQuanta), hi = _mm256_set1_pd(kMaxQuanta);
  const __m256d two52 = _mm256_set1_pd(4503599627370496.0), sign = _mm256_set1_pd(-0.0);
  const __m256d inv = _mm256_set1_pd(inv_quantum);
  const __m128i exponent = _mm_set1_epi32(0x7f800000), missing = _mm_set1_epi32(kNotFinite);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m128 f = _mm_loadu_ps(v + i);
    const __m128i bits = _mm_and_si128(_mm_castps_si128(f), exponent);
    const __m128i nonfinite = _mm_cmpeq_epi32(bits, exponent);  // Inf or NaN
    const __m256d x = _mm256_min_pd(_mm256_max_pd(_mm256_mul_pd(_mm256_cvtps_pd(f), inv), lo), hi);
    const __m256d a = _mm256_andnot_pd(sign, x);
    const __m256d r =
        _mm256_or_pd(_mm256_sub_pd(_mm256_add_pd(a, two52), two52), _mm256_and_pd(sign, x));
    const __m128i g = _mm_blendv_epi8(_mm256_cvttpd_epi32(r), missing, nonfinite);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), g);
  }
  quantise_portable(v + i, n - i, inv_quantum, q + i);
}

template <bool pair>
__attribute__((target("avx2"))) void add_sums_avx2(const std::int32_t* q, const std::int32_t* prev,
                                                   std::size_t n, std::int64_t* sum,
                                                   std::int64_t* squares, std::int64_t* lag,
                                                   std::int64_t* finite) {
  add_sums<pair>(q, prev, n, sum, squares, lag, finite);
}

#endif

void quantise_run(const float* v, std::size_t n, double inv_quantum, std::int32_t* q) {
#if defined(__SSE2__)
  if (cpu_has_avx2()) return quantise_avx2(v, n, inv_quantum, q);
#endif
  quantise_portable(v, n, inv_quantum, q);
}

// Sums in chunks a thread each: integers, so any split gives the same sums.
template <bool pair>
void add_all_sums(const std::int32_t* q, const std::int32_t* prev, std::size_t n, std::int64_t* sum,
                  std::int64_t* squares, std::int64_t* lag, std::int64_t* finite) {
  constexpr std::size_t kChunk = 16384;
  const long chunks = static_cast<long>((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static)
  for (long c = 0; c < chunks; ++c) {
    const std::size_t b = c * kChunk, m = std::min(kChunk, n - b);
#if defined(__SSE2__)
    if (cpu_has_avx2()) {
      add_sums_avx2<pair>(q + b, prev + b, m, sum + b, squares + b, lag + b, finite + b);
      continue;
    }
#endif
    add_sums<pair>(q + b, prev + b, m, sum + b, squares + b, lag + b, finite + b);
  }
}

}  // namespace

DvarsNull::DvarsNull(const std::vector<std::uint8_t>& mask, std::size_t voxels, double peak,
                     int frames)
    : frames_(frames) {
  if (!mask.empty() && mask.size() != voxels)
    throw std::invalid_argument("DvarsNull: mask of " + std::to_string(mask.size()) +
                                " voxels for frames of " + std::to_string(voxels));
  if (frames > kMaxFrames)
    throw std::invalid_argument("DvarsNull: more than " + std::to_string(kMaxFrames) + " frames");
  for (std::size_t v = 0; v < voxels; ++v) {
    if (!mask.empty() && !mask[v]) continue;
    if (runs_.empty() || runs_.back().second != v)
      runs_.emplace_back(v, v + 1);
    else
      ++runs_.back().second;
    ++count_;
  }
  int e = 0;
  std::frexp(std::isfinite(peak) && peak > 0 ? peak : 1.0, &e);
  quantum_ = std::ldexp(1.0, e - 20);
  inv_quantum_ = std::ldexp(1.0, 20 - e);  // a power of two: dividing and multiplying agree
  sums_.assign(count_ * kFields, 0);
}

void DvarsNull::quantise(const float* frame, std::vector<std::int32_t>& q) const {
  q.resize(count_);
  std::size_t k = 0;
  for (const auto& [begin, end] : runs_) {
    quantise_run(frame + begin, end - begin, inv_quantum_, q.data() + k);
    k += end - begin;
  }
}

void DvarsNull::add_frame(int f, const float* frame) {
  quantise(frame, work_);
  const std::size_t n = count_;
  std::int64_t* sum = sums_.data() + kSum * n;
  std::int64_t* squares = sums_.data() + kSquares * n;
  std::int64_t* lag = sums_.data() + kLag * n;
  std::int64_t* finite = sums_.data() + kFinite * n;
  if (f > 0 && last_frame_ == f - 1)
    add_all_sums<true>(work_.data(), last_.data(), n, sum, squares, lag, finite);
  else
    add_all_sums<false>(work_.data(), work_.data(), n, sum, squares, lag, finite);  // no lag
  for (const Field end : {kFirst, kLast}) {
    if (f != (end == kFirst ? 0 : frames_ - 1)) continue;
    for (std::size_t k = 0; k < n; ++k)
      if (work_[k] != kNotFinite) sums_[end * n + k] = work_[k];
  }
  std::swap(last_, work_);
  last_frame_ = f;
}

void DvarsNull::add_pair(const float* prev, const float* cur) {
  std::vector<std::int32_t> a, b;
  quantise(prev, a);
  quantise(cur, b);
  const std::size_t n = count_;
  std::int64_t* lag = sums_.data() + kLag * n;
  for (std::size_t k = 0; k < n; ++k)
    if (a[k] != kNotFinite && b[k] != kNotFinite) lag[k] += static_cast<std::int64_t>(a[k]) * b[k];
}

double DvarsNull::expected_dvars() const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (frames_ < 3) return nan;
  using Wide = __int128;
  const Wide t = frames_;
  const std::size_t n = count_;
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
