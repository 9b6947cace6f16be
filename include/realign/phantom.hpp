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

#include "realign/rigid.hpp"
#include "realign/volume.hpp"

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

// Writes the series as NIfTI with datatype name (uint8, int16, uint16, int32, float32,
// float64) and the truth as an SPM rp text file (one row per frame, "%.10e" columns
// tx ty tz pitch roll yaw). Integer types are rounded and clamped; for uint8 the data
// are first scaled so that the maximum maps to 250, since the head exceeds 255.
// Throws InputError when a file cannot be written.
void write_phantom(const Phantom& p, const std::string& nifti_path, const std::string& rp_path,
                   const std::string& datatype);

}  // namespace realign
