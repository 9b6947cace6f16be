#include "spline_batch.hpp"

#include <algorithm>

#include "spline_sse.hpp"

namespace realign::batch {

#if defined(__SSE2__)
namespace {

// sse::cubic_at for points a and b, one in each 128-bit half (t holds a's offsets in lanes
// 0-2, b's in 4-6): the same operations in the same order on each half. Returns the x
// weights times the sums along y and z, whose four lanes per half cubic_at adds up.
// Built for AVX2 without FMA, so no product is fused into a sum.
__attribute__((target("avx2"))) inline __m256 cubic_pair(const float* base_a, const float* base_b,
                                                         std::ptrdiff_t sy, std::ptrdiff_t sz,
                                                         __m256 t) {
  const __m256 one = _mm256_set1_ps(1.0f), sixth = _mm256_set1_ps(1.0f / 6.0f);
  const __m256 three = _mm256_set1_ps(3.0f), four = _mm256_set1_ps(4.0f),
               six = _mm256_set1_ps(6.0f);
  const __m256 u = _mm256_sub_ps(one, t), t2 = _mm256_mul_ps(t, t), t3 = _mm256_mul_ps(t2, t);
  const __m256 w0 = _mm256_mul_ps(sixth, _mm256_mul_ps(u, _mm256_mul_ps(u, u)));
  const __m256 w1 = _mm256_mul_ps(
      sixth, _mm256_add_ps(_mm256_sub_ps(four, _mm256_mul_ps(six, t2)), _mm256_mul_ps(three, t3)));
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
  return _mm256_mul_ps(acc, _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(1, 0, 1, 0)));
}

// Four values from cubic_pair's products for points (0, 1) and (2, 3): (s0 + s1) + (s2 + s3)
// per point as cubic_at adds them, for the four points in four vector additions' lanes.
__attribute__((target("avx2"))) inline void store_sums(__m256 s01, __m256 s23, double* out) {
  // Lanes (s1, s2) + (s0, s3) of each point (points 0, 2 low, 1, 3 high), then the two sums.
  const __m256 pairs = _mm256_add_ps(_mm256_shuffle_ps(s01, s23, _MM_SHUFFLE(2, 1, 2, 1)),
                                     _mm256_shuffle_ps(s01, s23, _MM_SHUFFLE(3, 0, 3, 0)));
  const __m256 v = _mm256_add_ps(_mm256_shuffle_ps(pairs, pairs, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm256_shuffle_ps(pairs, pairs, _MM_SHUFFLE(3, 1, 3, 1)));
  // Lanes 0, 1 hold points 0, 2 and lanes 4, 5 points 1, 3.
  const __m128 v0213 = _mm256_castps256_ps128(v), v13 = _mm256_extractf128_ps(v, 1);
  _mm256_storeu_pd(out, _mm256_cvtps_pd(_mm_unpacklo_ps(v0213, v13)));
}

// sse::value<3> at four points: their set-up (knots, offsets) four at a time, one per lane,
// then two cubic_pair calls.
__attribute__((target("avx2"))) void cubic_quad(const PaddedCoefficients& c, const double* x,
                                                const double* y, const double* z, double* out) {
  const CubicQuad s = cubic_quad_setup(c, x, y, z);
  __m128 t0 = _mm256_cvtpd_ps(s.tx), t1 = _mm256_cvtpd_ps(s.ty), t2 = _mm256_cvtpd_ps(s.tz);
  __m128 t3 = _mm_setzero_ps();
  _MM_TRANSPOSE4_PS(t0, t1, t2, t3);  // now point q's (x, y, z, 0) is tq
  const __m256 s01 = cubic_pair(s.base[0], s.base[1], c.sy, c.sz, _mm256_set_m128(t1, t0));
  const __m256 s23 = cubic_pair(s.base[2], s.base[3], c.sy, c.sz, _mm256_set_m128(t3, t2));
  store_sums(s01, s23, out);
}

// Four points at a time; a last one to three are repeated into a set of four.
__attribute__((target("avx2"))) void cubic_quads(const PaddedCoefficients& c, const double* x,
                                                 const double* y, const double* z, int n,
                                                 double* out) {
  int i = 0;
  for (; i + 4 <= n; i += 4) cubic_quad(c, x + i, y + i, z + i, out + i);
  if (i == n) return;
  const LastFour p(x, y, z, i, n);
  double v[4];
  cubic_quad(c, p.x, p.y, p.z, v);
  std::copy(v, v + (n - i), out + i);
}

}  // namespace
#endif

void values(const PaddedCoefficients& c, const double* x, const double* y, const double* z, int n,
            double* out) {
#if defined(__SSE2__)
  if (c.degree == 3 && cpu_has_avx2()) return cubic_quads(c, x, y, z, n, out);
#endif
  each_point(c.degree, n,
             [&](auto d, int i) { out[i] = sse::value<decltype(d)::value>(c, x[i], y[i], z[i]); });
}

}  // namespace realign::batch
