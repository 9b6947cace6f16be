#include "realign/core/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "realign/core/rigid.hpp"

namespace realign {
namespace {

// splitmix64: a counter-based generator, so the jitter does not depend on any library's
// distribution code.
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
double uniform01(std::uint64_t& state) {
  return static_cast<double>(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace

void SampleSet::keep(const std::vector<std::uint8_t>& flags) {
  auto filter = [&](std::vector<double>& v) {
    if (v.empty()) return;
    std::size_t o = 0;
    for (std::size_t i = 0; i < flags.size(); ++i)
      if (flags[i]) v[o++] = v[i];
    v.resize(o);
  };
  for (auto* v : {&x, &y, &z, &g, &gx, &gy, &gz}) filter(*v);
}

std::vector<int> fitted_parameters(const Grid& grid) {
  if (grid.dim[2] < 3) return {0, 1, 5};
  return {0, 1, 2, 3, 4, 5};
}

Interior trusted_interior(const Grid& grid, double fwhm_mm) {
  const Vec3 vox = grid.voxel_size_mm();
  Interior in;
  for (int a = 0; a < 3; ++a) {
    const int n = grid.dim[a];
    double margin = -1e-6;  // two voxels: the edges themselves, within rounding
    if (n == 1) {
      margin = -0.5;
    } else if (n >= 3) {
      const double sigma = std::max(0.0, fwhm_mm) / std::sqrt(8.0 * std::log(2.0)) / vox[a];
      // As smoothing_kernel: no smoothing at all below 1e-3 voxel, else the triangle too.
      const double spread = sigma > 1e-3 ? std::sqrt(sigma * sigma + 1.0 / 6.0) : 0.0;
      const double wanted = std::max(1.0, kEdgeMarginSigmas * spread);
      margin = std::min(wanted, (n - 1) / 8.0);
    }
    in.lo[a] = margin;
    in.hi[a] = n - 1 - margin;
  }
  return in;
}

SampleSet sample_grid(const Grid& ref, double sep_mm, double fwhm_mm, std::uint64_t seed) {
  const Vec3 vox = ref.voxel_size_mm();
  const Interior in = trusted_interior(ref, fwhm_mm);
  // Per axis: first position, spacing, jitter range; a planar series stays in slice 0.
  double first[3], step[3], jitter[3], last[3];
  for (int a = 0; a < 3; ++a) {
    const bool single = ref.dim[a] < 3;
    first[a] = single ? 0.0 : in.lo[a];
    last[a] = single ? 0.0 : in.hi[a];
    step[a] = std::max(sep_mm / vox[a], 1e-3);
    jitter[a] = single ? 0.0 : 1.0;
  }
  SampleSet s;
  std::uint64_t state = seed;
  for (double k = first[2]; k <= last[2]; k += step[2])
    for (double j = first[1]; j <= last[1]; j += step[1])
      for (double i = first[0]; i <= last[0]; i += step[0]) {
        // Three draws per point whether it is kept or not, so the set is reproducible.
        const double p[3] = {i + uniform01(state) * jitter[0], j + uniform01(state) * jitter[1],
                             k + uniform01(state) * jitter[2]};
        if (p[0] > last[0] || p[1] > last[1] || p[2] > last[2]) continue;
        s.x.push_back(p[0]);
        s.y.push_back(p[1]);
        s.z.push_back(p[2]);
      }
  return s;
}

void evaluate_reference(SampleSet& s, const PaddedCoefficients& ref) {
  const long n = static_cast<long>(s.size());
  s.g.resize(n);
  s.gx.resize(n);
  s.gy.resize(n);
  s.gz.resize(n);
#pragma omp parallel for schedule(static)
  for (long p = 0; p < n; ++p) {
    double grad[3];
    s.g[p] = padded_value_gradient(ref, s.x[p], s.y[p], s.z[p], grad);
    s.gx[p] = grad[0];
    s.gy[p] = grad[1];
    s.gz[p] = grad[2];
  }
}

std::vector<Eigen::Matrix<double, 3, 4>> rigid_point_derivatives(const Mat4& ref_vox2world,
                                                                 const std::vector<int>& params) {
  const auto d = rigid_matrix_derivatives(RigidParams{0, 0, 0, 0, 0, 0});
  const Mat4 inv = ref_vox2world.inverse();
  std::vector<Eigen::Matrix<double, 3, 4>> n;
  for (int k : params) n.push_back((inv * d[k] * ref_vox2world).topRows<3>());
  return n;
}

std::vector<double> rigid_jacobian(const SampleSet& s, const Mat4& ref_vox2world,
                                   const std::vector<int>& params) {
  const auto n = rigid_point_derivatives(ref_vox2world, params);
  const std::size_t np = params.size();
  std::vector<double> jac(s.size() * np);
  const long count = static_cast<long>(s.size());
#pragma omp parallel for schedule(static)
  for (long p = 0; p < count; ++p) {
    const Eigen::Vector4d x(s.x[p], s.y[p], s.z[p], 1.0);
    const Eigen::Vector3d grad(s.gx[p], s.gy[p], s.gz[p]);
    for (std::size_t k = 0; k < np; ++k) jac[p * np + k] = grad.dot(n[k] * x);
  }
  return jac;
}

void select_by_quality(SampleSet& s, std::vector<double>& jac, int nparams, double quality) {
  // Rows are (J_p, g_p); at most 6 parameters + 1, so fixed-size matrices suffice.
  using Mat7 = Eigen::Matrix<double, 7, 7>;
  using Vec7 = Eigen::Matrix<double, 7, 1>;
  const int m = nparams + 1;
  auto row = [&](std::size_t p) {
    Vec7 v = Vec7::Zero();
    for (int k = 0; k < nparams; ++k) v[k] = jac[p * nparams + k];
    v[nparams] = s.g[p];
    return v;
  };
  auto information = [&]() {
    // Partial sums over fixed blocks of points, added in block order: the same result
    // for any number of threads.
    const std::size_t block = 4096, blocks = (s.size() + block - 1) / block;
    std::vector<Mat7> partial(blocks, Mat7::Zero());
#pragma omp parallel for schedule(static)
    for (long b = 0; b < static_cast<long>(blocks); ++b) {
      Mat7& a = partial[b];
      for (std::size_t p = b * block; p < std::min(s.size(), (b + 1) * block); ++p) {
        const Vec7 v = row(p);
        for (int c = 0; c < m; ++c)
          for (int r = c; r < m; ++r) a(r, c) += v[r] * v[c];
      }
    }
    Mat7 a = Mat7::Zero();
    for (const Mat7& pb : partial) a += pb;
    // Padding the unused corner with the identity keeps the determinant unchanged.
    for (int c = 0; c < 7; ++c) {
      for (int r = 0; r < c; ++r) a(r, c) = a(c, r);
      if (c >= m) a(c, c) = 1.0;
    }
    return a;
  };
  auto log_det = [](const Mat7& a) {
    return Eigen::LDLT<Mat7>(a).vectorD().array().abs().log().sum();
  };
  Mat7 alpha = information();
  const double log_det0 = log_det(alpha);
  double log_det1 = log_det0;
  const double log_quality = std::log(quality);
  while (log_det1 - log_det0 > log_quality && s.size() > 10 * static_cast<std::size_t>(m)) {
    // Removing point p scales the determinant by (1 - v_p^T alpha^-1 v_p): drop the
    // points with the smallest leverage.
    const Mat7 inv = alpha.inverse();
    std::vector<double> leverage(s.size());
#pragma omp parallel for schedule(static)
    for (long p = 0; p < static_cast<long>(s.size()); ++p) {
      const Vec7 v = row(p);
      leverage[p] = v.dot(inv * v);
    }
    std::vector<std::size_t> order(s.size());
    std::iota(order.begin(), order.end(), 0);
    const std::size_t drop = static_cast<std::size_t>(std::lround(s.size() / 10.0));
    // Only the smallest tenth is needed; ties broken by index keep it deterministic.
    std::nth_element(order.begin(), order.begin() + drop, order.end(),
                     [&](std::size_t a, std::size_t b) {
                       return leverage[a] < leverage[b] || (leverage[a] == leverage[b] && a < b);
                     });
    std::vector<std::uint8_t> flags(s.size(), 1);
    for (std::size_t i = 0; i < drop; ++i) flags[order[i]] = 0;
    std::size_t o = 0;
    for (std::size_t p = 0; p < s.size(); ++p)
      if (flags[p]) {
        for (int k = 0; k < nparams; ++k) jac[o * nparams + k] = jac[p * nparams + k];
        ++o;
      }
    jac.resize(o * nparams);
    s.keep(flags);
    alpha = information();
    log_det1 = log_det(alpha);
  }
}

}  // namespace realign
