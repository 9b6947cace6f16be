// B-spline values (and gradients) at many points at once, for estimation's inner loops:
// degree 3 (the default) two points per AVX2 instruction when the CPU has AVX2, every
// result the same as the one-point form gives for its point (the same floating-point
// operations, lane by lane, no FMA).
#pragma once

#include <algorithm>

#include "cpu_features.hpp"
#include "realign/core/bspline.hpp"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace realign::batch {

// out[i] = sse::value<D>(c, x[i], y[i], z[i]) for i < n, with D = c.degree, under
// padded_value's conditions.
void values(const PaddedCoefficients& c, const double* x, const double* y, const double* z, int n,
            double* out);

// v[i] = padded_value_gradient<D>(c, x[i], y[i], z[i], &grad[3 * i]) for i < n, with
// D = c.degree, under padded_value's conditions.
void value_gradients(const PaddedCoefficients& c, const double* x, const double* y, const double* z,
                     int n, double* v, double* grad);

// out[i] = padded_value<D>(c, x[i], y[i], z[i]) for i < n, with D = c.degree: the double
// precision values (values above gives sse::value's, from float weights).
void padded_values(const PaddedCoefficients& c, const double* x, const double* y, const double* z,
                   int n, double* out);

// value_gradients as it runs on a CPU without AVX2, whatever this one has: the path the
// tests compare with the AVX2 one.
void value_gradients_portable(const PaddedCoefficients& c, const double* x, const double* y,
                              const double* z, int n, double* v, double* grad);

// The points i..n-1 (one to three) of a batch, the last repeated to make four, for the
// kernels that take points four at a time.
struct LastFour {
  double x[4], y[4], z[4];
  LastFour(const double* px, const double* py, const double* pz, int i, int n) {
    for (int q = 0; q < 4; ++q) {
      const int p = std::min(i + q, n - 1);
      x[q] = px[p];
      y[q] = py[p];
      z[q] = pz[p];
    }
  }
};

// What every batch function does where no AVX2 kernel serves: f(d, i) for each point
// i < n, one at a time, with d the degree as with_degree hands it over.
template <class F>
void each_point(int degree, int n, F f) {
  with_degree(degree, [&](auto d) {
    for (int i = 0; i < n; ++i) f(d, i);
  });
}

#if defined(__SSE2__)
// For the AVX2 kernels: the knots below four coordinates v[0..3] into knot[0..3], and the
// offsets v - knot. Floor, to int and back to double gives fast_floor's knot, converted as
// the one-point forms convert it (+0.0 for -0.0, not floor's -0.0), for every coordinate
// fast_floor is defined on; four at once instead of one compare and branch-free fix-up each.
__attribute__((target("avx2"))) inline __m256d knot_offsets(const double* v, int* knot) {
  const __m256d p = _mm256_loadu_pd(v);
  const __m128i f = _mm256_cvttpd_epi32(_mm256_floor_pd(p));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(knot), f);
  return _mm256_sub_pd(p, _mm256_cvtepi32_pd(f));
}

// The set-up of four points x[0..3], y[0..3], z[0..3] for the cubic AVX2 kernels: their
// offsets from the knot below, one point per lane, and the first coefficient of each
// point's 4x4x4 support.
struct CubicQuad {
  __m256d tx, ty, tz;
  const float* base[4];
};

__attribute__((target("avx2"))) inline CubicQuad cubic_quad_setup(const PaddedCoefficients& c,
                                                                  const double* x, const double* y,
                                                                  const double* z) {
  int kx[4], ky[4], kz[4];
  CubicQuad s;
  s.tx = knot_offsets(x, kx);
  s.ty = knot_offsets(y, ky);
  s.tz = knot_offsets(z, kz);
  for (int q = 0; q < 4; ++q)
    s.base[q] = c.origin() + (kx[q] - 1) + (ky[q] - 1) * c.sy + (kz[q] - 1) * c.sz;
  return s;
}
#endif

}  // namespace realign::batch
