#include "realign/reslice.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "realign/bspline.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
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
  const std::array<int, 3> odim = visible.dim;
  const long rows = static_cast<long>(odim[1]) * odim[2];
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r) {
    const int j = static_cast<int>(r % odim[1]), k = static_cast<int>(r / odim[1]);
    float* row = out + static_cast<std::size_t>(r) * odim[0];
    const int lo = std::max(visible.lo[r], 0), hi = std::min(visible.hi[r], odim[0] - 1);
    for (int i = 0; i < std::min(lo, odim[0]); ++i) row[i] = fill;
    for (int i = std::max(hi + 1, 0); i < odim[0]; ++i) row[i] = fill;
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
  }
}

#if defined(__SSE2__)
// Degree 4, the default: weights of the three axes computed together in one set of
// vector operations, and every coefficient row read as two overlapping 4-float loads
// (elements 0-3 and 1-4) so that no scalar work remains in the 25-row loop.
inline __m128 quartic_middle(__m128 u) {  // B4 on [0.5, 1.5] in Horner form
  const __m128 a0 = _mm_set1_ps(55.0f / 96.0f), a1 = _mm_set1_ps(5.0f / 24.0f),
               a2 = _mm_set1_ps(-5.0f / 4.0f), a3 = _mm_set1_ps(5.0f / 6.0f),
               a4 = _mm_set1_ps(-1.0f / 6.0f);
  __m128 p = _mm_add_ps(a3, _mm_mul_ps(u, a4));
  p = _mm_add_ps(a2, _mm_mul_ps(u, p));
  p = _mm_add_ps(a1, _mm_mul_ps(u, p));
  return _mm_add_ps(a0, _mm_mul_ps(u, p));
}

void reslice_rows_quartic(const PaddedCoefficients& c, const Mat4& m, const RowIntervals& visible,
                          float fill, float* out) {
  const std::array<int, 3> odim = visible.dim;
  const long rows = static_cast<long>(odim[1]) * odim[2];
  const std::ptrdiff_t sy = c.sy, sz = c.sz;
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r) {
    const int j = static_cast<int>(r % odim[1]), k = static_cast<int>(r / odim[1]);
    float* row = out + static_cast<std::size_t>(r) * odim[0];
    const int lo = std::max(visible.lo[r], 0), hi = std::min(visible.hi[r], odim[0] - 1);
    for (int i = 0; i < std::min(lo, odim[0]); ++i) row[i] = fill;
    for (int i = std::max(hi + 1, 0); i < odim[0]; ++i) row[i] = fill;
    const double bx = m(0, 1) * j + m(0, 2) * k + m(0, 3);
    const double by = m(1, 1) * j + m(1, 2) * k + m(1, 3);
    const double bz = m(2, 1) * j + m(2, 2) * k + m(2, 3);
    const float* origin = c.origin();
    const __m128 half = _mm_set1_ps(0.5f), one = _mm_set1_ps(1.0f);
    const __m128 c24 = _mm_set1_ps(1.0f / 24.0f), c115 = _mm_set1_ps(115.0f / 192.0f),
                 c58 = _mm_set1_ps(-5.0f / 8.0f), c14 = _mm_set1_ps(0.25f);
    for (int i = lo; i <= hi; ++i) {
      const double x = bx + m(0, 0) * i, y = by + m(1, 0) * i, z = bz + m(2, 0) * i;
      const int cx = fast_floor(x + 0.5), cy = fast_floor(y + 0.5), cz = fast_floor(z + 0.5);
      const __m128 t = _mm_setr_ps(static_cast<float>(x - cx), static_cast<float>(y - cy),
                                   static_cast<float>(z - cz), 0.0f);
      const __m128 a = _mm_sub_ps(half, t), b = _mm_add_ps(half, t), t2 = _mm_mul_ps(t, t);
      const __m128 a2 = _mm_mul_ps(a, a), b2 = _mm_mul_ps(b, b);
      __m128 w[5];
      w[0] = _mm_mul_ps(_mm_mul_ps(a2, a2), c24);
      w[4] = _mm_mul_ps(_mm_mul_ps(b2, b2), c24);
      w[2] = _mm_add_ps(c115, _mm_mul_ps(t2, _mm_add_ps(c58, _mm_mul_ps(t2, c14))));
      w[1] = quartic_middle(_mm_add_ps(one, t));
      w[3] = quartic_middle(_mm_sub_ps(one, t));
      // Lane 1 holds the y weights, lane 2 the z weights.
      __m128 wy[5];
      for (int q = 0; q < 5; ++q) wy[q] = _mm_shuffle_ps(w[q], w[q], 0x55);
      const float* base = origin + (cx - 2) + (cy - 2) * sy + (cz - 2) * sz;
      __m128 acc = _mm_setzero_ps(), acc_tail = _mm_setzero_ps();
      for (int kk = 0; kk < 5; ++kk) {
        const float* plane = base + kk * sz;
        __m128 p = _mm_setzero_ps(), p_tail = _mm_setzero_ps();
        for (int jj = 0; jj < 5; ++jj) {
          const float* q = plane + jj * sy;
          p = _mm_add_ps(p, _mm_mul_ps(wy[jj], _mm_loadu_ps(q)));
          p_tail = _mm_add_ps(p_tail, _mm_mul_ps(wy[jj], _mm_loadu_ps(q + 1)));
        }
        const __m128 wz = _mm_shuffle_ps(w[kk], w[kk], 0xAA);
        acc = _mm_add_ps(acc, _mm_mul_ps(wz, p));
        acc_tail = _mm_add_ps(acc_tail, _mm_mul_ps(wz, p_tail));
      }
      // x weights: lane 0 of w[0..3] against acc, and w[4] against element 4 (lane 3 of
      // the shifted load).
      __m128 w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
      _MM_TRANSPOSE4_PS(w0, w1, w2, w3);  // w0 now holds (wx0, wx1, wx2, wx3)
      float partial[4], tail[4], wx4;
      _mm_storeu_ps(partial, _mm_mul_ps(w0, acc));
      _mm_storeu_ps(tail, acc_tail);
      _mm_store_ss(&wx4, w[4]);
      row[i] = partial[0] + partial[1] + partial[2] + partial[3] + wx4 * tail[3];
    }
  }
}
#endif

}  // namespace

void reslice_frame(const PaddedCoefficients& c, const Mat4& m, const RowIntervals& visible,
                   float fill, float* out) {
  switch (c.degree) {
    case 0: return reslice_rows<0>(c, m, visible, fill, out);
    case 1: return reslice_rows<1>(c, m, visible, fill, out);
    case 2: return reslice_rows<2>(c, m, visible, fill, out);
    case 3: return reslice_rows<3>(c, m, visible, fill, out);
    case 4:
#if defined(__SSE2__)
      return reslice_rows_quartic(c, m, visible, fill, out);
#else
      return reslice_rows<4>(c, m, visible, fill, out);
#endif
    case 5: return reslice_rows<5>(c, m, visible, fill, out);
    default: throw std::invalid_argument("reslice degree must be 0-5");
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
