// The fixed set of reference points at which frames are compared, and the reference's
// value and gradient there.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "realign/core/bspline.hpp"
#include "realign/core/volume.hpp"

namespace realign {

// Structure of arrays: positions in reference voxels, reference value and gradient
// (voxel units) at each point.
struct SampleSet {
  std::vector<double> x, y, z;
  std::vector<double> g, gx, gy, gz;

  std::size_t size() const { return x.size(); }
  // Keeps the points whose flag is set, in order.
  void keep(const std::vector<std::uint8_t>& flags);
};

// Which rigid parameters are fitted: all six, or tx, ty, yaw for a series with fewer
// than three slices (as SPM does).
std::vector<int> fitted_parameters(const Grid& grid);

// Where a grid's smoothed values can be trusted, in voxels. Near an edge the smoothing
// can only average what exists (and the B-spline's boundary rule mirrors it), so a value
// within a few kernel widths of a slab that cuts through the head is pulled towards the
// interior; that pull stays with the grid as the head moves and biases the motion
// towards zero. Each axis keeps kEdgeMarginSigmas smoothing standard deviations (the
// Gaussian's and the triangle's together, see smoothing_kernel), at least one voxel, from
// its first and last voxel, but never gives up more than a quarter of its length (thin
// slabs keep most of theirs). A single slice is a slab of its own thickness. Sample points
// are drawn inside the reference's interior, and a frame is compared only where they land
// inside its own.
constexpr double kEdgeMarginSigmas = 2.5;
struct Interior {
  std::array<double, 3> lo{}, hi{};
  bool contains(double x, double y, double z) const {
    return x >= lo[0] && x <= hi[0] && y >= lo[1] && y <= hi[1] && z >= lo[2] && z <= hi[2];
  }
};
Interior trusted_interior(const Grid& grid, double fwhm_mm);

// A grid of spacing sep_mm over the reference's trusted interior, each point moved by a
// jitter of up to one voxel on each axis from a fixed-seed generator: the points break
// the regularity of the voxel grid, sit at every sub-voxel offset alike (interpolation
// errors then average out rather than pull one way), and are the same on every run and
// rank. A series with fewer than three slices is sampled in slice 0 only.
SampleSet sample_grid(const Grid& ref, double sep_mm, double fwhm_mm, std::uint64_t seed = 0);

// Fills g, gx, gy, gz from the reference's (padded) coefficients.
void evaluate_reference(SampleSet& s, const PaddedCoefficients& ref);

// d(ref voxel position)/d q_k at q = 0 for the update Q(q) applied in world space:
// rows are 3x4 maps N_k = (M^-1 dQ/dq_k M)[0:3, :] acting on (x, y, z, 1).
std::vector<Eigen::Matrix<double, 3, 4>> rigid_point_derivatives(const Mat4& ref_vox2world,
                                                                 const std::vector<int>& params);

// Jacobian of the reference model with respect to the fitted parameters, row-major
// (size() x params.size()): J_k(x) = grad g(x) . N_k (x, 1).
std::vector<double> rigid_jacobian(const SampleSet& s, const Mat4& ref_vox2world,
                                   const std::vector<int>& params);

// SPM's point selection: repeatedly drop the tenth of the points that contribute least
// to det([J g]^T [J g]) until that determinant falls to `quality` of its starting value.
// Keeps s and jac in step. Deterministic (stable ordering).
void select_by_quality(SampleSet& s, std::vector<double>& jac, int nparams, double quality);

}  // namespace realign
