#include "spline_batch.hpp"

#include "spline_sse.hpp"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace realign::batch {
namespace {

template <int D>
void one_by_one(const PaddedCoefficients& c, const double* x, const double* y, const double* z,
                int n, double* out) {
  for (int i = 0; i < n; ++i) out[i] = sse::value<D>(c, x[i], y[i], z[i]);
}

#if defined(__SSE2__)
// sse::cubic_at for two points, one in each 128-bit half: the same operations in the same
// order on each half. Built for AVX2 without FMA, so no product is fused into a sum.
__attribute__((target("avx2"))) void cubic_pairs(const PaddedCoefficients& c, const double* x,
                                                 const double* y, const double* z, int n,
                                                 double* out) {
  const std::ptrdiff_t sy = c.sy, sz = c.sz;
  const float* origin = c.origin();
  const __m256 one = _mm256_set1_ps(1.0f), sixth = _mm256_set1_ps(1.0f / 6.0f);
  const __m256 three = _mm256_set1_ps(3.0f), four = _mm256_set1_ps(4.0f),
               six = _mm256_set1_ps(6.0f);
  int i = 0;
  for (; i + 2 <= n; i += 2) {
    const int ax = fast_floor(x[i]), ay = fast_floor(y[i]), az = fast_floor(z[i]);
    const int bx = fast_floor(x[i + 1]), by = fast_floor(y[i + 1]), bz = fast_floor(z[i + 1]);
    const __m256 t =
        _mm256_setr_ps(static_cast<float>(x[i] - ax), static_cast<float>(y[i] - ay),
                       static_cast<float>(z[i] - az), 0.0f, static_cast<float>(x[i + 1] - bx),
                       static_cast<float>(y[i + 1] - by), static_cast<float>(z[i + 1] - bz), 0.0f);
    const float* base_a = origin + (ax - 1) + (ay - 1) * sy + (az - 1) * sz;
    const float* base_b = origin + (bx - 1) + (by - 1) * sy + (bz - 1) * sz;
    const __m256 u = _mm256_sub_ps(one, t), t2 = _mm256_mul_ps(t, t), t3 = _mm256_mul_ps(t2, t);
    const __m256 w0 = _mm256_mul_ps(sixth, _mm256_mul_ps(u, _mm256_mul_ps(u, u)));
    const __m256 w1 = _mm256_mul_ps(
        sixth,
        _mm256_add_ps(_mm256_sub_ps(four, _mm256_mul_ps(six, t2)), _mm256_mul_ps(three, t3)));
    const __m256 w2 = _mm256_mul_ps(
        sixth, _mm256_sub_ps(_mm256_add_ps(one, _mm256_mul_ps(three, _mm256_add_ps(t, t2))),
                             _mm256_mul_ps(three, t3)));
    const __m256 w3 = _mm256_mul_ps(sixth, t3);
    const __m256 w[4] = {w0, w1, w2, w3};
    __m256 acc = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      const float* plane_a = base_a + k * sz;
      const float* plane_b = base_b + k * sz;
      __m256 p = _mm256_setzero_ps();
      for (int j = 0; j < 4; ++j) {
        const __m256 rows = _mm256_loadu2_m128(plane_b + j * sy, plane_a + j * sy);
        p = _mm256_add_ps(p, _mm256_mul_ps(_mm256_shuffle_ps(w[j], w[j], 0x55), rows));
      }
      acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_shuffle_ps(w[k], w[k], 0xAA), p));
    }
    // The x weights across the lanes of each half: (w0.x, w1.x, w2.x, w3.x).
    const __m256 lo = _mm256_unpacklo_ps(w0, w1), hi = _mm256_unpacklo_ps(w2, w3);
    const __m256 wx = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(1, 0, 1, 0));
    float s[8];
    _mm256_storeu_ps(s, _mm256_mul_ps(acc, wx));
    out[i] = (s[0] + s[1]) + (s[2] + s[3]);
    out[i + 1] = (s[4] + s[5]) + (s[6] + s[7]);
  }
  one_by_one<3>(c, x + i, y + i, z + i, n - i, out + i);
}
#endif

}  // namespace

void values(const PaddedCoefficients& c, const double* x, const double* y, const double* z, int n,
            double* out) {
#if defined(__SSE2__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (c.degree == 3 && avx2) return cubic_pairs(c, x, y, z, n, out);
#endif
  with_degree(c.degree, [&](auto d) { one_by_one<decltype(d)::value>(c, x, y, z, n, out); });
}

}  // namespace realign::batch
