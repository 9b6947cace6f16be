#include "realign/estimate.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "realign/rigid.hpp"
#include "realign/smooth.hpp"
#include "spline_sse.hpp"

namespace realign {

PaddedCoefficients smoothed_coefficients(const float* volume, const Grid& grid,
                                         const EstimateOptions& opt) {
  std::vector<float> c(grid.voxels());
  gaussian_smooth(volume, c.data(), grid.dim, grid.voxel_size_mm(), opt.fwhm_mm);
  bspline_coefficients(c.data(), grid.dim, opt.degree);
  return pad_coefficients(c.data(), grid.dim, opt.degree);
}

Mat4 reference_to_frame_voxels(const Mat4& correction, const Grid& frame_grid,
                               const Grid& reference_grid) {
  return (correction * frame_grid.vox2world).inverse() * reference_grid.vox2world;
}

IntensityBasis::IntensityBasis(const std::array<int, 3>& dim, IntensityModel model) {
  if (model == IntensityModel::Global) return;
  // The axes that sample_grid spreads points along (three voxels or more).
  for (int a = 0; a < 3; ++a) {
    if (dim[a] < 3) continue;
    axis_[terms_ - 1] = a;
    slope_[terms_ - 1] = 2.0 / (dim[a] - 1);
    offset_[terms_ - 1] = -1.0;
    ++terms_;
  }
}

void IntensityBasis::evaluate(double x, double y, double z, double* phi) const {
  const double v[3] = {x, y, z};
  phi[0] = 1.0;
  for (int t = 1; t < terms_; ++t) phi[t] = slope_[t - 1] * v[axis_[t - 1]] + offset_[t - 1];
}

double IntensityBasis::scale_at(const IntensityCoefficients& c, double x, double y, double z,
                                double grad[3]) const {
  double phi[kMaxIntensityTerms];
  evaluate(x, y, z, phi);
  double s = 0.0;
  grad[0] = grad[1] = grad[2] = 0.0;
  for (int t = 0; t < terms_; ++t) s += c[t] * phi[t];
  for (int t = 1; t < terms_; ++t) grad[axis_[t - 1]] += c[t] * slope_[t - 1];
  return s;
}

// A chunk's buffer holds, for the unknowns (dq, c) of g = J dq + H c with H_k = phi_k f:
// sum J_r H_k (np x K), sum H_k H_l (lower triangle), sum H_k g; then the sums over the
// points that fell outside the frame (J^T J lower triangle, J^T g, g^T g), to be taken off
// the fixed full-set sums; and the count of points inside.
struct FrameFitter::Layout {
  int np, k;
  int jh() const { return 0; }
  int hh() const { return np * k; }
  int hg() const { return hh() + k * (k + 1) / 2; }
  int out_jj() const { return hg() + k; }
  int out_jg() const { return out_jj() + np * (np + 1) / 2; }
  int out_gg() const { return out_jg() + np; }
  int inside() const { return out_gg() + 1; }
  int width() const { return inside() + 1; }
};

FrameFitter::FrameFitter(SampleSet points, std::vector<double> jacobian, std::vector<int> params,
                         Grid reference_grid, EstimateOptions opt)
    : points_(std::move(points)),
      jac_(std::move(jacobian)),
      params_(std::move(params)),
      ref_grid_(reference_grid),
      opt_(opt),
      basis_(reference_grid.dim, opt.intensity) {
  const int np = static_cast<int>(params_.size()), k = basis_.terms();
  jtj_ = Eigen::MatrixXd::Zero(np, np);
  jtg_ = Eigen::VectorXd::Zero(np);
  phi_.resize(points_.size() * k);
  for (std::size_t p = 0; p < points_.size(); ++p) {
    Eigen::Map<const Eigen::VectorXd> j(&jac_[p * np], np);
    jtj_.selfadjointView<Eigen::Lower>().rankUpdate(j);
    jtg_ += j * points_.g[p];
    gtg_ += points_.g[p] * points_.g[p];
    basis_.evaluate(points_.x[p], points_.y[p], points_.z[p], &phi_[p * k]);
  }
  jtj_ = Eigen::MatrixXd(jtj_.selfadjointView<Eigen::Lower>());
  chunk_end_ = chunks();
}

void FrameFitter::set_chunk_range(std::size_t begin, std::size_t end, Reducer reduce) {
  chunk_begin_ = begin;
  chunk_end_ = end;
  reduce_ = std::move(reduce);
}

// One chunk's sums (Layout), with the parameter count and spline degree fixed at compile
// time so the accumulators live in registers and the interpolation is unrolled.
template <int NP, int D>
void FrameFitter::accumulate_chunk(long c, const Mat4& a, const PaddedCoefficients& coef,
                                   const Interior& in, const Layout& lay, double* out) const {
  const int k = lay.k;
  double jh[NP * kMaxIntensityTerms] = {}, hh[kMaxIntensityTerms * kMaxIntensityTerms] = {},
                 hg[kMaxIntensityTerms] = {};
  double inside = 0.0;
  double* jj = out + lay.out_jj();
  double* jg = out + lay.out_jg();
  const std::size_t p0 = c * kChunk, p1 = std::min(points_.size(), p0 + kChunk);
  for (std::size_t p = p0; p < p1; ++p) {
    const double x = points_.x[p], y = points_.y[p], z = points_.z[p];
    const double yx = a(0, 0) * x + a(0, 1) * y + a(0, 2) * z + a(0, 3);
    const double yy = a(1, 0) * x + a(1, 1) * y + a(1, 2) * z + a(1, 3);
    const double yz = a(2, 0) * x + a(2, 1) * y + a(2, 2) * z + a(2, 3);
    const double* j = &jac_[p * NP];
    const double g = points_.g[p];
    if (!in.contains(yx, yy, yz)) {  // rare: its share comes off the fixed sums
      for (int r = 0, t = 0; r < NP; ++r) {
        for (int q = 0; q <= r; ++q) jj[t++] += j[r] * j[q];
        jg[r] += j[r] * g;
      }
      out[lay.out_gg()] += g * g;
      continue;
    }
    const double f = sse::value<D>(coef, yx, yy, yz);
    const double* phi = &phi_[p * k];
    double h[kMaxIntensityTerms];
    for (int t = 0; t < k; ++t) h[t] = phi[t] * f;
    for (int r = 0; r < NP; ++r)
      for (int t = 0; t < k; ++t) jh[r * kMaxIntensityTerms + t] += j[r] * h[t];
    for (int t = 0; t < k; ++t) {
      for (int u = 0; u <= t; ++u) hh[t * kMaxIntensityTerms + u] += h[t] * h[u];
      hg[t] += h[t] * g;
    }
    inside += 1.0;
  }
  for (int r = 0; r < NP; ++r)
    for (int t = 0; t < k; ++t) out[lay.jh() + r * k + t] = jh[r * kMaxIntensityTerms + t];
  for (int t = 0, i = 0; t < k; ++t) {
    for (int u = 0; u <= t; ++u) out[lay.hh() + i++] = hh[t * kMaxIntensityTerms + u];
    out[lay.hg() + t] = hg[t];
  }
  out[lay.inside()] = inside;
}

std::vector<double> FrameFitter::sums_at(const Mat4& a, const PaddedCoefficients& coef,
                                         const Grid& frame_grid, const Layout& lay) const {
  const int w = lay.width();
  const std::size_t nchunks = chunks();
  std::vector<double> per_chunk(nchunks * w, 0.0), total(w, 0.0);
  const Interior in = trusted_interior(frame_grid.dim);
  with_degree(coef.degree, [&](auto d) {
#pragma omp parallel for schedule(static)
    for (long c = static_cast<long>(chunk_begin_); c < static_cast<long>(chunk_end_); ++c) {
      if (lay.np == 6)
        accumulate_chunk<6, decltype(d)::value>(c, a, coef, in, lay, &per_chunk[c * w]);
      else
        accumulate_chunk<3, decltype(d)::value>(c, a, coef, in, lay, &per_chunk[c * w]);
    }
  });
  if (reduce_) reduce_(per_chunk);
  for (std::size_t c = 0; c < nchunks; ++c)
    for (int i = 0; i < w; ++i) total[i] += per_chunk[c * w + i];
  return total;
}

FrameFit FrameFitter::fit(const PaddedCoefficients& coef, const Grid& frame_grid,
                          const Mat4& start) const {
  const int np = static_cast<int>(params_.size()), k = basis_.terms(), m = np + k;
  if (np != 3 && np != 6) throw std::invalid_argument("fit: 3 or 6 parameters");
  const Layout lay{np, k};
  FrameFit out;
  out.correction = start;
  double ss = std::numeric_limits<double>::infinity();
  int countdown = -1;
  for (int iter = 1; iter <= opt_.max_iter; ++iter) {
    const Mat4 a = reference_to_frame_voxels(out.correction, frame_grid, ref_grid_);
    const std::vector<double> total = sums_at(a, coef, frame_grid, lay);
    const double inside = total[lay.inside()];
    out.iterations = iter;
    if (inside < 32) {
      out.overlap_failed = true;
      return out;
    }
    // Normal equations of g = J dq + H c over the points inside the frame.
    Eigen::MatrixXd alpha(m, m);
    Eigen::VectorXd beta(m);
    for (int r = 0, t = 0; r < np; ++r) {
      for (int q = 0; q <= r; ++q, ++t)
        alpha(r, q) = alpha(q, r) = jtj_(r, q) - total[lay.out_jj() + t];
      beta[r] = jtg_[r] - total[lay.out_jg() + r];
      for (int u = 0; u < k; ++u) alpha(r, np + u) = alpha(np + u, r) = total[lay.jh() + r * k + u];
    }
    for (int u = 0, t = 0; u < k; ++u) {
      for (int v = 0; v <= u; ++v, ++t)
        alpha(np + u, np + v) = alpha(np + v, np + u) = total[lay.hh() + t];
      beta[np + u] = total[lay.hg() + u];
    }
    const double gtg = gtg_ - total[lay.out_gg()];
    // A tiny ridge keeps flat directions (e.g. a featureless axis) solvable.
    for (int r = 0; r < m; ++r) alpha(r, r) *= 1.0 + 1e-12;
    const Eigen::VectorXd soln = alpha.ldlt().solve(beta);

    RigidParams step{0, 0, 0, 0, 0, 0};
    for (int r = 0; r < np; ++r) step[params_[r]] = soln[r];
    out.correction = orthonormalise(rigid_matrix(step).inverse() * out.correction);
    out.intensity.fill(0.0);
    for (int u = 0; u < k; ++u) out.intensity[u] = soln[np + u];

    // Residual of the linear fit: g^T g - soln^T beta, as a mean over the points inside.
    const double pss = ss;
    ss = std::max(0.0, gtg - soln.dot(beta)) / inside;
    out.mse = ss;
    // As SPM: once the relative decrease falls below tol, two more iterations finish off.
    if (countdown == -1 && (pss - ss) / pss < opt_.tol) countdown = 2;
    if (countdown != -1) {
      if (countdown == 0) {
        out.converged = true;
        break;
      }
      --countdown;
    }
  }
  return out;
}

void MeanAtPoints::reset(const SampleSet& s) {
  for (auto* v : {&sum, &sum_gx, &sum_gy, &sum_gz, &count}) v->assign(s.size(), 0.0);
  double peak = 0.0;
  for (std::size_t p = 0; p < s.size(); ++p) peak = std::max(peak, std::fabs(s.g[p]));
  int e = 0;
  std::frexp(peak > 0 ? peak : 1.0, &e);
  quantum = std::ldexp(1.0, e - 30);
}

namespace {
// x rounded to a multiple of q (a power of two, so both steps are exact).
inline double on_grid(double x, double q) { return std::nearbyint(x / q) * q; }
}  // namespace

void MeanAtPoints::add_reference(const SampleSet& s) {
  const double q = quantum;
  for (std::size_t p = 0; p < s.size(); ++p) {
    sum[p] += on_grid(s.g[p], q);
    sum_gx[p] += on_grid(s.gx[p], q);
    sum_gy[p] += on_grid(s.gy[p], q);
    sum_gz[p] += on_grid(s.gz[p], q);
    count[p] += 1.0;
  }
}

void MeanAtPoints::add_frame(const SampleSet& s, const PaddedCoefficients& coef,
                             const Grid& frame_grid, const Grid& reference_grid,
                             const Mat4& correction, const IntensityBasis& basis,
                             const IntensityCoefficients& intensity) {
  const Mat4 a = reference_to_frame_voxels(correction, frame_grid, reference_grid);
  const Interior in = trusted_interior(frame_grid.dim);
  const long n = static_cast<long>(s.size());
#pragma omp parallel for schedule(static)
  for (long p = 0; p < n; ++p) {
    const Eigen::Vector4d y = a * Eigen::Vector4d(s.x[p], s.y[p], s.z[p], 1.0);
    if (!in.contains(y[0], y[1], y[2])) continue;
    double grad[3], sgrad[3];
    const double v = padded_value_gradient(coef, y[0], y[1], y[2], grad);
    const double sc = basis.scale_at(intensity, s.x[p], s.y[p], s.z[p], sgrad);
    // The gradient of s(x) f(T x) in reference voxel axes: the chain rule through the map
    // for f, plus the intensity model's own slope.
    const Eigen::Vector3d gref =
        a.topLeftCorner<3, 3>().transpose() * Eigen::Vector3d(grad[0], grad[1], grad[2]);
    const double q = quantum;
    sum[p] += on_grid(sc * v, q);
    sum_gx[p] += on_grid(sc * gref[0] + sgrad[0] * v, q);
    sum_gy[p] += on_grid(sc * gref[1] + sgrad[1] * v, q);
    sum_gz[p] += on_grid(sc * gref[2] + sgrad[2] * v, q);
    count[p] += 1.0;
  }
}

void MeanAtPoints::finish(SampleSet& s) const {
  for (std::size_t p = 0; p < s.size(); ++p) {
    const double c = count[p] > 0 ? count[p] : 1.0;
    s.g[p] = sum[p] / c;
    s.gx[p] = sum_gx[p] / c;
    s.gy[p] = sum_gy[p] / c;
    s.gz[p] = sum_gz[p] / c;
  }
}

std::vector<double*> MeanAtPoints::buffers() {
  return {sum.data(), sum_gx.data(), sum_gy.data(), sum_gz.data(), count.data()};
}

}  // namespace realign
