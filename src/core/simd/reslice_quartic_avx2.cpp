// 4th-degree reslicing with AVX2+FMA, two voxels of a row at a time. Every voxel gets the
// floating-point operations, on the same operands and in the same order, that the earlier
// one-voxel kernel's compiled code gave it (GCC had contracted its products into FMAs
// exactly where this file writes fmadd), so the outputs stay bit for bit the same. The pair
// only shares instructions: one 8-lane weight computation for both voxels (the first in the
// low 128-bit half, the second in the high half), each weight broadcast by one permute, the
// double-precision set-up of a voxel in one 4-lane vector, and that set-up issued a pair
// ahead of the sums.
#include <algorithm>

#include "reslice_quartic.hpp"

#if defined(__SSE2__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace realign {
namespace {

// Row (j, k)'s source point at i = 0, x y z in lanes 0-2: m(c, 1) j + m(c, 2) k + m(c, 3),
// rounded as the scalar code was, fma(m(c, 1), j, m(c, 2) k) + m(c, 3).
inline __m256d row_start(const Mat4& m, int j, int k) {
  const double* col = m.data();  // column-major: column c at col + 4 c
  const __m256d jk = _mm256_fmadd_pd(_mm256_loadu_pd(col + 4), _mm256_set1_pd(j),
                                     _mm256_mul_pd(_mm256_loadu_pd(col + 8), _mm256_set1_pd(k)));
  return _mm256_add_pd(jk, _mm256_loadu_pd(col + 12));
}

// The support of the point p (lanes 0-2): its first coefficient, and in lanes 0-2 of t the
// float offsets p - c from the nearest knots c = fast_floor(p + 0.5). Floor, to int and back
// to double gives fast_floor's c, converted as the scalar code converted it (+0.0, never
// floor's -0.0), for every p fast_floor is defined on.
struct Support {
  const float* base;
  __m128 t;
};

inline Support support(const float* origin, std::ptrdiff_t sy, std::ptrdiff_t sz, __m256d p) {
  const __m128i c = _mm256_cvttpd_epi32(_mm256_floor_pd(_mm256_add_pd(p, _mm256_set1_pd(0.5))));
  const __m128 t = _mm256_cvtpd_ps(_mm256_sub_pd(p, _mm256_cvtepi32_pd(c)));
  const int cx = _mm_cvtsi128_si32(c), cy = _mm_extract_epi32(c, 1), cz = _mm_extract_epi32(c, 2);
  return {origin + (cx - 2) + (cy - 2) * sy + (cz - 2) * sz, t};
}

// B4 on [0.5, 1.5], Horner form.
inline __m256 middle_piece(__m256 u) {
  __m256 p = _mm256_fmadd_ps(u, _mm256_set1_ps(-1.0f / 6.0f), _mm256_set1_ps(5.0f / 6.0f));
  p = _mm256_fmadd_ps(u, p, _mm256_set1_ps(-5.0f / 4.0f));
  p = _mm256_fmadd_ps(u, p, _mm256_set1_ps(5.0f / 24.0f));
  return _mm256_fmadd_ps(u, p, _mm256_set1_ps(55.0f / 96.0f));
}

// Lane l of w[q] is the q-th weight along the axis of lane l of t.
struct Weights {
  __m256 w[5];
};

inline Weights weights(__m256 t) {
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256 a = _mm256_sub_ps(half, t), b = _mm256_add_ps(half, t), t2 = _mm256_mul_ps(t, t);
  const __m256 a2 = _mm256_mul_ps(a, a), b2 = _mm256_mul_ps(b, b);
  Weights w;
  w.w[0] = _mm256_mul_ps(_mm256_mul_ps(a2, a2), _mm256_set1_ps(1.0f / 24.0f));
  w.w[4] = _mm256_mul_ps(_mm256_mul_ps(b2, b2), _mm256_set1_ps(1.0f / 24.0f));
  w.w[2] =
      _mm256_fmadd_ps(t2, _mm256_fmadd_ps(t2, _mm256_set1_ps(0.25f), _mm256_set1_ps(-5.0f / 8.0f)),
                      _mm256_set1_ps(115.0f / 192.0f));
  w.w[1] = middle_piece(_mm256_add_ps(one, t));
  w.w[3] = middle_piece(_mm256_sub_ps(one, t));
  return w;
}

// sum_i wx[i] s[i] over lanes 0-4 of s, with wx[i] in lane 0 of w[i]: in the order the
// earlier kernel's compiled code took it, w1 s1 first, then w0 s0, w2 s2, w3 s3, w4 s4 fused.
inline float x_sum(__m256 s, const __m128 (&w)[5]) {
  const __m128 lo = _mm256_castps256_ps128(s);
  __m128 v = _mm_mul_ss(w[1], _mm_movehdup_ps(lo));
  v = _mm_fmadd_ss(w[0], lo, v);
  v = _mm_fmadd_ss(w[2], _mm_movehl_ps(lo, lo), v);
  v = _mm_fmadd_ss(w[3], _mm_shuffle_ps(lo, lo, 0xFF), v);
  return _mm_cvtss_f32(_mm_fmadd_ss(w[4], _mm256_extractf128_ps(s, 1), v));
}

// The value at the voxel whose weights are in half H of w, base the first coefficient of its
// support: its 25 rows of eight floats (five of them the support) summed along j, then k.
template <int H>
inline float voxel_value(const float* base, std::ptrdiff_t sy, std::ptrdiff_t sz,
                         const Weights& w) {
  const __m256i y_lane = _mm256_set1_epi32(4 * H + 1), z_lane = _mm256_set1_epi32(4 * H + 2);
  __m256 wy[5];
  __m128 wx[5];
  for (int q = 0; q < 5; ++q) {
    wy[q] = _mm256_permutevar8x32_ps(w.w[q], y_lane);
    wx[q] = H == 0 ? _mm256_castps256_ps128(w.w[q]) : _mm256_extractf128_ps(w.w[q], 1);
  }
  __m256 acc = _mm256_setzero_ps();
  for (int kk = 0; kk < 5; ++kk) {
    const float* plane = base + kk * sz;
    __m256 p = _mm256_mul_ps(wy[0], _mm256_loadu_ps(plane));
    for (int jj = 1; jj < 5; ++jj) p = _mm256_fmadd_ps(wy[jj], _mm256_loadu_ps(plane + jj * sy), p);
    acc = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(w.w[kk], z_lane), p, acc);
  }
  return x_sum(acc, wx);
}

// Two voxels of a row: their supports and weights.
struct Pair {
  Support a, b;
  Weights w;
};

// Voxels lo..hi of the row whose voxel 0 maps to `start`. Each pair's set-up is issued one
// pair ahead of its sums, so that the CPU has it under way while it sums the pair before.
void row_voxels(const PaddedCoefficients& c, const Mat4& m, __m256d start, int lo, int hi,
                float* row) {
  const float* origin = c.origin();
  const std::ptrdiff_t sy = c.sy, sz = c.sz;
  const __m256d col0 = _mm256_loadu_pd(m.data());
  const auto at = [&](int i) {
    return support(origin, sy, sz, _mm256_fmadd_pd(col0, _mm256_set1_pd(i), start));
  };
  const auto pair = [&](int i) {
    const Support a = at(i), b = at(i + 1);
    return Pair{a, b, weights(_mm256_set_m128(b.t, a.t))};
  };
  int i = lo;
  if (i < hi) {
    Pair p = pair(i);
    for (;; i += 2) {
      const bool more = i + 3 <= hi;
      const Pair next = more ? pair(i + 2) : p;
      row[i] = voxel_value<0>(p.a.base, sy, sz, p.w);
      row[i + 1] = voxel_value<1>(p.b.base, sy, sz, p.w);
      if (!more) break;
      p = next;
    }
    i += 2;
  }
  if (i == hi) {
    const Support a = at(i);
    row[i] = voxel_value<0>(a.base, sy, sz, weights(_mm256_set_m128(a.t, a.t)));
  }
}

}  // namespace

void reslice_rows_quartic_avx2(const PaddedCoefficients& c, const Mat4& m,
                               const RowIntervals& visible, float fill, float* out) {
  for_each_visible_row(visible, fill, out, [&](int j, int k, int lo, int hi, float* row) {
    row_voxels(c, m, row_start(m, j, k), lo, hi, row);
  });
}

}  // namespace realign

#pragma GCC pop_options

#endif
