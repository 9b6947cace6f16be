#include "realign/core/reslice.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>

#include "realign/core/bspline.hpp"
#include "simd/reslice_quartic.hpp"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace realign {

void RowIntervals::intersect(const RowIntervals& o) {
  for (std::size_t r = 0; r < lo.size(); ++r) {
    lo[r] = std::max(lo[r], o.lo[r]);
    hi[r] = std::min(hi[r], o.hi[r]);
  }
}

void RowIntervals::apply(float* vol, float fill) const {
  const long rows = static_cast<long>(lo.size());
  for (long r = 0; r < rows; ++r) {
    float* row = vol + static_cast<std::size_t>(r) * dim[0];
    for (int i = 0; i < dim[0]; ++i)
      if (i < lo[r] || i > hi[r]) row[i] = fill;
  }
}

RowIntervals visible_rows(const std::array<int, 3>& out_dim, const std::array<int, 3>& frame_dim,
                          const Mat4& m, double tol) {
  RowIntervals v;
  v.dim = out_dim;
  const std::size_t rows = static_cast<std::size_t>(out_dim[1]) * out_dim[2];
  v.lo.assign(rows, 0);
  v.hi.assign(rows, out_dim[0] - 1);
  for (int k = 0; k < out_dim[2]; ++k)
    for (int j = 0; j < out_dim[1]; ++j) {
      const std::size_t r = static_cast<std::size_t>(k) * out_dim[1] + j;
      double lo = 0.0, hi = out_dim[0] - 1.0;
      for (int c = 0; c < 3; ++c) {
        // Along the row the source coordinate is base + i * slope.
        const double base = m(c, 1) * j + m(c, 2) * k + m(c, 3);
        const double slope = m(c, 0);
        // A single-slice axis admits its whole slab.
        const double t = frame_dim[c] == 1 ? 0.5 : tol;
        const double a = -t, b = frame_dim[c] - 1 + t;
        if (std::fabs(slope) < 1e-12) {
          if (base < a || base > b) hi = -1.0;
          continue;
        }
        double i0 = (a - base) / slope, i1 = (b - base) / slope;
        if (i0 > i1) std::swap(i0, i1);
        lo = std::max(lo, i0);
        hi = std::min(hi, i1);
      }
      v.lo[r] = static_cast<int>(std::ceil(lo - 1e-9));
      v.hi[r] = hi < 0.0 ? -1 : static_cast<int>(std::floor(hi + 1e-9));
    }
  return v;
}

namespace {

// The (D+1)^2 coefficient rows are combined into D+1 partial sums along i first. With
// SSE2 (every x86-64) the first four partial sums of a row are one vector multiply-add;
// the rest is scalar.
template <int D>
inline float combine_rows(const float* base, std::ptrdiff_t sy, std::ptrdiff_t sz,
                          const double* wxd, const double* wyd, const double* wzd) {
  float t[D + 1] = {};
#if defined(__SSE2__)
  if constexpr (D >= 3) {
    __m128 acc = _mm_setzero_ps();
    for (int k = 0; k <= D; ++k) {
      const float* plane = base + k * sz;
      __m128 plane_acc = _mm_setzero_ps();
      float tail[D + 1] = {};
      for (int j = 0; j <= D; ++j) {
        const float w = static_cast<float>(wyd[j]);
        const float* row = plane + j * sy;
        plane_acc = _mm_add_ps(plane_acc, _mm_mul_ps(_mm_set1_ps(w), _mm_loadu_ps(row)));
        for (int i = 4; i <= D; ++i) tail[i] += w * row[i];
      }
      const float wz = static_cast<float>(wzd[k]);
      acc = _mm_add_ps(acc, _mm_mul_ps(_mm_set1_ps(wz), plane_acc));
      for (int i = 4; i <= D; ++i) t[i] += wz * tail[i];
    }
    float head[4];
    _mm_storeu_ps(head, acc);
    for (int i = 0; i < 4; ++i) t[i] = head[i];
    float v = 0.0f;
    for (int i = 0; i <= D; ++i) v += static_cast<float>(wxd[i]) * t[i];
    return v;
  }
#endif
  for (int k = 0; k <= D; ++k) {
    const float* plane = base + k * sz;
    for (int j = 0; j <= D; ++j) {
      const float w = static_cast<float>(wzd[k] * wyd[j]);
      const float* row = plane + j * sy;
      for (int i = 0; i <= D; ++i) t[i] += w * row[i];
    }
  }
  float v = 0.0f;
  for (int i = 0; i <= D; ++i) v += static_cast<float>(wxd[i]) * t[i];
  return v;
}

template <int D>
void reslice_rows(const PaddedCoefficients& c, const Mat4& m, const RowIntervals& visible,
                  float fill, float* out) {
  for_each_visible_row(visible, fill, out, [&](int j, int k, int lo, int hi, float* row) {
    const double bx = m(0, 1) * j + m(0, 2) * k + m(0, 3);
    const double by = m(1, 1) * j + m(1, 2) * k + m(1, 3);
    const double bz = m(2, 1) * j + m(2, 2) * k + m(2, 3);
    const float* origin = c.origin();
    for (int i = lo; i <= hi; ++i) {
      double wx[D + 1], wy[D + 1], wz[D + 1];
      const int fx = spline_weights<D>(bx + m(0, 0) * i, wx);
      const int fy = spline_weights<D>(by + m(1, 0) * i, wy);
      const int fz = spline_weights<D>(bz + m(2, 0) * i, wz);
      row[i] = combine_rows<D>(origin + fx + fy * c.sy + fz * c.sz, c.sy, c.sz, wx, wy, wz);
    }
  });
}

#if defined(__SSE2__)
// Degree 4, the default: the SSE2 baseline here and AVX2+FMA (reslice_quartic_avx2.cpp),
// chosen at run time so one binary suits every x86-64 node.
#include "simd/reslice_quartic.inc"

std::atomic<bool> g_allow_avx2{true};

void reslice_rows_quartic(const PaddedCoefficients& c, const Mat4& m, const RowIntervals& visible,
                          float fill, float* out) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && g_allow_avx2)
    reslice_rows_quartic_avx2(c, m, visible, fill, out);
  else
    reslice_rows_quartic_sse2(c, m, visible, fill, out);
}
#endif

}  // namespace

bool reslice_use_avx2(bool allow) {
#if defined(__SSE2__)
  g_allow_avx2 = allow;
  return allow && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  (void)allow;
  return false;
#endif
}

void reslice_frame(const PaddedCoefficients& c, const Mat4& m, const RowIntervals& visible,
                   float fill, float* out) {
  switch (c.degree) {
    case 0:
      return reslice_rows<0>(c, m, visible, fill, out);
    case 1:
      return reslice_rows<1>(c, m, visible, fill, out);
    case 2:
      return reslice_rows<2>(c, m, visible, fill, out);
    case 3:
      return reslice_rows<3>(c, m, visible, fill, out);
    case 4:
#if defined(__SSE2__)
      return reslice_rows_quartic(c, m, visible, fill, out);
#else
      return reslice_rows<4>(c, m, visible, fill, out);
#endif
    case 5:
      return reslice_rows<5>(c, m, visible, fill, out);
    default:
      throw std::invalid_argument("reslice degree must be 0-5");
  }
}

void MeanImage::reset(std::size_t voxels) {
  sum.assign(voxels, 0.0);
  count.assign(voxels, 0.0f);
}

void MeanImage::add(const float* resliced, const RowIntervals& covered) {
  const std::array<int, 3> d = covered.dim;
  const long rows = static_cast<long>(d[1]) * d[2];
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r) {
    const std::size_t base = static_cast<std::size_t>(r) * d[0];
    const int lo = std::max(covered.lo[r], 0), hi = std::min(covered.hi[r], d[0] - 1);
    for (int i = lo; i <= hi; ++i) {
      sum[base + i] += resliced[base + i];
      count[base + i] += 1.0f;
    }
  }
}

std::vector<float> MeanImage::result(float fill) const {
  std::vector<float> m(sum.size());
  for (std::size_t v = 0; v < sum.size(); ++v)
    m[v] = count[v] > 0 ? static_cast<float>(sum[v] / count[v]) : fill;
  return m;
}

}  // namespace realign
