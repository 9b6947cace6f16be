#include "realign/bspline.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

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

// In-place prefilter of one line with mirror boundaries (whole-sample symmetric).
void filter_line(double* c, int n, const double* z, int npoles) {
  if (n < 2 || npoles == 0) return;
  double gain = 1.0;
  for (int p = 0; p < npoles; ++p) gain *= (1.0 - z[p]) * (1.0 - 1.0 / z[p]);
  for (int i = 0; i < n; ++i) c[i] *= gain;
  for (int p = 0; p < npoles; ++p) {
    const double zp = z[p];
    // Causal initial value: the exact sum over the mirrored signal, truncated where
    // z^k no longer matters.
    const int horizon = static_cast<int>(std::ceil(std::log(1e-12) / std::log(std::fabs(zp))));
    double c0;
    if (horizon < n) {
      double zk = zp;
      c0 = c[0];
      for (int k = 1; k < horizon; ++k) {
        c0 += zk * c[k];
        zk *= zp;
      }
    } else {
      double zk = zp;
      const double zn = std::pow(zp, n - 1);
      double z2n = zn * zn / zp;
      c0 = c[0] + zn * c[n - 1];
      for (int k = 1; k < n - 1; ++k) {
        c0 += (zk + z2n) * c[k];
        zk *= zp;
        z2n /= zp;
      }
      c0 /= (1.0 - zn * zn);
    }
    c[0] = c0;
    for (int i = 1; i < n; ++i) c[i] += zp * c[i - 1];
    c[n - 1] = (zp / (zp * zp - 1.0)) * (zp * c[n - 2] + c[n - 1]);
    for (int i = n - 2; i >= 0; --i) c[i] = zp * (c[i + 1] - c[i]);
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
  const std::size_t nx = dim[0], ny = dim[1];
  const std::size_t stride[3] = {1, nx, nx * ny};
  for (int axis = 0; axis < 3; ++axis) {
    const int n = dim[axis];
    if (n < 2) continue;
    // The lines of this axis are indexed by the other two coordinates.
    const int a = axis == 0 ? 1 : 0, b = axis == 2 ? 1 : 2;
    const long lines = static_cast<long>(dim[a]) * dim[b];
#pragma omp parallel
    {
      std::vector<double> line(n);
#pragma omp for schedule(static)
      for (long l = 0; l < lines; ++l) {
        const std::size_t ia = l % dim[a], ib = l / dim[a];
        float* base = volume + ia * stride[a] + ib * stride[b];
        for (int i = 0; i < n; ++i) line[i] = base[i * stride[axis]];
        filter_line(line.data(), n, z, np);
        for (int i = 0; i < n; ++i) base[i * stride[axis]] = static_cast<float>(line[i]);
      }
    }
  }
}

double BSplineView::value(double x, double y, double z) const {
  double wx[kMaxSplineDegree + 1], wy[kMaxSplineDegree + 1], wz[kMaxSplineDegree + 1];
  const int d = degree_;
  const int fx = bspline_weights(d, x, wx, nullptr);
  const int fy = bspline_weights(d, y, wy, nullptr);
  const int fz = bspline_weights(d, z, wz, nullptr);
  int ix[kMaxSplineDegree + 1], iy[kMaxSplineDegree + 1], iz[kMaxSplineDegree + 1];
  for (int k = 0; k <= d; ++k) {
    ix[k] = mirror_index(fx + k, dim_[0]);
    iy[k] = mirror_index(fy + k, dim_[1]) * dim_[0];
    iz[k] = mirror_index(fz + k, dim_[2]) * dim_[0] * dim_[1];
  }
  double s = 0.0;
  for (int c = 0; c <= d; ++c) {
    double sy = 0.0;
    for (int b = 0; b <= d; ++b) {
      const float* row = c_ + iz[c] + iy[b];
      double sx = 0.0;
      for (int a = 0; a <= d; ++a) sx += wx[a] * row[ix[a]];
      sy += wy[b] * sx;
    }
    s += wz[c] * sy;
  }
  return s;
}

double BSplineView::value_gradient(double x, double y, double z, double grad[3]) const {
  double wx[kMaxSplineDegree + 1], wy[kMaxSplineDegree + 1], wz[kMaxSplineDegree + 1];
  double dx[kMaxSplineDegree + 1], dy[kMaxSplineDegree + 1], dz[kMaxSplineDegree + 1];
  const int d = degree_;
  const int fx = bspline_weights(d, x, wx, dx);
  const int fy = bspline_weights(d, y, wy, dy);
  const int fz = bspline_weights(d, z, wz, dz);
  int ix[kMaxSplineDegree + 1], iy[kMaxSplineDegree + 1], iz[kMaxSplineDegree + 1];
  for (int k = 0; k <= d; ++k) {
    ix[k] = mirror_index(fx + k, dim_[0]);
    iy[k] = mirror_index(fy + k, dim_[1]) * dim_[0];
    iz[k] = mirror_index(fz + k, dim_[2]) * dim_[0] * dim_[1];
  }
  double s = 0.0, gx = 0.0, gy = 0.0, gz = 0.0;
  for (int c = 0; c <= d; ++c) {
    double sy = 0.0, sxy = 0.0, syy = 0.0;
    for (int b = 0; b <= d; ++b) {
      const float* row = c_ + iz[c] + iy[b];
      double sx = 0.0, sdx = 0.0;
      for (int a = 0; a <= d; ++a) {
        sx += wx[a] * row[ix[a]];
        sdx += dx[a] * row[ix[a]];
      }
      sy += wy[b] * sx;
      sxy += wy[b] * sdx;
      syy += dy[b] * sx;
    }
    s += wz[c] * sy;
    gx += wz[c] * sxy;
    gy += wz[c] * syy;
    gz += dz[c] * sy;
  }
  grad[0] = gx;
  grad[1] = gy;
  grad[2] = gz;
  return s;
}

}  // namespace realign
