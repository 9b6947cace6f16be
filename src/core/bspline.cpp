#include "realign/core/bspline.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

namespace realign {
namespace {

// Poles of the B-spline prefilter (Unser 1999, Thevenaz et al. 2000).
int poles(int degree, double* z) {
  switch (degree) {
    case 0:
    case 1:
      return 0;
    case 2:
      z[0] = std::sqrt(8.0) - 3.0;
      return 1;
    case 3:
      z[0] = std::sqrt(3.0) - 2.0;
      return 1;
    case 4:
      z[0] = std::sqrt(664.0 - std::sqrt(438976.0)) + std::sqrt(304.0) - 19.0;
      z[1] = std::sqrt(664.0 + std::sqrt(438976.0)) - std::sqrt(304.0) - 19.0;
      return 2;
    case 5:
      z[0] = std::sqrt(135.0 / 2.0 - std::sqrt(17745.0 / 4.0)) + std::sqrt(105.0 / 4.0) - 6.5;
      z[1] = std::sqrt(135.0 / 2.0 + std::sqrt(17745.0 / 4.0)) - std::sqrt(105.0 / 4.0) - 6.5;
      return 2;
    default:
      throw std::invalid_argument("B-spline degree must be 0-5");
  }
}

// Centred B-spline of degree n evaluated at x, by its explicit pieces for the degrees
// used in the hot paths and the truncated-power sum otherwise.
double beta(int n, double x) {
  x = std::fabs(x);
  switch (n) {
    case 0:
      return x < 0.5 ? 1.0 : (x == 0.5 ? 0.5 : 0.0);
    case 1:
      return x < 1.0 ? 1.0 - x : 0.0;
    case 2:
      if (x < 0.5) return 0.75 - x * x;
      if (x < 1.5) return 0.5 * (1.5 - x) * (1.5 - x);
      return 0.0;
    case 3:
      if (x < 1.0) return (4.0 - 6.0 * x * x + 3.0 * x * x * x) / 6.0;
      if (x < 2.0) return (2.0 - x) * (2.0 - x) * (2.0 - x) / 6.0;
      return 0.0;
    case 4: {
      const double x2 = x * x;
      if (x < 0.5) return 115.0 / 192.0 + x2 * (-5.0 / 8.0 + x2 / 4.0);
      if (x < 1.5)
        return 55.0 / 96.0 + x * (5.0 / 24.0 + x * (-5.0 / 4.0 + x * (5.0 / 6.0 - x / 6.0)));
      if (x < 2.5) {
        const double t = 2.5 - x;
        return t * t * t * t / 24.0;
      }
      return 0.0;
    }
    default: {
      double s = 0.0, fact = 1.0, binom = 1.0;
      for (int k = 1; k <= n; ++k) fact *= k;
      for (int k = 0; k <= n + 1; ++k) {
        const double u = x + (n + 1) / 2.0 - k;
        if (u > 0) s += ((k % 2) ? -binom : binom) * std::pow(u, n);
        binom = binom * (n + 1 - k) / (k + 1);
      }
      return s / fact;
    }
  }
}

// In-place prefilter with mirror boundaries (whole-sample symmetric) of `w` lines of n
// values at once, stored [n][w]: each step combines whole rows of contiguous values,
// which vectorises and reads memory in order. Built for AVX2 too (without FMA, so every
// value is the same), chosen at run time.
__attribute__((target_clones("avx2", "default"))) void filter_columns(double* c, int n,
                                                                      std::size_t w,
                                                                      const double* z, int npoles) {
  if (n < 2 || npoles == 0) return;
  double gain = 1.0;
  for (int p = 0; p < npoles; ++p) gain *= (1.0 - z[p]) * (1.0 - 1.0 / z[p]);
  for (std::size_t i = 0; i < n * w; ++i) c[i] *= gain;
  std::vector<double> acc(w);
  for (int p = 0; p < npoles; ++p) {
    const double zp = z[p];
    const int horizon = static_cast<int>(std::ceil(std::log(1e-12) / std::log(std::fabs(zp))));
    if (horizon < n) {
      std::copy(c, c + w, acc.begin());
      double zk = zp;
      for (int k = 1; k < horizon; ++k, zk *= zp)
        for (std::size_t i = 0; i < w; ++i) acc[i] += zk * c[k * w + i];
    } else {
      double zk = zp;
      const double zn = std::pow(zp, n - 1);
      double z2n = zn * zn / zp;
      for (std::size_t i = 0; i < w; ++i) acc[i] = c[i] + zn * c[(n - 1) * w + i];
      for (int k = 1; k < n - 1; ++k, zk *= zp, z2n /= zp)
        for (std::size_t i = 0; i < w; ++i) acc[i] += (zk + z2n) * c[k * w + i];
      for (std::size_t i = 0; i < w; ++i) acc[i] /= (1.0 - zn * zn);
    }
    std::copy(acc.begin(), acc.end(), c);
    for (int j = 1; j < n; ++j)
      for (std::size_t i = 0; i < w; ++i) c[j * w + i] += zp * c[(j - 1) * w + i];
    const double last = zp / (zp * zp - 1.0);
    for (std::size_t i = 0; i < w; ++i)
      c[(n - 1) * w + i] = last * (zp * c[(n - 2) * w + i] + c[(n - 1) * w + i]);
    for (int j = n - 2; j >= 0; --j)
      for (std::size_t i = 0; i < w; ++i) c[j * w + i] = zp * (c[(j + 1) * w + i] - c[j * w + i]);
  }
}

// dst[c * rows + r] = src[r * cols + c]: a rows x cols block of floats transposed into
// doubles, 4x4 tiles at a time.
void transpose_to_double(const float* src, std::size_t rows, std::size_t cols, double* dst) {
  std::size_t r0 = 0;
#if defined(__SSE2__)
  for (; r0 + 4 <= rows; r0 += 4) {
    std::size_t c = 0;
    for (; c + 4 <= cols; c += 4) {
      __m128 a = _mm_loadu_ps(src + r0 * cols + c), b = _mm_loadu_ps(src + (r0 + 1) * cols + c);
      __m128 e = _mm_loadu_ps(src + (r0 + 2) * cols + c),
             f = _mm_loadu_ps(src + (r0 + 3) * cols + c);
      _MM_TRANSPOSE4_PS(a, b, e, f);
      const __m128 t[4] = {a, b, e, f};
      for (int q = 0; q < 4; ++q) {
        double* d = dst + (c + q) * rows + r0;
        _mm_storeu_pd(d, _mm_cvtps_pd(t[q]));
        _mm_storeu_pd(d + 2, _mm_cvtps_pd(_mm_movehl_ps(t[q], t[q])));
      }
    }
    for (; c < cols; ++c)
      for (std::size_t r = r0; r < r0 + 4; ++r) dst[c * rows + r] = src[r * cols + c];
  }
#endif
  for (std::size_t r = r0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

}  // namespace

int bspline_weights(int degree, double x, double* w, double* dw) {
  // Odd degrees have knots at integers, even degrees at half-integers.
  const int first = (degree % 2) ? static_cast<int>(std::floor(x)) - (degree - 1) / 2
                                 : static_cast<int>(std::floor(x + 0.5)) - degree / 2;
  for (int k = 0; k <= degree; ++k) {
    const double u = x - (first + k);
    w[k] = beta(degree, u);
    if (dw) dw[k] = degree == 0 ? 0.0 : beta(degree - 1, u + 0.5) - beta(degree - 1, u - 0.5);
  }
  return first;
}

void bspline_coefficients(float* volume, const std::array<int, 3>& dim, int degree) {
  double z[2];
  const int np = poles(degree, z);
  if (np == 0) return;
  const std::size_t nx = dim[0], ny = dim[1], nz = dim[2];
  // Along i and j, a slice at a time while it is in cache. The lines along i are
  // transposed into columns so that they too are filtered side by side (each line's own
  // recursion is unchanged, so are its values); values are rounded to float between the
  // axes, as they are stored between them.
#pragma omp parallel
  {
    std::vector<double> by_i(nx * ny), by_j(nx * ny);
    std::vector<float> rounded(nx * ny);
#pragma omp for schedule(static)
    for (long k = 0; k < static_cast<long>(nz); ++k) {
      float* slice = volume + k * nx * ny;
      transpose_to_double(slice, ny, nx, by_i.data());
      filter_columns(by_i.data(), static_cast<int>(nx), ny, z, np);
      for (std::size_t v = 0; v < nx * ny; ++v) rounded[v] = static_cast<float>(by_i[v]);
      transpose_to_double(rounded.data(), nx, ny, by_j.data());
      filter_columns(by_j.data(), static_cast<int>(ny), nx, z, np);
      for (std::size_t v = 0; v < nx * ny; ++v) slice[v] = static_cast<float>(by_j[v]);
    }
  }
  // Along k: columns of the [nz][nx*ny] volume, a chunk of them at a time.
  const int n = dim[2];
  if (n < 2) return;
  const std::size_t chunk = 256, inner = nx * ny;
  const std::size_t chunks = (inner + chunk - 1) / chunk;
#pragma omp parallel
  {
    std::vector<double> block(static_cast<std::size_t>(n) * chunk);
#pragma omp for schedule(static)
    for (long job = 0; job < static_cast<long>(chunks); ++job) {
      const std::size_t c0 = job * chunk, w = std::min(chunk, inner - c0);
      float* base = volume + c0;
      for (int j = 0; j < n; ++j) std::copy(base + j * inner, base + j * inner + w, &block[j * w]);
      filter_columns(block.data(), n, w, z, np);
      for (int j = 0; j < n; ++j) std::copy(&block[j * w], &block[j * w] + w, base + j * inner);
    }
  }
}

PaddedCoefficients pad_coefficients(const float* coef, const std::array<int, 3>& dim, int degree) {
  PaddedCoefficients p;
  p.dim = dim;
  p.degree = degree;
  // Half the support plus the half-voxel slab of single-slice axes.
  for (int d = 0; d < 3; ++d) p.pad[d] = (degree + 1) / 2 + (dim[d] == 1 ? 1 : 0);
  const int px = dim[0] + 2 * p.pad[0], py = dim[1] + 2 * p.pad[1], pz = dim[2] + 2 * p.pad[2];
  p.sy = px;
  p.sz = static_cast<std::ptrdiff_t>(px) * py;
  // A few floats of slack let vector loads run past the last row.
  p.data.resize(static_cast<std::size_t>(p.sz) * pz + 8, 0.0f);
  std::vector<int> mirror_x(px);
  for (int i = 0; i < px; ++i) mirror_x[i] = mirror_index(i - p.pad[0], dim[0]);
#pragma omp parallel for schedule(static)
  for (int k = 0; k < pz; ++k) {
    const int sk = mirror_index(k - p.pad[2], dim[2]);
    for (int j = 0; j < py; ++j) {
      const int sj = mirror_index(j - p.pad[1], dim[1]);
      const float* src = coef + (static_cast<std::size_t>(sk) * dim[1] + sj) * dim[0];
      float* dst = p.data.data() + k * p.sz + j * p.sy;
      std::copy(src, src + dim[0], dst + p.pad[0]);
      for (int i = 0; i < p.pad[0]; ++i) {
        dst[i] = src[mirror_x[i]];
        dst[px - 1 - i] = src[mirror_x[px - 1 - i]];
      }
    }
  }
  return p;
}

double padded_value(const PaddedCoefficients& c, double x, double y, double z) {
  return with_degree(c.degree,
                     [&](auto d) { return padded_value<decltype(d)::value>(c, x, y, z); });
}

double padded_value_gradient(const PaddedCoefficients& c, double x, double y, double z,
                             double grad[3]) {
  return with_degree(c.degree, [&](auto d) {
    return padded_value_gradient<decltype(d)::value>(c, x, y, z, grad);
  });
}

}  // namespace realign
