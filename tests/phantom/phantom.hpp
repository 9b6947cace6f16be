// Synthetic moving-head fMRI series with known motion, for testing realignment.
//
// Convention (it defines the truth): truth[n] is the SPM rp row of frame n. With
// Q_n = rigid_matrix(truth[n]), the intensity of frame n at world point x (RAS mm) is
// head(Q_n * x), where head() is the analytic head in the world of frame 0
// (phantom_head_value). Frame 0 has truth all zeros and shows head(x) itself, and
// realigning frame n to frame 0 means its corrected vox2world is Q_n * vox2world.
//
// Each voxel is the mean of head() over a 3x3x3 grid of sub-voxel points (at -1/3, 0,
// +1/3 of a voxel along each axis), so frames are rendered directly from the analytic
// model and carry no resampling error.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "realign/core/metrics.hpp"
#include "realign/core/rigid.hpp"
#include "realign/core/volume.hpp"

namespace realign {

struct PhantomSpec {
  std::array<int, 3> dim{64, 64, 34};
  std::array<double, 3> voxel_mm{3.0, 3.0, 3.5};
  int frames = 40;
  // Motion is scaled so that the largest |tx|,|ty|,|tz| over all frames equals
  // max_trans_mm and the largest |pitch|,|roll|,|yaw| equals max_rot_deg.
  double max_trans_mm = 2.0;
  double max_rot_deg = 2.0;
  int spikes = 3;       // isolated frames (never frame 0) displaced by a sudden jump
  double noise = 0.01;  // Gaussian noise sd as a fraction of the mean in-head signal
  double tr_s = 2.0;
  bool oblique = false;  // tilt the voxel grid (rotated vox2world) to exercise headers
  unsigned seed = 1;     // motion and noise; the head anatomy is fixed for a geometry
};

struct Phantom {
  Series series;                   // frames of the moving head, float
  std::vector<RigidParams> truth;  // per frame, rp convention (row 0 is all zeros)
  double noise_sd = 0.0;           // sd of the added noise, in intensity units
};

// The voxel grid of a spec: the grid centre is at world (2, -5, 8) mm, and when
// spec.oblique the axes are tilted by 12 degrees about x and -10 degrees about y.
Grid phantom_grid(const PhantomSpec& spec);

// head(x): the noiseless intensity of frame 0 at world point x (RAS mm). The head is
// an ellipsoid aligned with the grid and sized to its field of view; about 500-1000
// inside, 0 well outside.
double phantom_head_value(const PhantomSpec& spec, const Vec3& world_mm);

// Whether x lies inside the head surface of frame 0 (the logistic edge above 1/2).
bool phantom_inside_head(const PhantomSpec& spec, const Vec3& world_mm);

// Deterministic for a given spec, independent of the OpenMP thread count.
// The noise sd is spec.noise times the mean of the noiseless frame 0 over the voxels
// whose centre is inside the head. Throws std::invalid_argument on a bad spec.
Phantom make_phantom(const PhantomSpec& spec);

// The motion of a phantom: smooth drift and slow oscillation per parameter, then
// `spikes` isolated jumps (never frame 0, nor adjacent ones while that is possible), each
// group scaled so that its largest |component| over the run equals the limit. Row 0 is
// all zeros. Deterministic for a given spec.
struct MotionSpec {
  int frames = 40;
  double max_trans_mm = 2.0;
  double max_rot_deg = 2.0;
  int spikes = 3;
  unsigned seed = 1;
};
std::vector<RigidParams> phantom_motion(const MotionSpec& spec);

// What real acquisitions add to rigid motion, for phantoms made from a real volume. All
// off (zero) by default.
struct RealismSpec {
  // Stationary receive field: a smooth multiplicative field 1 + a f(x), |f| <= 1, fixed in
  // scanner space (it does not move with the head). 0.2 is a +-20% coil profile.
  double receive_field = 0.0;
  // Activation: blobs in the brain whose signal rises by this fraction in the "on"
  // blocks of a boxcar (blocks of `block_frames` frames, off first); they move with the
  // head.
  double activation = 0.0;
  // Task-correlated motion: the boxcar (ramped over two frames, as a head that nods at
  // each block) added to the motion, this many mm of z translation and mm / 50 radians of
  // pitch, on top of the drift and spikes.
  double task_motion_mm = 0.0;
  int block_frames = 10;
  // Non-steady-state: the first `nonsteady_frames` frames brighter by up to
  // `nonsteady_gain` (decreasing towards the steady state), with more gain where the
  // volume is darker (long-T1 tissue recovers last), as before T1 equilibrium.
  int nonsteady_frames = 0;
  double nonsteady_gain = 0.4;
};

// The task boxcar of a realism spec: 1 in "on" blocks, 0 in "off" blocks.
std::vector<double> task_boxcar(int frames, int block_frames);

struct FromVolumeSpec {
  MotionSpec motion;
  RealismSpec realism;
  double noise = 0.01;  // Gaussian noise sd as a fraction of the mean in-head signal
  double tr_s = 2.0;
  // When not empty, the motion itself (rp rows, row 0 all zeros) instead of `motion`'s
  // drift and spikes; `motion.seed` still seeds the noise.
  std::vector<RigidParams> given_motion;
};

// A series made from a real volume (e.g. one frame of an acquired run) on its own grid,
// with the same truth convention as make_phantom: frame n at world point x shows
// source(Q_n * x), where source() is the volume's 5th-degree B-spline interpolant,
// edge-replicated beyond the grid on every axis (so a slab that cuts through the head
// goes on past its first and last slices, as a real head does). The in-head voxels (for
// the noise level) are those of the source above 1/8 of its mean (SPM's spm_global
// rule). Deterministic for a given spec and any thread count.
Phantom make_phantom_from_volume(const Volume& source, const FromVolumeSpec& spec);

// Writes the series as NIfTI with datatype name (uint8, int16, uint16, int32, float32,
// float64) and the truth as an SPM rp text file (one row per frame, "%.10e" columns
// tx ty tz pitch roll yaw). Integer types are rounded and clamped; for uint8 the data
// are first scaled so that the maximum maps to 250, since the head exceeds 255.
// Throws InputError when a file cannot be written.
void write_phantom(const Phantom& p, const std::string& nifti_path, const std::string& rp_path,
                   const std::string& datatype);

// How far estimated parameters are from a phantom's truth: the displacement of the points
// of a sphere (radius_mm, about centre_mm) between the two transforms of each frame, the
// mean of the per-frame means and the max of the per-frame maxima. From frame `from` on,
// with both sets re-based to that frame (0: as written, relative to frame 1), to measure
// the frames after non-steady-state ones among themselves.
Displacement parameter_error(const std::vector<RigidParams>& truth,
                             const std::vector<RigidParams>& estimate, const Vec3& centre_mm,
                             int from = 0, double radius_mm = 50.0);

// The part of the error that follows a task regressor (Freire & Mangin 2001): per
// parameter, the least-squares slope of (estimate - truth) on the demeaned regressor; the
// mean displacement over the sphere of the rigid motion those slopes make, in mm per unit
// of the regressor.
double task_correlated_error(const std::vector<RigidParams>& truth,
                             const std::vector<RigidParams>& estimate,
                             const std::vector<double>& regressor, const Vec3& centre_mm,
                             double radius_mm = 50.0);

}  // namespace realign
