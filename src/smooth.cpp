#include "realign/smooth.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace realign {

std::vector<double> gaussian_kernel(double sigma_vox) {
  if (!(sigma_vox > 1e-3)) return {1.0};
  const int half = static_cast<int>(std::lround(6.0 * sigma_vox));
  std::vector<double> k(2 * half + 1);
  double sum = 0.0;
  for (int i = -half; i <= half; ++i) {
    k[i + half] = std::exp(-0.5 * (i * i) / (sigma_vox * sigma_vox));
    sum += k[i + half];
  }
  for (double& v : k) v /= sum;
  return k;
}

void gaussian_smooth(const float* in, float* out, const std::array<int, 3>& dim,
                     const Vec3& voxel_mm, double fwhm_mm) {
  const std::size_t n = static_cast<std::size_t>(dim[0]) * dim[1] * dim[2];
  if (in != out)
    for (std::size_t i = 0; i < n; ++i) out[i] = in[i];
  const double fwhm_to_sigma = 1.0 / std::sqrt(8.0 * std::log(2.0));
  const std::size_t stride[3] = {1, static_cast<std::size_t>(dim[0]),
                                 static_cast<std::size_t>(dim[0]) * dim[1]};
  for (int axis = 0; axis < 3; ++axis) {
    const std::vector<double> k = gaussian_kernel(fwhm_mm * fwhm_to_sigma / voxel_mm[axis]);
    if (k.size() == 1) continue;
    const int half = static_cast<int>(k.size() / 2);
    const int len = dim[axis];
    const int a = axis == 0 ? 1 : 0, b = axis == 2 ? 1 : 2;
    const long lines = static_cast<long>(dim[a]) * dim[b];
#pragma omp parallel
    {
      std::vector<double> line(len);
#pragma omp for schedule(static)
      for (long l = 0; l < lines; ++l) {
        float* base = out + (l % dim[a]) * stride[a] + (l / dim[a]) * stride[b];
        for (int i = 0; i < len; ++i) line[i] = base[i * stride[axis]];
        for (int i = 0; i < len; ++i) {
          const int lo = std::max(-half, -i), hi = std::min(half, len - 1 - i);
          double s = 0.0;
          for (int t = lo; t <= hi; ++t) s += k[t + half] * line[i + t];
          base[i * stride[axis]] = static_cast<float>(s);
        }
      }
    }
  }
}

}  // namespace realign
