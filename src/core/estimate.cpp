#include "realign/core/estimate.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "realign/core/metrics.hpp"
#include "realign/core/nearest.hpp"
#include "realign/core/rigid.hpp"
#include "realign/core/smooth.hpp"
#include "simd/mapped_batch.hpp"
#include "simd/spline_batch.hpp"
#include "simd/spline_sse.hpp"

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
  if (model != IntensityModel::Linear) return;
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
// sum J_r H_k (np x K), sum H_k H_l (lower triangle), sum H_k g; then J^T J (lower
// triangle), J^T g and g^T g: in a plain fit, over the points that fell outside the frame
// (to be taken off the fixed full-set sums); in a robust fit, weighted over the points
// inside. Then the count of points inside, and for the robust scale the sums of the
// weights and of the weighted squared residuals.
struct FrameFitter::Layout {
  int np, k;
  int jh() const { return 0; }
  int hh() const { return np * k; }
  int hg() const { return hh() + k * (k + 1) / 2; }
  int jj() const { return hg() + k; }
  int jg() const { return jj() + np * (np + 1) / 2; }
  int gg() const { return jg() + np; }
  int inside() const { return gg() + 1; }
  int sum_w() const { return inside() + 1; }
  int sum_we2() const { return sum_w() + 1; }
  int width() const { return sum_we2() + 1; }
};

// What a robust iteration weighs points by: Tukey's biweight of the residual at the
// current pose, e = g - s(x) f, with cutoff kTukey * sigma (95% efficiency for Gaussian
// residuals). An infinite sigma weighs every point 1 (the first iteration).
struct FrameFitter::Weighting {
  static constexpr double kTukey = 4.685;
  double inv_cutoff = 0.0;
  IntensityCoefficients c{1.0, 0.0, 0.0, 0.0};
  double weight(double e) const {
    const double u = e * inv_cutoff;
    return u * u < 1.0 ? (1.0 - u * u) * (1.0 - u * u) : 0.0;
  }
};

FrameFitter::FrameFitter(SampleSet points, std::vector<double> jacobian, std::vector<int> params,
                         Grid reference_grid, EstimateOptions opt)
    : points_(std::move(points)),
      jac_(std::move(jacobian)),
      params_(std::move(params)),
      ref_grid_(reference_grid),
      opt_(opt),
      basis_(reference_grid.dim, opt.intensity) {
  const int np = static_cast<int>(params_.size());
  jtj_ = Eigen::MatrixXd::Zero(np, np);
  jtg_ = Eigen::VectorXd::Zero(np);
  phi_.assign(points_.size() * phi_stride(), 0.0);
  for (std::size_t p = 0; p < points_.size(); ++p) {
    Eigen::Map<const Eigen::VectorXd> j(&jac_[p * np], np);
    jtj_.selfadjointView<Eigen::Lower>().rankUpdate(j);
    jtg_ += j * points_.g[p];
    gtg_ += points_.g[p] * points_.g[p];
    basis_.evaluate(points_.x[p], points_.y[p], points_.z[p], &phi_[p * phi_stride()]);
  }
  jtj_ = Eigen::MatrixXd(jtj_.selfadjointView<Eigen::Lower>());
  chunk_end_ = chunks();
}

void FrameFitter::set_chunk_range(std::size_t begin, std::size_t end, Reducer reduce) {
  chunk_begin_ = begin;
  chunk_end_ = end;
  reduce_ = std::move(reduce);
}

namespace {

// Points are interpolated a batch at a time before their sums are taken: independent
// interpolations, which the CPU overlaps (and AVX2 pairs, see spline_batch).
constexpr int kBatch = 16;

// The frame's values at points [b0, b0 + n) of s mapped by a (reference voxels to frame
// voxels): inside[q] says whether point b0 + q falls in the frame's interior, and
// values[] holds, in order, the values at the points that do.
void values_inside(const SampleSet& s, const Mat4& a, const PaddedCoefficients& coef,
                   const Interior& in, std::size_t b0, int n, bool* inside, double* values) {
  const double a00 = a(0, 0), a01 = a(0, 1), a02 = a(0, 2), a03 = a(0, 3);
  const double a10 = a(1, 0), a11 = a(1, 1), a12 = a(1, 2), a13 = a(1, 3);
  const double a20 = a(2, 0), a21 = a(2, 1), a22 = a(2, 2), a23 = a(2, 3);
  double tx[kBatch], ty[kBatch], tz[kBatch];
  int m = 0;  // the points inside, packed at the front of tx, ty, tz
  for (int q = 0; q < n; ++q) {
    const std::size_t p = b0 + q;
    const double x = s.x[p], y = s.y[p], z = s.z[p];
    const double yx = a00 * x + a01 * y + a02 * z + a03;
    const double yy = a10 * x + a11 * y + a12 * z + a13;
    const double yz = a20 * x + a21 * y + a22 * z + a23;
    inside[q] = in.contains(yx, yy, yz);
    tx[m] = yx;
    ty[m] = yy;
    tz[m] = yz;
    m += inside[q];
  }
  batch::values(coef, tx, ty, tz, m, values);
}

}  // namespace

// One chunk's sums (Layout), with the parameter count, spline degree, intensity terms and
// weighting fixed at compile time so the accumulators live in registers and the
// interpolation is unrolled. K is 1 or kMaxIntensityTerms: fewer linear terms run with
// K = 4 over zero-padded phi, whose extra sums are exact zeros that are never read, and
// whose extra residual terms subtract exact zeros.
template <int NP, int D, int K, bool Robust>
void FrameFitter::accumulate_chunk(long c, const Mat4& a, const PaddedCoefficients& coef,
                                   const Interior& in, const Layout& lay, const Weighting& wt,
                                   double* out) const {
  double jh[NP * K] = {}, hh[K * K] = {}, hg[K] = {}, jj[NP * NP] = {}, jg[NP] = {};
  double gg = 0.0, inside = 0.0, sum_w = 0.0, sum_we2 = 0.0;
  const std::size_t p0 = c * kChunk, p1 = std::min(points_.size(), p0 + kChunk);
  const double* pg = points_.g.data();
  double values[kBatch];
  bool inside_batch[kBatch];
  for (std::size_t b0 = p0; b0 < p1; b0 += kBatch) {
    const int nb = static_cast<int>(std::min<std::size_t>(kBatch, p1 - b0));
    values_inside(points_, a, coef, in, b0, nb, inside_batch, values);
    for (int q = 0, v = 0; q < nb; ++q) {
      const std::size_t p = b0 + q;
      const double* j = &jac_[p * NP];
      const double g = pg[p];
      if (!inside_batch[q]) {
        if constexpr (!Robust) {  // rare: its share comes off the fixed sums
          for (int r = 0; r < NP; ++r) {
            for (int u = 0; u <= r; ++u) jj[r * NP + u] += j[r] * j[u];
            jg[r] += j[r] * g;
          }
          gg += g * g;
        }
        continue;
      }
      const double f = values[v++];
      const double* phi = &phi_[p * K];
      double h[K], w = 1.0;
      for (int t = 0; t < K; ++t) h[t] = phi[t] * f;
      if constexpr (Robust) {
        double e = g;
        for (int t = 0; t < K; ++t) e -= wt.c[t] * h[t];
        w = wt.weight(e);
        sum_w += w;
        sum_we2 += w * e * e;
        for (int r = 0; r < NP; ++r) {
          for (int u = 0; u <= r; ++u) jj[r * NP + u] += w * j[r] * j[u];
          jg[r] += w * j[r] * g;
        }
        gg += w * g * g;
      }
      for (int r = 0; r < NP; ++r)
        for (int t = 0; t < K; ++t) jh[r * K + t] += w * j[r] * h[t];
      for (int t = 0; t < K; ++t) {
        for (int u = 0; u <= t; ++u) hh[t * K + u] += w * h[t] * h[u];
        hg[t] += w * h[t] * g;
      }
      inside += 1.0;
    }
  }
  const int k = lay.k;
  for (int r = 0, i = 0; r < NP; ++r) {
    for (int t = 0; t < k; ++t) out[lay.jh() + r * k + t] = jh[r * K + t];
    for (int q = 0; q <= r; ++q) out[lay.jj() + i++] = jj[r * NP + q];
    out[lay.jg() + r] = jg[r];
  }
  for (int t = 0, i = 0; t < k; ++t) {
    for (int u = 0; u <= t; ++u) out[lay.hh() + i++] = hh[t * K + u];
    out[lay.hg() + t] = hg[t];
  }
  out[lay.gg()] = gg;
  out[lay.inside()] = inside;
  out[lay.sum_w()] = Robust ? sum_w : inside;
  out[lay.sum_we2()] = sum_we2;
}

std::vector<double> FrameFitter::sums_at(const Mat4& a, const PaddedCoefficients& coef,
                                         const Grid& frame_grid, const Layout& lay,
                                         const Weighting* robust) const {
  const int w = lay.width();
  const std::size_t nchunks = chunks();
  std::vector<double> per_chunk(nchunks * w, 0.0), total(w, 0.0);
  const Interior in = trusted_interior(frame_grid, opt_.fwhm_mm);
  const Weighting plain;
  auto run = [&](auto np, auto degree, auto is_robust) {
    constexpr int NP = decltype(np)::value, D = decltype(degree)::value;
    constexpr bool R = decltype(is_robust)::value;
    const Weighting& wt = robust ? *robust : plain;
    const long b = static_cast<long>(chunk_begin_), e = static_cast<long>(chunk_end_);
    if (phi_stride() == 1) {
#pragma omp parallel for schedule(static)
      for (long c = b; c < e; ++c)
        accumulate_chunk<NP, D, 1, R>(c, a, coef, in, lay, wt, &per_chunk[c * w]);
    } else {
#pragma omp parallel for schedule(static)
      for (long c = b; c < e; ++c)
        accumulate_chunk<NP, D, kMaxIntensityTerms, R>(c, a, coef, in, lay, wt, &per_chunk[c * w]);
    }
  };
  with_degree(coef.degree, [&](auto d) {
    using Yes = std::true_type;
    using No = std::false_type;
    if (lay.np == 6)
      robust ? run(std::integral_constant<int, 6>{}, d, Yes{})
             : run(std::integral_constant<int, 6>{}, d, No{});
    else
      robust ? run(std::integral_constant<int, 3>{}, d, Yes{})
             : run(std::integral_constant<int, 3>{}, d, No{});
  });
  if (reduce_) reduce_(per_chunk);
  for (std::size_t c = 0; c < nchunks; ++c)
    for (int i = 0; i < w; ++i) total[i] += per_chunk[c * w + i];
  return total;
}

// The normal equations of g = J dq + H c from a set of sums, solved: dq then c, and the
// mean squared residual of the linear fit (g^T g - soln^T beta over the weights).
FrameFitter::Solution FrameFitter::solve(const std::vector<double>& total, const Layout& lay,
                                         bool robust) const {
  const int np = lay.np, k = lay.k, m = np + k;
  Eigen::MatrixXd alpha(m, m);
  Eigen::VectorXd beta(m);
  // A plain fit takes the points outside off the fixed sums; a robust one has them whole.
  const double sign = robust ? 1.0 : -1.0;
  for (int r = 0, t = 0; r < np; ++r) {
    for (int q = 0; q <= r; ++q, ++t)
      alpha(r, q) = alpha(q, r) = (robust ? 0.0 : jtj_(r, q)) + sign * total[lay.jj() + t];
    beta[r] = (robust ? 0.0 : jtg_[r]) + sign * total[lay.jg() + r];
    for (int u = 0; u < k; ++u) alpha(r, np + u) = alpha(np + u, r) = total[lay.jh() + r * k + u];
  }
  for (int u = 0, t = 0; u < k; ++u) {
    for (int v = 0; v <= u; ++v, ++t)
      alpha(np + u, np + v) = alpha(np + v, np + u) = total[lay.hh() + t];
    beta[np + u] = total[lay.hg() + u];
  }
  const double gtg = (robust ? 0.0 : gtg_) + sign * total[lay.gg()];
  // A tiny ridge keeps flat directions (e.g. a featureless axis) solvable.
  for (int r = 0; r < m; ++r) alpha(r, r) *= 1.0 + 1e-12;
  Solution s;
  s.x = alpha.ldlt().solve(beta);
  s.mse = std::max(0.0, gtg - s.x.dot(beta)) / std::max(total[lay.sum_w()], 1e-300);
  return s;
}

FrameFit FrameFitter::fit(const PaddedCoefficients& coef, const Grid& frame_grid,
                          const Mat4& start) const {
  const int np = static_cast<int>(params_.size()), k = basis_.terms();
  if (np != 3 && np != 6) throw std::invalid_argument("fit: 3 or 6 parameters");
  const Layout lay{np, k};
  FrameFit out;
  out.correction = start;
  Weighting robust;  // the first robust iteration weighs every point alike
  const Vec3 centre = ref_grid_.centre_mm();
  for (int iter = 1; iter <= opt_.max_iter; ++iter) {
    const Mat4 a = reference_to_frame_voxels(out.correction, frame_grid, ref_grid_);
    const std::vector<double> total =
        sums_at(a, coef, frame_grid, lay, opt_.robust ? &robust : nullptr);
    out.iterations = iter;
    if (total[lay.inside()] < 32) {
      out.overlap_failed = true;
      return out;
    }
    const Solution s = solve(total, lay, opt_.robust);
    RigidParams step{0, 0, 0, 0, 0, 0};
    for (int r = 0; r < np; ++r) step[params_[r]] = s.x[r];
    out.correction = orthonormalise(rigid_matrix(step).inverse() * out.correction);
    out.intensity.fill(0.0);
    for (int u = 0; u < k; ++u) out.intensity[u] = s.x[np + u];
    if (opt_.robust) {
      // The scale of the next weights: the weighted RMS of this iteration's residuals.
      const double sigma = std::sqrt(total[lay.sum_we2()] / total[lay.sum_w()]);
      robust.inv_cutoff = sigma > 0 ? 1.0 / (Weighting::kTukey * sigma) : 0.0;
      robust.c = out.intensity;
    }
    out.mse = s.mse;
    // Converged when this update moved no point within kStopRadiusMm of the reference's
    // centre by more than tol (mm): the parameters have settled, whatever the residual.
    if (max_sphere_displacement(rigid_matrix(step), centre, kStopRadiusMm) < opt_.tol) {
      out.converged = true;
      break;
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
inline double on_grid(double x, double q) { return nearest_integer(x / q) * q; }
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
                             const Grid& frame_grid, const FrameFitter& fitter,
                             const FrameFit& fit) {
  const Mat4 a = reference_to_frame_voxels(fit.correction, frame_grid, fitter.reference_grid());
  const Interior in = trusted_interior(frame_grid, fitter.options().fwhm_mm);
  const IntensityBasis& basis = fitter.intensity_basis();
  const IntensityCoefficients& intensity = fit.intensity;
  const double q = quantum;
  // Point p, where the frame has value v and gradient grad (frame voxel axes).
  auto add_point = [&](std::size_t p, double v, const double* grad) {
    double sgrad[3];
    const double sc = basis.scale_at(intensity, s.x[p], s.y[p], s.z[p], sgrad);
    // The gradient of s(x) f(T x) in reference voxel axes: the chain rule through the map
    // for f, plus the intensity model's own slope.
    const Eigen::Vector3d gref =
        a.topLeftCorner<3, 3>().transpose() * Eigen::Vector3d(grad[0], grad[1], grad[2]);
    sum[p] += on_grid(sc * v, q);
    sum_gx[p] += on_grid(sc * gref[0] + sgrad[0] * v, q);
    sum_gy[p] += on_grid(sc * gref[1] + sgrad[1] * v, q);
    sum_gz[p] += on_grid(sc * gref[2] + sgrad[2] * v, q);
    count[p] += 1.0;
  };
  const std::size_t n = s.size(), per_batch = MappedBatch::kMax;
  const long batches = static_cast<long>((n + per_batch - 1) / per_batch);
  // Each point's sums are its own: the batches may go to the threads in any way.
#pragma omp parallel for schedule(static)
  for (long b = 0; b < batches; ++b) {
    MappedBatch m;
    map_inside(s, a, in, b * per_batch, std::min(n, (b + 1) * per_batch), 1, m);
    double v[MappedBatch::kMax], grad[3 * MappedBatch::kMax];
    batch::value_gradients(coef, m.x, m.y, m.z, m.n, v, grad);
    for (int i = 0; i < m.n; ++i) add_point(m.index[i], v[i], &grad[3 * i]);
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
