#include "realign/estimate.hpp"

#include <cmath>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdexcept>

#include "realign/rigid.hpp"
#include "realign/smooth.hpp"

namespace realign {
namespace {

// Voxels within this distance outside the grid still count as inside, as in SPM's
// spm_vol_utils.c; for a single-slice axis anything in the slab counts.
double axis_tolerance(int n, double tol) { return n == 1 ? 0.5 : tol; }

#if defined(__SSE2__)
// Degree 2, the default for estimation: the weights of the three axes in one set of
// vector operations and each of the nine coefficient rows as one 4-float load (the
// fourth lane is ignored; the padded array has slack at its end). `base` points at the
// first coefficient of the support and t holds the offsets from the nearest knots.
inline float quadratic_at(const float* base, std::ptrdiff_t sy, std::ptrdiff_t sz, __m128 t) {
  const __m128 half = _mm_set1_ps(0.5f);
  const __m128 a = _mm_sub_ps(half, t), b = _mm_add_ps(half, t);
  const __m128 w0 = _mm_mul_ps(half, _mm_mul_ps(a, a));
  const __m128 w1 = _mm_sub_ps(_mm_set1_ps(0.75f), _mm_mul_ps(t, t));
  const __m128 w2 = _mm_mul_ps(half, _mm_mul_ps(b, b));
  const __m128 wy0 = _mm_shuffle_ps(w0, w0, 0x55), wy1 = _mm_shuffle_ps(w1, w1, 0x55),
               wy2 = _mm_shuffle_ps(w2, w2, 0x55);
  __m128 acc = _mm_setzero_ps();
  const __m128 wz[3] = {_mm_shuffle_ps(w0, w0, 0xAA), _mm_shuffle_ps(w1, w1, 0xAA),
                        _mm_shuffle_ps(w2, w2, 0xAA)};
  for (int k = 0; k < 3; ++k) {
    const float* plane = base + k * sz;
    __m128 p = _mm_mul_ps(wy0, _mm_loadu_ps(plane));
    p = _mm_add_ps(p, _mm_mul_ps(wy1, _mm_loadu_ps(plane + sy)));
    p = _mm_add_ps(p, _mm_mul_ps(wy2, _mm_loadu_ps(plane + 2 * sy)));
    acc = _mm_add_ps(acc, _mm_mul_ps(wz[k], p));
  }
  float sums[4], wx[3];
  _mm_storeu_ps(sums, acc);
  _mm_store_ss(&wx[0], w0);
  _mm_store_ss(&wx[1], w1);
  _mm_store_ss(&wx[2], w2);
  return wx[0] * sums[0] + wx[1] * sums[1] + wx[2] * sums[2];
}

inline double quadratic_value(const PaddedCoefficients& c, double x, double y, double z) {
  const int cx = fast_floor(x + 0.5), cy = fast_floor(y + 0.5), cz = fast_floor(z + 0.5);
  const __m128 t = _mm_setr_ps(static_cast<float>(x - cx), static_cast<float>(y - cy),
                               static_cast<float>(z - cz), 0.0f);
  return quadratic_at(c.origin() + (cx - 1) + (cy - 1) * c.sy + (cz - 1) * c.sz, c.sy, c.sz, t);
}

// Value and gradient at degree 2, for the register-to-mean sums.
inline double quadratic_value_gradient(const PaddedCoefficients& c, double x, double y, double z,
                                       double grad[3]) {
  const int cx = fast_floor(x + 0.5), cy = fast_floor(y + 0.5), cz = fast_floor(z + 0.5);
  const __m128 t = _mm_setr_ps(static_cast<float>(x - cx), static_cast<float>(y - cy),
                               static_cast<float>(z - cz), 0.0f);
  const __m128 half = _mm_set1_ps(0.5f);
  const __m128 a = _mm_sub_ps(half, t), b = _mm_add_ps(half, t);
  float w[3][4], dw[3][4];
  _mm_storeu_ps(w[0], _mm_mul_ps(half, _mm_mul_ps(a, a)));
  _mm_storeu_ps(w[1], _mm_sub_ps(_mm_set1_ps(0.75f), _mm_mul_ps(t, t)));
  _mm_storeu_ps(w[2], _mm_mul_ps(half, _mm_mul_ps(b, b)));
  _mm_storeu_ps(dw[0], _mm_sub_ps(t, half));
  _mm_storeu_ps(dw[1], _mm_mul_ps(_mm_set1_ps(-2.0f), t));
  _mm_storeu_ps(dw[2], b);
  const float* base = c.origin() + (cx - 1) + (cy - 1) * c.sy + (cz - 1) * c.sz;
  __m128 acc_v = _mm_setzero_ps(), acc_y = _mm_setzero_ps(), acc_z = _mm_setzero_ps();
  for (int k = 0; k < 3; ++k) {
    const float* plane = base + k * c.sz;
    __m128 p = _mm_setzero_ps(), q = _mm_setzero_ps();
    for (int j = 0; j < 3; ++j) {
      const __m128 r = _mm_loadu_ps(plane + j * c.sy);
      p = _mm_add_ps(p, _mm_mul_ps(_mm_set1_ps(w[j][1]), r));
      q = _mm_add_ps(q, _mm_mul_ps(_mm_set1_ps(dw[j][1]), r));
    }
    acc_v = _mm_add_ps(acc_v, _mm_mul_ps(_mm_set1_ps(w[k][2]), p));
    acc_z = _mm_add_ps(acc_z, _mm_mul_ps(_mm_set1_ps(dw[k][2]), p));
    acc_y = _mm_add_ps(acc_y, _mm_mul_ps(_mm_set1_ps(w[k][2]), q));
  }
  float v[4], gy[4], gz[4];
  _mm_storeu_ps(v, acc_v);
  _mm_storeu_ps(gy, acc_y);
  _mm_storeu_ps(gz, acc_z);
  double value = 0, gx = 0, sy = 0, sz = 0;
  for (int i = 0; i < 3; ++i) {
    value += w[i][0] * v[i];
    gx += dw[i][0] * v[i];
    sy += w[i][0] * gy[i];
    sz += w[i][0] * gz[i];
  }
  grad[0] = gx;
  grad[1] = sy;
  grad[2] = sz;
  return value;
}
#endif

double frame_value_gradient(const PaddedCoefficients& c, double x, double y, double z,
                            double grad[3]) {
#if defined(__SSE2__)
  if (c.degree == 2) return quadratic_value_gradient(c, x, y, z, grad);
#endif
  return padded_value_gradient(c, x, y, z, grad);
}

double frame_value(const PaddedCoefficients& c, double x, double y, double z) {
#if defined(__SSE2__)
  if (c.degree == 2) return quadratic_value(c, x, y, z);
#endif
  return padded_value(c, x, y, z);
}

}  // namespace

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

FrameFitter::FrameFitter(SampleSet points, std::vector<double> jacobian, std::vector<int> params,
                         Grid reference_grid, EstimateOptions opt)
    : points_(std::move(points)),
      jac_(std::move(jacobian)),
      params_(std::move(params)),
      ref_grid_(reference_grid),
      opt_(opt) {
  const int np = static_cast<int>(params_.size());
  jtj_ = Eigen::MatrixXd::Zero(np, np);
  jtg_ = Eigen::VectorXd::Zero(np);
  for (std::size_t p = 0; p < points_.size(); ++p) {
    Eigen::Map<const Eigen::VectorXd> j(&jac_[p * np], np);
    jtj_.selfadjointView<Eigen::Lower>().rankUpdate(j);
    jtg_ += j * points_.g[p];
    gtg_ += points_.g[p] * points_.g[p];
  }
  jtj_ = Eigen::MatrixXd(jtj_.selfadjointView<Eigen::Lower>());
  chunk_end_ = chunks();
  if (np == 6) {
    packed_.assign(points_.size() * kPacked, 0.0f);
    for (std::size_t p = 0; p < points_.size(); ++p) {
      float* q = &packed_[p * kPacked];
      q[0] = static_cast<float>(points_.x[p]);
      q[1] = static_cast<float>(points_.y[p]);
      q[2] = static_cast<float>(points_.z[p]);
      q[3] = 1.0f;
      for (int k = 0; k < 6; ++k) q[4 + k] = static_cast<float>(jac_[p * 6 + k]);
      q[10] = static_cast<float>(points_.g[p]);
    }
  }
}

void FrameFitter::set_chunk_range(std::size_t begin, std::size_t end, Reducer reduce) {
  chunk_begin_ = begin;
  chunk_end_ = end;
  reduce_ = std::move(reduce);
}

// A point beyond the frame's edge: its share of the fixed full-set sums (J^T J lower
// triangle, J^T g, g^T g), to be taken off them.
template <int NP>
inline void add_outside(const double* j, double g, double* outside) {
  constexpr int kTri = NP * (NP + 1) / 2;
  int t = 0;
  for (int r = 0; r < NP; ++r)
    for (int k = 0; k <= r; ++k) outside[t++] += j[r] * j[k];
  for (int r = 0; r < NP; ++r) outside[kTri + r] += j[r] * g;
  outside[kTri + NP] += g * g;
}

// One chunk's sums (layout described in fit), with the parameter count fixed at compile
// time so the accumulators live in registers.
template <int NP>
void FrameFitter::accumulate_chunk(long c, const Mat4& a, const PaddedCoefficients& coef,
                                   const double* lo, const double* hi, double* out) const {
  constexpr int kTri = NP * (NP + 1) / 2;
  double jf[NP] = {}, ff = 0.0, fg = 0.0, inside = 0.0;
  const std::size_t p0 = c * kChunk, p1 = std::min(points_.size(), p0 + kChunk);
  double* outside = out + NP + 2;  // rarely touched: points beyond the frame's edge
  for (std::size_t p = p0; p < p1; ++p) {
    const double x = points_.x[p], y = points_.y[p], z = points_.z[p];
    const double yx = a(0, 0) * x + a(0, 1) * y + a(0, 2) * z + a(0, 3);
    const double yy = a(1, 0) * x + a(1, 1) * y + a(1, 2) * z + a(1, 3);
    const double yz = a(2, 0) * x + a(2, 1) * y + a(2, 2) * z + a(2, 3);
    const double* j = &jac_[p * NP];
    const double g = points_.g[p];
    if (yx < lo[0] || yx > hi[0] || yy < lo[1] || yy > hi[1] || yz < lo[2] || yz > hi[2]) {
      add_outside<NP>(j, g, outside);
      continue;
    }
    const double f = frame_value(coef, yx, yy, yz);
    for (int r = 0; r < NP; ++r) jf[r] += j[r] * f;
    ff += f * f;
    fg += f * g;
    inside += 1.0;
  }
  for (int r = 0; r < NP; ++r) out[r] = jf[r];
  out[NP] = ff;
  out[NP + 1] = fg;
  out[NP + 2 + kTri + NP + 1] = inside;
}

#if defined(__SSE2__)
// The default case (six parameters, degree 2) with each point's position, Jacobian row
// and reference value packed in floats: the map to frame voxels, the bounds test and
// the knot offsets take a handful of vector operations; sums stay in double.
void FrameFitter::accumulate_chunk_quadratic(long c, const Mat4& a, const PaddedCoefficients& coef,
                                             const double* lo, const double* hi,
                                             double* out) const {
  constexpr int NP = 6, kTri = NP * (NP + 1) / 2;
  auto column = [&](int k) {
    return _mm_setr_ps(static_cast<float>(a(0, k)), static_cast<float>(a(1, k)),
                       static_cast<float>(a(2, k)), 0.0f);
  };
  const __m128 m0 = column(0), m1 = column(1), m2 = column(2), m3 = column(3);
  const __m128 lo_v = _mm_setr_ps(static_cast<float>(lo[0]), static_cast<float>(lo[1]),
                                  static_cast<float>(lo[2]), -1.0f);
  const __m128 hi_v = _mm_setr_ps(static_cast<float>(hi[0]), static_cast<float>(hi[1]),
                                  static_cast<float>(hi[2]), 1.0f);
  const __m128 half = _mm_set1_ps(0.5f);
  const float* origin = coef.origin();
  const std::ptrdiff_t sy = coef.sy, sz = coef.sz;
  __m128d s01 = _mm_setzero_pd(), s23 = _mm_setzero_pd(), s45 = _mm_setzero_pd(),
          s_g = _mm_setzero_pd();
  double ff = 0.0, inside = 0.0;
  const std::size_t p0 = c * kChunk, p1 = std::min(points_.size(), p0 + kChunk);
  double* outside = out + NP + 2;
  for (std::size_t p = p0; p < p1; ++p) {
    const float* q = &packed_[p * kPacked];
    const __m128 x = _mm_loadu_ps(q);  // x, y, z, 1
    __m128 y = _mm_add_ps(m3, _mm_mul_ps(m0, _mm_shuffle_ps(x, x, 0x00)));
    y = _mm_add_ps(y, _mm_mul_ps(m1, _mm_shuffle_ps(x, x, 0x55)));
    y = _mm_add_ps(y, _mm_mul_ps(m2, _mm_shuffle_ps(x, x, 0xAA)));
    if (_mm_movemask_ps(_mm_or_ps(_mm_cmplt_ps(y, lo_v), _mm_cmpgt_ps(y, hi_v))) & 7) {
      add_outside<NP>(&jac_[p * NP], points_.g[p], outside);
      continue;
    }
    // Inside the grid y + 0.5 > 0, so truncation is the floor.
    const __m128i knot = _mm_cvttps_epi32(_mm_add_ps(y, half));
    const __m128 t = _mm_sub_ps(y, _mm_cvtepi32_ps(knot));
    alignas(16) int k[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(k), knot);
    const double f =
        quadratic_at(origin + (k[0] - 1) + (k[1] - 1) * sy + (k[2] - 1) * sz, sy, sz, t);
    const __m128d fv = _mm_set1_pd(f);
    const __m128 j03 = _mm_loadu_ps(q + 4), j4g = _mm_loadu_ps(q + 8);  // j0-j3; j4, j5, g, 0
    s01 = _mm_add_pd(s01, _mm_mul_pd(_mm_cvtps_pd(j03), fv));
    s23 = _mm_add_pd(s23, _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(j03, j03)), fv));
    s45 = _mm_add_pd(s45, _mm_mul_pd(_mm_cvtps_pd(j4g), fv));
    s_g = _mm_add_pd(s_g, _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(j4g, j4g)), fv));
    ff += f * f;
    inside += 1.0;
  }
  double v[8];
  _mm_storeu_pd(v, s01);
  _mm_storeu_pd(v + 2, s23);
  _mm_storeu_pd(v + 4, s45);
  _mm_storeu_pd(v + 6, s_g);
  for (int r = 0; r < NP; ++r) out[r] = v[r];
  out[NP] = ff;
  out[NP + 1] = v[6];
  out[NP + 2 + kTri + NP + 1] = inside;
}
#endif

FrameFit FrameFitter::fit(const PaddedCoefficients& coef, const Grid& frame_grid,
                          const Mat4& start) const {
  const int np = static_cast<int>(params_.size());
  const int m = np + 1;  // the intensity scale is the last unknown
  // Per chunk: J^T f (np), f^T f, f^T g, then the sums over points that fell outside
  // (J^T J lower triangle, J^T g, g^T g) which are taken off the fixed full-set sums.
  const int tri = np * (np + 1) / 2;
  const int width = np + 2 + tri + np + 1 + 1;  // last: count of points inside
  const std::size_t nchunks = chunks();
  std::vector<double> per_chunk(nchunks * width), total(width);
  const std::array<int, 3> dim = frame_grid.dim;
  const double tol = 1e-6;
  const double lo[3] = {-axis_tolerance(dim[0], tol), -axis_tolerance(dim[1], tol),
                        -axis_tolerance(dim[2], tol)};
  const double hi[3] = {dim[0] - 1 + axis_tolerance(dim[0], tol),
                        dim[1] - 1 + axis_tolerance(dim[1], tol),
                        dim[2] - 1 + axis_tolerance(dim[2], tol)};

  FrameFit out;
  out.correction = start;
  double ss = std::numeric_limits<double>::infinity();
  int countdown = -1;
  for (int iter = 1; iter <= opt_.max_iter; ++iter) {
    const Mat4 a = reference_to_frame_voxels(out.correction, frame_grid, ref_grid_);
    std::fill(per_chunk.begin(), per_chunk.end(), 0.0);
#pragma omp parallel for schedule(static)
    for (long c = static_cast<long>(chunk_begin_); c < static_cast<long>(chunk_end_); ++c) {
#if defined(__SSE2__)
      if (np == 6 && coef.degree == 2) {
        accumulate_chunk_quadratic(c, a, coef, lo, hi, &per_chunk[c * width]);
        continue;
      }
#endif
      if (np == 6)
        accumulate_chunk<6>(c, a, coef, lo, hi, &per_chunk[c * width]);
      else
        accumulate_chunk<3>(c, a, coef, lo, hi, &per_chunk[c * width]);
    }
    if (reduce_) reduce_(per_chunk);
    std::fill(total.begin(), total.end(), 0.0);
    for (std::size_t c = 0; c < nchunks; ++c)
      for (int k = 0; k < width; ++k) total[k] += per_chunk[c * width + k];

    const double inside = total[width - 1];
    if (inside < 32) {
      out.overlap_failed = true;
      out.iterations = iter;
      return out;
    }
    // Normal equations of g = J dq + s f over the points inside the frame.
    Eigen::MatrixXd alpha(m, m);
    Eigen::VectorXd beta(m);
    const double* out_sums = &total[np + 2];
    int t = 0;
    for (int r = 0; r < np; ++r)
      for (int s = 0; s <= r; ++s) {
        alpha(r, s) = alpha(s, r) = jtj_(r, s) - out_sums[t++];
      }
    for (int r = 0; r < np; ++r) {
      alpha(r, np) = alpha(np, r) = total[r];
      beta[r] = jtg_[r] - out_sums[tri + r];
    }
    alpha(np, np) = total[np];
    beta[np] = total[np + 1];
    const double gtg = gtg_ - out_sums[tri + np];
    // A tiny ridge keeps flat directions (e.g. a featureless axis) solvable.
    for (int r = 0; r < m; ++r) alpha(r, r) *= 1.0 + 1e-12;
    const Eigen::VectorXd soln = alpha.ldlt().solve(beta);

    RigidParams step{0, 0, 0, 0, 0, 0};
    for (int r = 0; r < np; ++r) step[params_[r]] = soln[r];
    out.correction = orthonormalise(rigid_matrix(step).inverse() * out.correction);
    out.scale = soln[np];
    out.iterations = iter;

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
                             const Mat4& correction, double scale) {
  const Mat4 a = reference_to_frame_voxels(correction, frame_grid, reference_grid);
  const std::array<int, 3> dim = frame_grid.dim;
  const double tiny = 5e-2;
  const long n = static_cast<long>(s.size());
#pragma omp parallel for schedule(static)
  for (long p = 0; p < n; ++p) {
    const Eigen::Vector4d x(s.x[p], s.y[p], s.z[p], 1.0);
    const Eigen::Vector4d y = a * x;
    bool inside = true;
    for (int d = 0; d < 3; ++d) {
      const double t = axis_tolerance(dim[d], tiny);
      inside = inside && y[d] >= -t && y[d] <= dim[d] - 1 + t;
    }
    if (!inside) continue;
    double grad[3];
    const double v = frame_value_gradient(coef, y[0], y[1], y[2], grad);
    // The gradient with respect to reference voxel axes: chain rule through the map.
    const Eigen::Vector3d gref =
        a.topLeftCorner<3, 3>().transpose() * Eigen::Vector3d(grad[0], grad[1], grad[2]);
    const double q = quantum;
    sum[p] += on_grid(scale * v, q);
    sum_gx[p] += on_grid(scale * gref[0], q);
    sum_gy[p] += on_grid(scale * gref[1], q);
    sum_gz[p] += on_grid(scale * gref[2], q);
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
