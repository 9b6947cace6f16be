#include "realign/core/receive_field.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "realign/core/sampling.hpp"
#include "simd/mapped_batch.hpp"
#include "simd/spline_batch.hpp"

namespace realign {

ReceiveFieldBasis::ReceiveFieldBasis(const std::array<int, 3>& dim) {
  for (int a = 0; a < 3; ++a) {
    if (dim[a] < 3) continue;
    axis_[axes_] = a;
    slope_[axes_] = 2.0 / (dim[a] - 1);
    ++axes_;
  }
  terms_ = axes_ + axes_ * (axes_ + 1) / 2;
}

void ReceiveFieldBasis::evaluate(double x, double y, double z, double* phi) const {
  const double v[3] = {x, y, z};
  // Written out for each number of axes (an axis left out has slope 0 and is not used): as
  // loops over an array of the linear terms, the compiler copied them into phi with a call
  // to memcpy, or read two of them back as one vector just after storing them one by one,
  // which stalls.
  const double p0 = slope_[0] * v[axis_[0]] - 1.0, p1 = slope_[1] * v[axis_[1]] - 1.0,
               p2 = slope_[2] * v[axis_[2]] - 1.0;
  if (axes_ == 3) {
    const double terms[9] = {p0, p1, p2, p0 * p0, p0 * p1, p0 * p2, p1 * p1, p1 * p2, p2 * p2};
    std::copy(terms, terms + 9, phi);
  } else if (axes_ == 2) {
    const double terms[5] = {p0, p1, p0 * p0, p0 * p1, p1 * p1};
    std::copy(terms, terms + 5, phi);
  } else if (axes_ == 1) {
    phi[0] = p0;
    phi[1] = p0 * p0;
  }
}

double ReceiveFieldBasis::log_field(const std::vector<double>& theta, double x, double y,
                                    double z) const {
  double phi[kMaxTerms];
  evaluate(x, y, z, phi);
  double f = 0.0;
  for (int t = 0; t < terms_; ++t) f += theta[t] * phi[t];
  return f;
}

namespace {

// Nine terms need far fewer points than six motion parameters per frame: every
// kFieldPointStride-th sample point, summed in fixed chunks added in chunk order (the same
// sums for any number of threads).
constexpr std::size_t kFieldPointStride = 4;
constexpr std::size_t kFieldChunk = 256;

// The lower triangle of a normal matrix, m(j, i) for j >= i, and its right-hand side v,
// summed one row of the design at a time: element by element what Eigen's
// m.selfadjointView<Lower>().rankUpdate(row) (alpha 1, by which it multiplies row(i)
// first: exact) and v += row * e add, without the cost of a dynamic-size call per row.
struct NormalSums {
  // Six motion parameters, the scale and the field's terms.
  static constexpr int kMaxSize = 6 + 1 + ReceiveFieldBasis::kMaxTerms;
  alignas(16) double m[kMaxSize][kMaxSize] = {};  // m[i][j]: element (j, i)
  double v[kMaxSize] = {};

  // row holds kMaxSize entries, zeros past size. Each column is updated from an even row
  // to the end, in whole aligned pairs that vectorise: the element above the diagonal and
  // those past size that this adds to are never read.
  void add(const double* row, int size, double e) {
    for (int i = 0; i < size; ++i) {
      for (int j = i & ~1; j < kMaxSize; ++j) m[i][j] += row[i] * row[j];
      v[i] += row[i] * e;
    }
  }
  void store(int size, Eigen::MatrixXd& lower, Eigen::VectorXd& rhs) const {
    for (int i = 0; i < size; ++i) {
      for (int j = i; j < size; ++j) lower(j, i) = m[i][j];
      rhs[i] = v[i];
    }
  }
};

// Lower triangle and right-hand side of the normal equations of
// e = J dq + dc f + (s f)(phi(x) - phi(y)) theta over one chunk of the points.
void chunk_normals(const FrameFitter& fitter, const ReceiveFieldBasis& basis,
                   const PaddedCoefficients& frame, const Mat4& a, const Interior& in, double scale,
                   std::size_t chunk, Eigen::MatrixXd& m, Eigen::VectorXd& v) {
  const SampleSet& s = fitter.points();
  const std::vector<double>& jac = fitter.jacobian();
  const int np = static_cast<int>(fitter.params().size()), nk = basis.terms();
  const int size = np + 1 + nk;
  double row[NormalSums::kMaxSize] = {};
  double phi_x[ReceiveFieldBasis::kMaxTerms], phi_y[ReceiveFieldBasis::kMaxTerms];
  NormalSums sums;
  const std::size_t n = s.size(), first = chunk * kFieldChunk * kFieldPointStride;
  const std::size_t last = std::min(n, first + kFieldChunk * kFieldPointStride);
  const std::size_t per_batch = MappedBatch::kMax * kFieldPointStride;
  for (std::size_t b = first; b < last; b += per_batch) {
    MappedBatch mb;
    map_inside(s, a, in, b, std::min(last, b + per_batch), kFieldPointStride, mb);
    double values[MappedBatch::kMax];
    batch::padded_values(frame, mb.x, mb.y, mb.z, mb.n, values);
    for (int q = 0; q < mb.n; ++q) {
      const std::size_t p = mb.index[q];
      const double f = values[q];
      for (int r = 0; r < np; ++r) row[r] = jac[p * np + r];
      row[np] = f;
      basis.evaluate(s.x[p], s.y[p], s.z[p], phi_x);
      basis.evaluate(mb.x[q], mb.y[q], mb.z[q], phi_y);
      for (int t = 0; t < nk; ++t) row[np + 1 + t] = scale * f * (phi_x[t] - phi_y[t]);
      sums.add(row, size, s.g[p] - scale * f);
    }
  }
  sums.store(size, m, v);
}

}  // namespace

std::vector<double> receive_field_sums(const FrameFitter& fitter, const ReceiveFieldBasis& basis,
                                       const PaddedCoefficients& frame, const Grid& frame_grid,
                                       const FrameFit& fit) {
  const int np = static_cast<int>(fitter.params().size()), nk = basis.terms();
  const int nuisance = np + 1, size = nuisance + nk;
  const Mat4 a = reference_to_frame_voxels(fit.correction, frame_grid, fitter.reference_grid());
  const Interior in = trusted_interior(frame_grid, fitter.options().fwhm_mm);
  const std::size_t per_chunk = kFieldChunk * kFieldPointStride;
  const long chunks = static_cast<long>((fitter.points().size() + per_chunk - 1) / per_chunk);
  std::vector<Eigen::MatrixXd> cm(chunks, Eigen::MatrixXd::Zero(size, size));
  std::vector<Eigen::VectorXd> cv(chunks, Eigen::VectorXd::Zero(size));
#pragma omp parallel for schedule(static)
  for (long c = 0; c < chunks; ++c)
    chunk_normals(fitter, basis, frame, a, in, fit.intensity[0], c, cm[c], cv[c]);
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(size, size);
  Eigen::VectorXd v = Eigen::VectorXd::Zero(size);
  for (long c = 0; c < chunks; ++c) {
    m += cm[c];
    v += cv[c];
  }
  m = m.selfadjointView<Eigen::Lower>();
  // The frame's own motion and scale eliminated: the Schur complement on the field terms.
  const Eigen::MatrixXd mnn = m.topLeftCorner(nuisance, nuisance);
  const Eigen::MatrixXd mnt = m.topRightCorner(nuisance, nk);
  const Eigen::LDLT<Eigen::MatrixXd> ldlt(mnn);
  const Eigen::MatrixXd a_t = m.bottomRightCorner(nk, nk) - mnt.transpose() * ldlt.solve(mnt);
  const Eigen::VectorXd b_t = v.tail(nk) - mnt.transpose() * ldlt.solve(v.head(nuisance));
  std::vector<double> out(nk * nk + nk);
  for (int r = 0; r < nk; ++r) {
    for (int c = 0; c < nk; ++c) out[r * nk + c] = a_t(r, c);
    out[nk * nk + r] = b_t[r];
  }
  return out;
}

std::vector<double> solve_receive_field(const std::vector<double>& total,
                                        const ReceiveFieldBasis& basis, double noise_var) {
  const int nk = basis.terms();
  std::vector<double> theta(nk, 0.0);
  if (nk == 0 || total.size() != static_cast<std::size_t>(nk * nk + nk)) return theta;
  Eigen::MatrixXd a(nk, nk);
  Eigen::VectorXd b(nk);
  for (int r = 0; r < nk; ++r) {
    for (int c = 0; c < nk; ++c) a(r, c) = total[r * nk + c];
    b[r] = total[nk * nk + r];
  }
  // The prior: coil profiles vary by tens of percent over the field of view, so each
  // coefficient of log B is about kFieldPriorSd at most. Where motion hardly moves the head
  // along a term, the data cannot tell it, and the prior keeps it small.
  const double ridge = noise_var / (kFieldPriorSd * kFieldPriorSd);
  for (int r = 0; r < nk; ++r) a(r, r) = a(r, r) * (1.0 + 1e-9) + ridge + 1e-300;
  const Eigen::VectorXd x = a.ldlt().solve(b);
  for (int t = 0; t < nk; ++t) theta[t] = std::isfinite(x[t]) ? x[t] : 0.0;
  return theta;
}

std::vector<double> inverse_receive_field(const Grid& grid, const ReceiveFieldBasis& basis,
                                          const std::vector<double>& theta) {
  const auto& d = grid.dim;
  std::vector<double> inverse(grid.voxels());
#pragma omp parallel for schedule(static)
  for (int k = 0; k < d[2]; ++k)
    for (int j = 0; j < d[1]; ++j)
      for (int i = 0; i < d[0]; ++i) {
        const std::size_t v = (static_cast<std::size_t>(k) * d[1] + j) * d[0] + i;
        inverse[v] = std::exp(-basis.log_field(theta, i, j, k));
      }
  return inverse;
}

void divide_by_receive_field(const float* volume, float* out, const std::vector<double>& inverse) {
  const std::size_t n = inverse.size();
  for (std::size_t v = 0; v < n; ++v) out[v] = static_cast<float>(volume[v] * inverse[v]);
}

}  // namespace realign

namespace realign {

double receive_field_span(const ReceiveFieldBasis& basis, const std::vector<double>& theta,
                          const Grid& grid) {
  const auto& d = grid.dim;
  double lo = 0.0, hi = 0.0;
  for (int k = 0; k < d[2]; ++k)
    for (int j = 0; j < d[1]; ++j)
      for (int i = 0; i < d[0]; ++i) {
        const double f = basis.log_field(theta, i, j, k);
        lo = std::min(lo, f);
        hi = std::max(hi, f);
      }
  return hi - lo;
}

}  // namespace realign
