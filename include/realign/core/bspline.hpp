// B-spline interpolation (degrees 0-5) with mirror boundaries, as SPM's spm_bsplinc /
// spm_bsplins and ITK's BSplineDecompositionImageFilter / BSplineInterpolateImageFunction.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace realign {

constexpr int kMaxSplineDegree = 5;

// Replaces a volume of samples (i fastest) by its B-spline coefficients, in place.
// Runs the recursive filter along each axis; axes of length 1 are left alone.
void bspline_coefficients(float* volume, const std::array<int, 3>& dim, int degree);

// The weights of one axis: the first index of the support and degree+1 weights
// (and their derivatives when dw != nullptr).
int bspline_weights(int degree, double x, double* w, double* dw);

// Maps any integer index into [0, n) by mirroring about 0 and n-1.
inline int mirror_index(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * n - 2;
  i = i % period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// floor() as an int without a libm call: baseline x86-64 has no rounding instruction,
// and this sits in every interpolation.
inline int fast_floor(double x) {
  const int i = static_cast<int>(x);
  return i - (x < i);
}

// Closed-form weights for one axis at compile-time degree D (0-5): returns the first
// index of the support. The hot loops of estimation and reslicing use these.
template <int D>
inline int spline_weights(double x, double* w) {
  if constexpr (D == 0) {
    w[0] = 1.0;
    return fast_floor(x + 0.5);
  } else if constexpr (D == 1) {
    const int f = fast_floor(x);
    const double t = x - f;
    w[0] = 1.0 - t;
    w[1] = t;
    return f;
  } else if constexpr (D == 2) {
    const int c = fast_floor(x + 0.5);
    const double t = x - c;
    w[0] = 0.5 * (0.5 - t) * (0.5 - t);
    w[1] = 0.75 - t * t;
    w[2] = 0.5 * (0.5 + t) * (0.5 + t);
    return c - 1;
  } else if constexpr (D == 3) {
    const int f = fast_floor(x);
    const double t = x - f, u = 1.0 - t, t2 = t * t;
    w[0] = u * u * u / 6.0;
    w[1] = (4.0 - 6.0 * t2 + 3.0 * t2 * t) / 6.0;
    w[2] = (1.0 + 3.0 * t + 3.0 * t2 - 3.0 * t2 * t) / 6.0;
    w[3] = t2 * t / 6.0;
    return f - 1;
  } else if constexpr (D == 4) {
    const int c = fast_floor(x + 0.5);
    const double t = x - c, t2 = t * t;
    // Pieces of the quartic B-spline at distances 2+t, 1+t, t, 1-t, 2-t.
    const double a = 0.5 - t, b = 0.5 + t;
    w[0] = a * a * a * a / 24.0;
    w[4] = b * b * b * b / 24.0;
    w[2] = 115.0 / 192.0 + t2 * (-5.0 / 8.0 + t2 / 4.0);
    const double u = 1.0 - t, v = 1.0 + t;  // |x| for the two inner neighbours
    w[1] = 55.0 / 96.0 + v * (5.0 / 24.0 + v * (-5.0 / 4.0 + v * (5.0 / 6.0 - v / 6.0)));
    w[3] = 55.0 / 96.0 + u * (5.0 / 24.0 + u * (-5.0 / 4.0 + u * (5.0 / 6.0 - u / 6.0)));
    return c - 2;
  } else {
    return bspline_weights(D, x, w, nullptr);
  }
}

// Weights and their derivatives for one axis at compile-time degree D.
template <int D>
inline int spline_weights_derivs(double x, double* w, double* dw) {
  if constexpr (D == 2 || D == 3) {
    const int first = spline_weights<D>(x, w);
    // Offset of x within its knot interval, as spline_weights measures it.
    const double t = x - (first + 1);
    if constexpr (D == 2) {
      dw[0] = t - 0.5;
      dw[1] = -2.0 * t;
      dw[2] = t + 0.5;
    } else {
      const double u = 1.0 - t, t2 = t * t;
      dw[0] = -0.5 * u * u;
      dw[1] = -2.0 * t + 1.5 * t2;
      dw[2] = 0.5 + t - 1.5 * t2;
      dw[3] = 0.5 * t2;
    }
    return first;
  } else {
    return bspline_weights(D, x, w, dw);
  }
}

// Coefficients surrounded by a mirrored border, so that evaluation anywhere within
// half a voxel of the grid needs no index checks: the hot loops of estimation and
// reslicing read straight through.
struct PaddedCoefficients {
  std::array<int, 3> dim{0, 0, 0};  // the grid's own size
  std::array<int, 3> pad{0, 0, 0};
  std::ptrdiff_t sy = 0, sz = 0;  // strides of the padded array
  int degree = 0;
  std::vector<float> data;

  // Address of voxel (0, 0, 0) of the grid inside the padded array.
  const float* origin() const { return data.data() + pad[0] + pad[1] * sy + pad[2] * sz; }
};

// Copies coefficients (degree `degree`, mirror boundaries) into a padded array.
PaddedCoefficients pad_coefficients(const float* coef, const std::array<int, 3>& dim, int degree);

// Value at a position within [-0.05, dim - 0.95] on every axis of size > 1 (any
// position in the slab for an axis of size 1).
template <int D>
inline double padded_value(const PaddedCoefficients& c, double x, double y, double z) {
  double wx[D + 1], wy[D + 1], wz[D + 1];
  const int fx = spline_weights<D>(x, wx);
  const int fy = spline_weights<D>(y, wy);
  const int fz = spline_weights<D>(z, wz);
  const float* base = c.origin() + fx + fy * c.sy + fz * c.sz;
  double s = 0.0;
  for (int k = 0; k <= D; ++k) {
    double sj = 0.0;
    for (int j = 0; j <= D; ++j) {
      const float* row = base + k * c.sz + j * c.sy;
      double si = 0.0;
      for (int i = 0; i <= D; ++i) si += wx[i] * row[i];
      sj += wy[j] * si;
    }
    s += wz[k] * sj;
  }
  return s;
}

// Value and gradient (voxel units) under the same conditions as padded_value. With SSE2
// the sums that share a factor go in pairs, (si, sdi), (sj, sjx) and (s, gx): each lane
// does the operations of the scalar form in its order, so the values are the same.
template <int D>
inline double padded_value_gradient(const PaddedCoefficients& c, double x, double y, double z,
                                    double grad[3]) {
  double wx[D + 1], wy[D + 1], wz[D + 1], dx[D + 1], dy[D + 1], dz[D + 1];
  const int fx = spline_weights_derivs<D>(x, wx, dx);
  const int fy = spline_weights_derivs<D>(y, wy, dy);
  const int fz = spline_weights_derivs<D>(z, wz, dz);
  const float* base = c.origin() + fx + fy * c.sy + fz * c.sz;
#if defined(__SSE2__)
  __m128d wdx[D + 1];
  for (int i = 0; i <= D; ++i) wdx[i] = _mm_setr_pd(wx[i], dx[i]);
  __m128d s_gx = _mm_setzero_pd();
  double gy = 0.0, gz = 0.0;
  for (int k = 0; k <= D; ++k) {
    __m128d sj_sjx = _mm_setzero_pd();
    double sjy = 0.0;
    for (int j = 0; j <= D; ++j) {
      const float* row = base + k * c.sz + j * c.sy;
      __m128d si_sdi = _mm_setzero_pd();
      for (int i = 0; i <= D; ++i)
        si_sdi = _mm_add_pd(si_sdi, _mm_mul_pd(wdx[i], _mm_set1_pd(row[i])));
      sj_sjx = _mm_add_pd(sj_sjx, _mm_mul_pd(_mm_set1_pd(wy[j]), si_sdi));
      sjy += dy[j] * _mm_cvtsd_f64(si_sdi);
    }
    s_gx = _mm_add_pd(s_gx, _mm_mul_pd(_mm_set1_pd(wz[k]), sj_sjx));
    gy += wz[k] * sjy;
    gz += dz[k] * _mm_cvtsd_f64(sj_sjx);
  }
  grad[0] = _mm_cvtsd_f64(_mm_unpackhi_pd(s_gx, s_gx));
  grad[1] = gy;
  grad[2] = gz;
  return _mm_cvtsd_f64(s_gx);
#else
  double s = 0.0, gx = 0.0, gy = 0.0, gz = 0.0;
  for (int k = 0; k <= D; ++k) {
    double sj = 0.0, sjx = 0.0, sjy = 0.0;
    for (int j = 0; j <= D; ++j) {
      const float* row = base + k * c.sz + j * c.sy;
      double si = 0.0, sdi = 0.0;
      for (int i = 0; i <= D; ++i) {
        si += wx[i] * row[i];
        sdi += dx[i] * row[i];
      }
      sj += wy[j] * si;
      sjx += wy[j] * sdi;
      sjy += dy[j] * si;
    }
    s += wz[k] * sj;
    gx += wz[k] * sjx;
    gy += wz[k] * sjy;
    gz += dz[k] * sj;
  }
  grad[0] = gx;
  grad[1] = gy;
  grad[2] = gz;
  return s;
#endif
}

// Calls f(std::integral_constant<int, D>{}) with the run-time degree d (0-5) as a
// compile-time one: the one place where hot loops pick their degree.
template <class F>
decltype(auto) with_degree(int d, F&& f) {
  switch (d) {
    case 0:
      return f(std::integral_constant<int, 0>{});
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 5:
      return f(std::integral_constant<int, 5>{});
  }
  throw std::invalid_argument("B-spline degree must be 0-5");
}

// Runtime-degree wrappers over the templates above.
double padded_value(const PaddedCoefficients& c, double x, double y, double z);
double padded_value_gradient(const PaddedCoefficients& c, double x, double y, double z,
                             double grad[3]);

}  // namespace realign
