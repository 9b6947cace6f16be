// batch::value_gradients and batch::padded_values: padded_value_gradient<3> for two points
// per AVX2 instruction, their set-up four at a time. padded_value_gradient's SSE2 form keeps a
// point's sums in pairs, (si, sdi), (sj, sjx) and (s, gx), one per 128-bit vector; here each
// 128-bit half of a 256-bit vector holds one point's pair and does that form's operations in its
// order, so every value is the same.
#include <algorithm>

#include "spline_batch.hpp"

namespace realign::batch {

#if defined(__SSE2__)
namespace {

// spline_weights_derivs<3> on every lane of t, the offsets from the knot below: the same
// double operations in the same order (no product is fused into a sum: built for AVX2
// without FMA), divisions kept as divisions.
struct CubicWeights {
  __m256d w[4], d[4];
};

__attribute__((target("avx2"))) inline CubicWeights cubic_weights(__m256d t) {
  const __m256d one = _mm256_set1_pd(1.0), six = _mm256_set1_pd(6.0), three = _mm256_set1_pd(3.0),
                half = _mm256_set1_pd(0.5), one_half = _mm256_set1_pd(1.5);
  const __m256d u = _mm256_sub_pd(one, t), t2 = _mm256_mul_pd(t, t);
  const __m256d three_t2 = _mm256_mul_pd(three, t2), t3 = _mm256_mul_pd(t2, t);
  const __m256d three_t2_t = _mm256_mul_pd(three_t2, t);
  CubicWeights c;
  c.w[0] = _mm256_div_pd(_mm256_mul_pd(_mm256_mul_pd(u, u), u), six);
  c.w[1] = _mm256_div_pd(
      _mm256_add_pd(_mm256_sub_pd(_mm256_set1_pd(4.0), _mm256_mul_pd(six, t2)), three_t2_t), six);
  c.w[2] = _mm256_div_pd(
      _mm256_sub_pd(_mm256_add_pd(_mm256_add_pd(one, _mm256_mul_pd(three, t)), three_t2),
                    three_t2_t),
      six);
  c.w[3] = _mm256_div_pd(t3, six);
  c.d[0] = _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(-0.5), u), u);
  c.d[1] = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(-2.0), t), _mm256_mul_pd(one_half, t2));
  c.d[2] = _mm256_sub_pd(_mm256_add_pd(half, t), _mm256_mul_pd(one_half, t2));
  c.d[3] = _mm256_mul_pd(half, t2);
  return c;
}

// Points a and b: the value of each into v[0], v[1] and its gradient into grad[0..2],
// grad[3..5], from base_a, base_b (the first coefficient of each support), the weights along
// x and y in lanes (x_a, y_a, x_b, y_b) and those along z in lanes (z_a, z_a, z_b, z_b).
__attribute__((target("avx2"))) inline void cubic_gradient_pair(
    const float* base_a, const float* base_b, std::ptrdiff_t sy, std::ptrdiff_t sz,
    const CubicWeights& xy, const CubicWeights& zz, double* v, double* grad) {
  // (wx, dx) of each point: the pair padded_value_gradient multiplies each row entry by.
  __m256d wdx[4];
  for (int i = 0; i < 4; ++i) wdx[i] = _mm256_unpacklo_pd(xy.w[i], xy.d[i]);
  __m256d s_gx = _mm256_setzero_pd(), gy_gz = _mm256_setzero_pd();
  for (int k = 0; k < 4; ++k) {
    __m256d sj_sjx = _mm256_setzero_pd(), sjy = _mm256_setzero_pd();  // sjy in lanes 0, 2
    for (int j = 0; j < 4; ++j) {
      const __m128 ra = _mm_loadu_ps(base_a + k * sz + j * sy);
      const __m128 rb = _mm_loadu_ps(base_b + k * sz + j * sy);
      // Row entries as doubles, (r_a[i], r_a[i], r_b[i], r_b[i]) for each i.
      const __m256d r01 = _mm256_cvtps_pd(_mm_movelh_ps(ra, rb));
      const __m256d r23 = _mm256_cvtps_pd(_mm_movehl_ps(rb, ra));
      const __m256d r[4] = {_mm256_movedup_pd(r01), _mm256_permute_pd(r01, 0xF),
                            _mm256_movedup_pd(r23), _mm256_permute_pd(r23, 0xF)};
      __m256d si_sdi = _mm256_setzero_pd();
      for (int i = 0; i < 4; ++i) si_sdi = _mm256_add_pd(si_sdi, _mm256_mul_pd(wdx[i], r[i]));
      const __m256d wy = _mm256_permute_pd(xy.w[j], 0xF), dy = _mm256_permute_pd(xy.d[j], 0xF);
      sj_sjx = _mm256_add_pd(sj_sjx, _mm256_mul_pd(wy, si_sdi));
      sjy = _mm256_add_pd(sjy, _mm256_mul_pd(dy, si_sdi));
    }
    s_gx = _mm256_add_pd(s_gx, _mm256_mul_pd(zz.w[k], sj_sjx));
    // gy += wz * sjy and gz += dz * sj, side by side.
    gy_gz = _mm256_add_pd(gy_gz, _mm256_mul_pd(_mm256_blend_pd(zz.w[k], zz.d[k], 0xA),
                                               _mm256_unpacklo_pd(sjy, sj_sjx)));
  }
  double s[4], g[4];
  _mm256_storeu_pd(s, s_gx);
  _mm256_storeu_pd(g, gy_gz);
  for (int p = 0; p < 2; ++p) {
    v[p] = s[2 * p];
    grad[3 * p] = s[2 * p + 1];
    grad[3 * p + 1] = g[2 * p];
    grad[3 * p + 2] = g[2 * p + 1];
  }
}

// Points 0-3 of x, y, z into v[0..3] and grad[0..11]: their knots and offsets four at a time,
// one per lane, then two cubic_gradient_pair calls.
__attribute__((target("avx2"))) void cubic_gradient_quad(const PaddedCoefficients& c,
                                                         const double* x, const double* y,
                                                         const double* z, double* v, double* grad) {
  const CubicQuad s = cubic_quad_setup(c, x, y, z);
  // Lanes (x0, y0, x2, y2) and (x1, y1, x3, y3), then (x0, y0, x1, y1) and (x2, y2, x3, y3).
  const __m256d even = _mm256_unpacklo_pd(s.tx, s.ty), odd = _mm256_unpackhi_pd(s.tx, s.ty);
  const __m256d xy[2] = {_mm256_permute2f128_pd(even, odd, 0x20),
                         _mm256_permute2f128_pd(even, odd, 0x31)};
  const __m256d zz[2] = {_mm256_permute4x64_pd(s.tz, _MM_SHUFFLE(1, 1, 0, 0)),
                         _mm256_permute4x64_pd(s.tz, _MM_SHUFFLE(3, 3, 2, 2))};
  for (int p = 0; p < 2; ++p)
    cubic_gradient_pair(s.base[2 * p], s.base[2 * p + 1], c.sy, c.sz, cubic_weights(xy[p]),
                        cubic_weights(zz[p]), v + 2 * p, grad + 6 * p);
}

// Four points at a time; a last one to three are repeated into a set of four.
__attribute__((target("avx2"))) void cubic_gradient_quads(const PaddedCoefficients& c,
                                                          const double* x, const double* y,
                                                          const double* z, int n, double* v,
                                                          double* grad) {
  int i = 0;
  for (; i + 4 <= n; i += 4) cubic_gradient_quad(c, x + i, y + i, z + i, v + i, grad + 3 * i);
  if (i == n) return;
  const LastFour p(x, y, z, i, n);
  double pv[4], pgrad[12];
  cubic_gradient_quad(c, p.x, p.y, p.z, pv, pgrad);
  std::copy(pv, pv + (n - i), v + i);
  std::copy(pgrad, pgrad + 3 * (n - i), grad + 3 * i);
}

}  // namespace
#endif

void value_gradients_portable(const PaddedCoefficients& c, const double* x, const double* y,
                              const double* z, int n, double* v, double* grad) {
  each_point(c.degree, n, [&](auto d, int i) {
    v[i] = padded_value_gradient<decltype(d)::value>(c, x[i], y[i], z[i], &grad[3 * i]);
  });
}

void value_gradients(const PaddedCoefficients& c, const double* x, const double* y, const double* z,
                     int n, double* v, double* grad) {
#if defined(__SSE2__)
  if (c.degree == 3 && cpu_has_avx2()) return cubic_gradient_quads(c, x, y, z, n, v, grad);
#endif
  value_gradients_portable(c, x, y, z, n, v, grad);
}

void padded_values(const PaddedCoefficients& c, const double* x, const double* y, const double* z,
                   int n, double* out) {
#if defined(__SSE2__)
  if (c.degree == 3 && cpu_has_avx2()) {
    // The value lanes of padded_value_gradient<3> do padded_value<3>'s operations: the same
    // weights, and the sums over i, j and k in its order.
    constexpr int kBlock = 16;
    double grad[3 * kBlock];
    for (int i = 0; i < n; i += kBlock)
      cubic_gradient_quads(c, x + i, y + i, z + i, std::min(kBlock, n - i), out + i, grad);
    return;
  }
#endif
  each_point(c.degree, n, [&](auto d, int i) {
    out[i] = padded_value<decltype(d)::value>(c, x[i], y[i], z[i]);
  });
}

}  // namespace realign::batch
