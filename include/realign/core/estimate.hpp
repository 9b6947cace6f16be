// Gauss-Newton estimation of one frame's rigid motion against a fixed reference, in
// SPM's scheme: the Jacobian comes from the smoothed reference at fixed sample points,
// so each iteration only samples the frame, and the solved step is composed into the
// frame's world correction.
#pragma once

#include <functional>
#include <vector>

#include "realign/core/bspline.hpp"
#include "realign/core/sampling.hpp"
#include "realign/core/volume.hpp"

namespace realign {

// How the frame's intensity is matched to the reference's (see IntensityBasis).
// Coil: one scale per frame, and the receive coil's profile, shared by all frames, divided
// out before the last pass when it is one a coil can make (core/receive_field.hpp).
enum class IntensityModel { Global, Linear, Coil };

// The sphere the stopping rule measures an update on (mm): a head's, as FD's radius.
constexpr double kStopRadiusMm = 50.0;

struct EstimateOptions {
  double fwhm_mm = 5.0;
  double sep_mm = 4.0;
  double quality = 0.9;
  // Cubic rather than SPM's quadratic: on phantoms made from real volumes the quadratic
  // spline's interpolation error is the largest error left (docs/accuracy.md).
  int degree = 3;
  int max_iter = 64;
  // A frame has converged when an iteration's update moves no point within kStopRadiusMm of
  // the reference's centre by more than this (mm): 0.1 micrometre, a thousandth of the
  // smallest error the phantoms measure. (SPM stops on the residual's relative decrease
  // and spends two more iterations; on real runs those were 2 of about 5.)
  double tol = 1e-4;
  // On phantoms with a +-20% receive field, dividing out the coil's profile halves the
  // error; on runs where no coil-like field is found it changes nothing (docs/accuracy.md).
  IntensityModel intensity = IntensityModel::Coil;
  // Iteratively reweighted least squares: Tukey's biweight of each point's residual, so
  // that what motion cannot explain (activation, artefacts) loses its pull.
  bool robust = false;
};

// The intensity model of the fit: the frame, times s(x), matches the reference. Global:
// s(x) = c0, SPM's scale. Linear: s(x) = c0 + c1 u + c2 v + c3 w, where u, v, w are the
// reference's voxel axes scaled to [-1, 1] (one term per axis of three or more voxels);
// the linear terms take up the intensity change that a receive coil's profile, fixed in
// the scanner, makes as the head moves through it, which otherwise biases the motion
// (docs/accuracy.md measures both).
constexpr int kMaxIntensityTerms = 4;
using IntensityCoefficients = std::array<double, kMaxIntensityTerms>;

class IntensityBasis {
 public:
  IntensityBasis(const std::array<int, 3>& reference_dim, IntensityModel model);
  int terms() const { return terms_; }
  // phi[0..terms()) at reference voxel (x, y, z).
  void evaluate(double x, double y, double z, double* phi) const;
  // s(x) and its gradient (reference voxel units) for coefficients c.
  double scale_at(const IntensityCoefficients& c, double x, double y, double z,
                  double grad[3]) const;

 private:
  int terms_ = 1;
  int axis_[3] = {0, 0, 0};  // voxel axis of term 1, 2, 3
  double slope_[3] = {0, 0, 0}, offset_[3] = {0, 0, 0};
};

// The outcome for one frame. `correction` is the world-space matrix W such that the
// frame's realigned voxel-to-world is W * vox2world.
struct FrameFit {
  Mat4 correction = Mat4::Identity();
  int iterations = 0;
  bool converged = false;
  bool overlap_failed = false;  // fewer than 32 points fell inside the frame
  IntensityCoefficients intensity{1.0, 0.0, 0.0, 0.0};  // s(x), see IntensityBasis
  double mse = 0.0;  // mean squared residual of the last iteration
};

// Smoothed B-spline coefficients of one volume, padded, ready for sampling.
PaddedCoefficients smoothed_coefficients(const float* volume, const Grid& grid,
                                         const EstimateOptions& opt);

// Sums over a range of point chunks. Points are cut into chunks of fixed size whatever
// the thread or rank count, and sums are added in chunk order, so results are
// bitwise the same for any split. A Reducer (MPI) makes a per-chunk buffer whole
// across ranks; with one rank it is empty.
using Reducer = std::function<void(std::vector<double>& per_chunk)>;

class FrameFitter {
 public:
  static constexpr std::size_t kChunk = 512;
  struct Layout;     // where each sum sits in a chunk's buffer
  struct Weighting;  // a robust iteration's weights

  // `points` and `jacobian` (row-major, points x params) describe the reference.
  // This process handles chunks [chunk_begin, chunk_end) of the points.
  FrameFitter(SampleSet points, std::vector<double> jacobian, std::vector<int> params,
              Grid reference_grid, EstimateOptions opt);

  void set_chunk_range(std::size_t begin, std::size_t end, Reducer reduce);
  std::size_t chunks() const { return (points_.size() + kChunk - 1) / kChunk; }

  // Fits a frame given its smoothed coefficients and grid, starting from `start`.
  FrameFit fit(const PaddedCoefficients& frame, const Grid& frame_grid, const Mat4& start) const;

  const SampleSet& points() const { return points_; }
  const std::vector<int>& params() const { return params_; }
  // d g / d q at each point, points x params, row-major.
  const std::vector<double>& jacobian() const { return jac_; }
  const Grid& reference_grid() const { return ref_grid_; }
  const IntensityBasis& intensity_basis() const { return basis_; }
  const EstimateOptions& options() const { return opt_; }

 private:
  // Every chunk's sums at the frame's current pose, added in chunk order.
  std::vector<double> sums_at(const Mat4& ref_to_frame, const PaddedCoefficients& frame,
                              const Grid& frame_grid, const Layout& layout,
                              const Weighting* robust) const;
  template <int NP, int D, int K, bool Robust>
  void accumulate_chunk(long chunk, const Mat4& ref_to_frame, const PaddedCoefficients& frame,
                        const Interior& frame_interior, const Layout& layout,
                        const Weighting& weighting, double* out) const;
  struct Solution {
    Eigen::VectorXd x;  // dq, then the intensity coefficients
    double mse = 0.0;
  };
  Solution solve(const std::vector<double>& sums, const Layout& layout, bool robust) const;

  SampleSet points_;
  std::vector<double> jac_;
  std::vector<int> params_;
  Grid ref_grid_;
  EstimateOptions opt_;
  IntensityBasis basis_;
  // The intensity basis at each point, phi_stride() values per point (zeros past terms()).
  std::vector<double> phi_;
  int phi_stride() const { return basis_.terms() == 1 ? 1 : kMaxIntensityTerms; }
  std::size_t chunk_begin_ = 0, chunk_end_ = 0;
  Reducer reduce_;
  // Full-set sums that do not change between iterations: J^T J, J^T g, g^T g.
  Eigen::MatrixXd jtj_;
  Eigen::VectorXd jtg_;
  double gtg_ = 0.0;
};

// Matrix from reference voxels to frame voxels for a frame whose realigned
// voxel-to-world is correction * frame_vox2world (formed once per iteration, never per
// point).
Mat4 reference_to_frame_voxels(const Mat4& correction, const Grid& frame_grid,
                               const Grid& reference_grid);

// Running sums for the register-to-mean reference: the mean of the moved frames and of
// their gradients at the sample points (in reference voxel axes).
//
// Every term is rounded to a multiple of `quantum`, a power of two about 2^-30 of the
// reference's largest value, so every partial sum is an exact double and the totals do
// not depend on the order of addition: each rank sums its own frames and the ranks'
// sums are added, and the result is bitwise the same for any number of ranks. The
// rounding is far below the noise of any image.
struct MeanAtPoints {
  std::vector<double> sum, sum_gx, sum_gy, sum_gz, count;
  double quantum = 0.0;

  // Sized for `s`'s points, with the quantum from its values (identical on every rank).
  void reset(const SampleSet& s);
  // Adds the reference's own values with count 1 (the first frame in place).
  void add_reference(const SampleSet& s);
  // Adds s(x) * frame at the points mapped by `fit`'s correction, where they fall inside
  // the frame's trusted interior, with s from the fit's intensity model; `fitter` gave the
  // fit (reference grid, smoothing, intensity basis).
  void add_frame(const SampleSet& s, const PaddedCoefficients& frame, const Grid& frame_grid,
                 const FrameFitter& fitter, const FrameFit& fit);
  // Moves the averages into s.g / s.gx / s.gy / s.gz.
  void finish(SampleSet& s) const;
  // All vectors back to back, for reductions across ranks.
  std::vector<double*> buffers();
};

}  // namespace realign
