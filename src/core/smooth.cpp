#include "realign/core/smooth.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace realign {
namespace {

// 1 / (sum of the kernel taps that fall inside an axis of n voxels), per output voxel:
// the renormalisation that makes every output a weighted mean of voxels that exist.
std::vector<float> edge_weights(int n, const std::vector<float>& k) {
  const int half = static_cast<int>(k.size() / 2);
  std::vector<float> w(n);
  for (int i = 0; i < n; ++i) {
    double s = 0.0;
    for (int t = std::max(-half, -i); t <= std::min(half, n - 1 - i); ++t) s += k[t + half];
    w[i] = static_cast<float>(1.0 / s);
  }
  return w;
}

// Eight floats as one value (GCC vector extension: SSE2 pairs in the baseline build, one
// AVX register in the AVX2 clones); the unaligned flavour loads from any float.
typedef float Float8 __attribute__((vector_size(32)));
typedef float Float8u __attribute__((vector_size(32), aligned(4)));
constexpr int kLanes = 8;

// out[i] = norm[i] * sum over t of k[t] * src[i + t * step], in the order of t, starting
// from 0: eight outputs at a time held in registers, then the rest one by one.
inline void convolve_span(const float* src, std::size_t step, const float* k, int taps,
                          const float* norm, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Float8 acc = {};
    for (int t = 0; t < taps; ++t)
      acc += k[t] * *reinterpret_cast<const Float8u*>(src + i + t * step);
    *reinterpret_cast<Float8u*>(out + i) = acc * *reinterpret_cast<const Float8u*>(norm + i);
  }
  for (; i < n; ++i) {
    float acc = 0.0f;
    for (int t = 0; t < taps; ++t) acc += k[t] * src[i + t * step];
    out[i] = acc * norm[i];
  }
}

// Convolves along the first axis (contiguous): each row is copied into a zero-padded
// buffer so the inner loop over voxels has no bounds checks and vectorises; the edge
// weights then turn the truncated sums into means. Built for AVX2 too (without FMA, so
// every value is the same), chosen at run time; likewise convolve_lines.
__attribute__((target_clones("avx2", "default"))) void convolve_rows(float* data, std::size_t rows,
                                                                     int n,
                                                                     const std::vector<float>& k) {
  const int half = static_cast<int>(k.size() / 2);
  const std::vector<float> norm = edge_weights(n, k);
#pragma omp parallel
  {
    std::vector<float> padded(n + 2 * half, 0.0f);
#pragma omp for schedule(static)
    for (long r = 0; r < static_cast<long>(rows); ++r) {
      float* row = data + static_cast<std::size_t>(r) * n;
      std::copy(row, row + n, padded.begin() + half);
      convolve_span(padded.data(), 1, k.data(), static_cast<int>(k.size()), norm.data(), row, n);
    }
  }
}

// Convolves along an outer axis of a [outer][n][inner] block: whole lines of `inner`
// contiguous voxels are combined at once, so memory is read in order and vectorises.
__attribute__((target_clones("avx2", "default"))) void convolve_lines(float* data,
                                                                      std::size_t outer, int n,
                                                                      std::size_t inner,
                                                                      const std::vector<float>& k) {
  const int half = static_cast<int>(k.size() / 2);
  const std::vector<float> norm = edge_weights(n, k);
  const std::size_t chunk = 512;
  const std::size_t chunks = (inner + chunk - 1) / chunk;
#pragma omp parallel
  {
    std::vector<float> src(static_cast<std::size_t>(n) * chunk), scale(chunk);
#pragma omp for schedule(static)
    for (long job = 0; job < static_cast<long>(outer * chunks); ++job) {
      const std::size_t o = job / chunks, c0 = (job % chunks) * chunk;
      const std::size_t w = std::min(chunk, inner - c0);
      float* block = data + o * n * inner + c0;
      for (int j = 0; j < n; ++j) std::copy(block + j * inner, block + j * inner + w, &src[j * w]);
      for (int j = 0; j < n; ++j) {
        const int lo = std::max(-half, -j), hi = std::min(half, n - 1 - j);
        std::fill(scale.begin(), scale.begin() + w, norm[j]);
        convolve_span(&src[(j + lo) * w], w, &k[lo + half], hi - lo + 1, scale.data(),
                      block + j * inner, w);
      }
    }
  }
}

// The Gaussian of variance s convolved with the triangle max(0, 1 - |t|), at x. With
// Phi the Gaussian's distribution function and phi its density, the integral is
// sum over (x+1, x, x-1) with weights (1, -2, 1) of y Phi(y) + s phi(y); the constant
// half of Phi cancels in that sum, leaving erf.
double gaussian_on_triangle(double x, double s) {
  const double to_erf = 1.0 / std::sqrt(2.0 * s), dens = std::sqrt(s / (2.0 * M_PI));
  auto term = [&](double y) {
    return 0.5 * y * std::erf(y * to_erf) + dens * std::exp(-y * y / (2.0 * s));
  };
  return term(x + 1.0) - 2.0 * term(x) + term(x - 1.0);
}

}  // namespace

std::vector<double> smoothing_kernel(double sigma_vox) {
  if (!(sigma_vox > 1e-3)) return {1.0};
  // The triangle widens the support by one voxel either side.
  const int half = static_cast<int>(std::lround(6.0 * sigma_vox)) + 1;
  std::vector<double> k(2 * half + 1);
  double sum = 0.0;
  for (int i = -half; i <= half; ++i) {
    // |i|: the kernel is even, and one formula for both sides keeps it exactly so.
    k[i + half] = std::max(0.0, gaussian_on_triangle(std::abs(i), sigma_vox * sigma_vox));
    sum += k[i + half];
  }
  for (double& v : k) v /= sum;
  return k;
}

void gaussian_smooth(const float* in, float* out, const std::array<int, 3>& dim,
                     const Vec3& voxel_mm, double fwhm_mm) {
  const std::size_t nx = dim[0], ny = dim[1], nz = dim[2];
  if (in != out) std::copy(in, in + nx * ny * nz, out);
  const double fwhm_to_sigma = 1.0 / std::sqrt(8.0 * std::log(2.0));
  for (int axis = 0; axis < 3; ++axis) {
    const std::vector<double> kd = smoothing_kernel(fwhm_mm * fwhm_to_sigma / voxel_mm[axis]);
    if (kd.size() == 1 || dim[axis] == 1) continue;
    const std::vector<float> k(kd.begin(), kd.end());
    if (axis == 0)
      convolve_rows(out, ny * nz, dim[0], k);
    else if (axis == 1)
      convolve_lines(out, nz, dim[1], nx, k);
    else
      convolve_lines(out, 1, dim[2], nx * ny, k);
  }
}

}  // namespace realign
