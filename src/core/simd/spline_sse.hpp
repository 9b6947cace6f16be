// B-spline values at degrees 2 and 3 with SSE: the weights of the three axes in one set
// of vector operations and each row of the support as one 4-float load. Estimation
// evaluates a frame at every sample point in every iteration, so this is its hot spot.
// Other degrees, and machines without SSE2, use the generic padded_value<D>.
#pragma once

#include "realign/core/bspline.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace realign::sse {

#if defined(__SSE2__)
// Degree 2: nine rows of three coefficients (the fourth lane is ignored; the padded
// array has slack at its end). `base` points at the first coefficient of the support and
// t holds the offsets from the nearest knots.
inline float quadratic_at(const float* base, std::ptrdiff_t sy, std::ptrdiff_t sz, __m128 t) {
  const __m128 half = _mm_set1_ps(0.5f);
  const __m128 a = _mm_sub_ps(half, t), b = _mm_add_ps(half, t);
  const __m128 w0 = _mm_mul_ps(half, _mm_mul_ps(a, a));
  const __m128 w1 = _mm_sub_ps(_mm_set1_ps(0.75f), _mm_mul_ps(t, t));
  const __m128 w2 = _mm_mul_ps(half, _mm_mul_ps(b, b));
  const __m128 wy[3] = {_mm_shuffle_ps(w0, w0, 0x55), _mm_shuffle_ps(w1, w1, 0x55),
                        _mm_shuffle_ps(w2, w2, 0x55)};
  const __m128 wz[3] = {_mm_shuffle_ps(w0, w0, 0xAA), _mm_shuffle_ps(w1, w1, 0xAA),
                        _mm_shuffle_ps(w2, w2, 0xAA)};
  __m128 acc = _mm_setzero_ps();
  for (int k = 0; k < 3; ++k) {
    const float* plane = base + k * sz;
    __m128 p = _mm_mul_ps(wy[0], _mm_loadu_ps(plane));
    p = _mm_add_ps(p, _mm_mul_ps(wy[1], _mm_loadu_ps(plane + sy)));
    p = _mm_add_ps(p, _mm_mul_ps(wy[2], _mm_loadu_ps(plane + 2 * sy)));
    acc = _mm_add_ps(acc, _mm_mul_ps(wz[k], p));
  }
  float sums[4], wx[3];
  _mm_storeu_ps(sums, acc);
  _mm_store_ss(&wx[0], w0);
  _mm_store_ss(&wx[1], w1);
  _mm_store_ss(&wx[2], w2);
  return wx[0] * sums[0] + wx[1] * sums[1] + wx[2] * sums[2];
}

// Degree 3: sixteen rows of four coefficients, one full vector each. t holds the offsets
// from the knot below (x - floor(x)).
inline float cubic_at(const float* base, std::ptrdiff_t sy, std::ptrdiff_t sz, __m128 t) {
  const __m128 one = _mm_set1_ps(1.0f), sixth = _mm_set1_ps(1.0f / 6.0f);
  const __m128 u = _mm_sub_ps(one, t), t2 = _mm_mul_ps(t, t), t3 = _mm_mul_ps(t2, t);
  const __m128 w0 = _mm_mul_ps(sixth, _mm_mul_ps(u, _mm_mul_ps(u, u)));
  // (4 - 6 t^2 + 3 t^3) / 6 and (1 + 3 t + 3 t^2 - 3 t^3) / 6
  const __m128 three = _mm_set1_ps(3.0f);
  const __m128 w1 =
      _mm_mul_ps(sixth, _mm_add_ps(_mm_sub_ps(_mm_set1_ps(4.0f), _mm_mul_ps(_mm_set1_ps(6.0f), t2)),
                                   _mm_mul_ps(three, t3)));
  const __m128 w2 = _mm_mul_ps(
      sixth,
      _mm_sub_ps(_mm_add_ps(one, _mm_mul_ps(three, _mm_add_ps(t, t2))), _mm_mul_ps(three, t3)));
  const __m128 w3 = _mm_mul_ps(sixth, t3);
  const __m128 w[4] = {w0, w1, w2, w3};
  __m128 acc = _mm_setzero_ps();
  for (int k = 0; k < 4; ++k) {
    const float* plane = base + k * sz;
    __m128 p = _mm_setzero_ps();
    for (int j = 0; j < 4; ++j)
      p = _mm_add_ps(p, _mm_mul_ps(_mm_shuffle_ps(w[j], w[j], 0x55), _mm_loadu_ps(plane + j * sy)));
    acc = _mm_add_ps(acc, _mm_mul_ps(_mm_shuffle_ps(w[k], w[k], 0xAA), p));
  }
  // The x weights across the lanes: (w0.x, w1.x, w2.x, w3.x).
  const __m128 lo = _mm_unpacklo_ps(w0, w1), hi = _mm_unpacklo_ps(w2, w3);
  const __m128 wx = _mm_movelh_ps(lo, hi);
  float s[4];
  _mm_storeu_ps(s, _mm_mul_ps(acc, wx));
  return (s[0] + s[1]) + (s[2] + s[3]);
}
#endif

// The value of degree-D coefficients at (x, y, z), under padded_value's conditions.
template <int D>
inline double value(const PaddedCoefficients& c, double x, double y, double z) {
#if defined(__SSE2__)
  if constexpr (D == 2) {
    const int cx = fast_floor(x + 0.5), cy = fast_floor(y + 0.5), cz = fast_floor(z + 0.5);
    const __m128 t = _mm_setr_ps(static_cast<float>(x - cx), static_cast<float>(y - cy),
                                 static_cast<float>(z - cz), 0.0f);
    return quadratic_at(c.origin() + (cx - 1) + (cy - 1) * c.sy + (cz - 1) * c.sz, c.sy, c.sz, t);
  } else if constexpr (D == 3) {
    const int fx = fast_floor(x), fy = fast_floor(y), fz = fast_floor(z);
    const __m128 t = _mm_setr_ps(static_cast<float>(x - fx), static_cast<float>(y - fy),
                                 static_cast<float>(z - fz), 0.0f);
    return cubic_at(c.origin() + (fx - 1) + (fy - 1) * c.sy + (fz - 1) * c.sz, c.sy, c.sz, t);
  }
#endif
  return padded_value<D>(c, x, y, z);
}

}  // namespace realign::sse
