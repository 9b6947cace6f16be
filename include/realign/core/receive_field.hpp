// A receive coil's sensitivity B, fixed in the scanner while the head moves through it.
// A frame moved to y sees the tissue of reference point x scaled by B(y) rather than
// B(x): an intensity change that follows the motion, which least squares then explains
// partly as motion (on phantoms with a +-20% field, up to 0.03 mm of error). A per-frame
// intensity model can absorb it but is free to trade intensity for translation on real
// runs (docs/accuracy.md); B is one smooth field shared by every frame, so it is
// estimated once from all of them and divided out of every frame before the final pass.
//
// log B is a quadratic in the reference's voxel axes scaled to [-1, 1]: the linear terms
// and, per pair of axes, the products (each axis of three or more voxels). What a frame
// sees relative to the reference is exp(f(p(y)) - f(p(x))), f the log field.
#pragma once

#include <cmath>
#include <vector>

#include "realign/core/estimate.hpp"

namespace realign {

class ReceiveFieldBasis {
 public:
  static constexpr int kMaxTerms = 9;
  explicit ReceiveFieldBasis(const std::array<int, 3>& dim);
  int terms() const { return terms_; }
  // The terms at voxel (x, y, z).
  void evaluate(double x, double y, double z, double* phi) const;
  // f at (x, y, z) for coefficients theta (terms() of them).
  double log_field(const std::vector<double>& theta, double x, double y, double z) const;

 private:
  int axes_ = 0, terms_ = 0;
  int axis_[3] = {0, 0, 0};
  double slope_[3] = {0, 0, 0};
};

// One frame's share of the field's normal equations: terms() x terms() matrix (row-major)
// then terms() right-hand side, with the frame's motion and intensity scale left free
// (eliminated), so the field is not estimated through a motion that it biased.
std::vector<double> receive_field_sums(const FrameFitter& fitter, const ReceiveFieldBasis& basis,
                                       const PaddedCoefficients& frame, const Grid& frame_grid,
                                       const FrameFit& fit);

// The field's coefficients from the frames' sums added up (empty sums: no field), under a
// Gaussian prior of sd kFieldPriorSd on each coefficient, given the residuals' variance
// per point.
constexpr double kFieldPriorSd = 0.25;
std::vector<double> solve_receive_field(const std::vector<double>& total,
                                        const ReceiveFieldBasis& basis, double noise_var);

// max - min of log B over the grid's voxels.
double receive_field_span(const ReceiveFieldBasis& basis, const std::vector<double>& theta,
                          const Grid& grid);

// The most a coil's sensitivity varies over the volume, as max - min of log B: phased-array
// head coils are up to about three times brighter at the edge than at the centre. A larger
// estimate is not a coil's profile but some other intensity change that follows the
// motion (spin history, slices moving through a slab), which dividing out as a field would
// turn into an error in the motion; it is left in.
const double kMaxReceiveFieldSpan = std::log(3.0);

// 1 / B = exp(-f) at every voxel of the grid: the same for every frame, so made once per
// run (an exp per voxel and frame took a third of the CPU of a 104x104x72 run).
std::vector<double> inverse_receive_field(const Grid& grid, const ReceiveFieldBasis& basis,
                                          const std::vector<double>& theta);

// volume / B at every voxel, into out (`inverse` from inverse_receive_field).
void divide_by_receive_field(const float* volume, float* out, const std::vector<double>& inverse);

}  // namespace realign
