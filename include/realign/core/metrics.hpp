// Motion summary measures: framewise displacement, RMS deviation, displacement
// differences between two parameter sets, and DVARS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "realign/core/motion_record.hpp"
#include "realign/core/rigid.hpp"
#include "realign/core/volume.hpp"

namespace realign {

// Power et al. 2012: |d tx| + |d ty| + |d tz| + radius_mm * (|d pitch| + |d roll| + |d yaw|)
// between consecutive rows. fd[0] is NaN (there is no previous frame; written "n/a").
std::vector<double> framewise_displacement(const std::vector<RigidParams>& rp,
                                           double radius_mm = 50.0);

// Jenkinson 2002: RMS of |(A inv(B) - I) x| over a solid sphere of radius_mm about centre_mm,
// in closed form. a and b are world (mm) affine matrices.
double rms_deviation(const Mat4& a, const Mat4& b, const Vec3& centre_mm, double radius_mm = 80.0);

// rms_deviation between consecutive frames' transforms; rmsd[0] is NaN.
std::vector<double> relative_rms(const std::vector<Mat4>& xfm, const Vec3& centre_mm,
                                 double radius_mm = 80.0);

struct Displacement {
  double mean_mm = 0, max_mm = 0;
};

// Mean and max of |a x - b x| over the points of a 2 mm lattice (one point at the centre)
// that lie inside the sphere of radius_mm about centre_mm.
Displacement displacement_difference(const Mat4& a, const Mat4& b, const Vec3& centre_mm,
                                     double radius_mm = 50.0);

// Per frame n, displacement_difference(rigid_matrix(a[n]), rigid_matrix(b[n])); returns the
// mean of the per-frame means and the max of the per-frame maxima. Sizes must match
// (std::invalid_argument otherwise). Empty runs give zeros.
Displacement run_displacement_difference(const std::vector<RigidParams>& a,
                                         const std::vector<RigidParams>& b, const Vec3& centre_mm,
                                         double radius_mm = 50.0);

// The largest displacement |A x - x| of any point x of the solid sphere of radius_mm about
// centre_mm, for a rigid world matrix A, in closed form: the centre moves by d; on the plane
// normal to the rotation axis, A - I is a rotation scaled by 2 sin(angle / 2), so the worst
// point lies on the sphere's equator and adds that times the radius to d's in-plane part.
double max_sphere_displacement(const Mat4& a, const Vec3& centre_mm, double radius_mm);

// How far a run strays from frame 1: the longest rp translation (vector length) and the
// largest rotation angle (of the rigid matrix's rotation part), with their frames
// (0-based). Beyond kImplausibleTranslationMm or kImplausibleRotationDeg a head in a coil
// cannot have moved: the estimate failed, or the frames are of different acquisitions.
constexpr double kImplausibleTranslationMm = 20.0;
constexpr double kImplausibleRotationDeg = 20.0;
struct MotionExtent {
  double translation_mm = 0.0, rotation_deg = 0.0;
  int translation_frame = 0, rotation_frame = 0;
  bool implausible() const {
    return translation_mm > kImplausibleTranslationMm || rotation_deg > kImplausibleRotationDeg;
  }
};
MotionExtent motion_extent(const std::vector<RigidParams>& rp);

// The record's fd from its rp and, when it asks for a filter (r.fd_filter), fd_filtered;
// throws std::invalid_argument when the filter does not fit r.tr_s (motion_filter.hpp).
void measure_fd(MotionRecord& r);

// A record of one of several runs of a subject (origin_run set: parameters relative to the
// first frame of the subject's first run, SPM's convention) made relative to the run's own
// first frame, as fMRIPrep's confounds are: rp re-based (row 0 exactly zero), FD (and
// filtered FD) recomputed, the offset kept in `offset` and `offset_from`. The matrices (xfm)
// are not changed: the runs stay resliced into one space. Any other record is returned as
// it is.
MotionRecord relative_to_own_run(const MotionRecord& record);

// Whether most of a run moved: FD above the threshold at more than half of the frames after
// the first (FD is undefined there). Such a run is motion more than data.
bool mostly_moving(const std::vector<double>& fd, double threshold_mm);

// DVARS (Power 2012): for frame n > 0, sqrt of the mean over mask voxels of
// (x_n - x_{n-1})^2. Frames are contiguous, `voxels` values each. An empty mask means every
// voxel; otherwise it must have `voxels` entries (nonzero = inside). Voxels that are NaN in
// either frame are skipped; a frame with no usable voxel gets NaN. dvars[0] is NaN.
// DVARS between two frames (the same rules), for callers that stream frames.
double frame_dvars(const float* prev, const float* cur, std::size_t voxels,
                   const std::vector<std::uint8_t>& mask);

// Voxels of a mean image above an eighth of its global mean (the rule of SPM's
// spm_global): the brain for DVARS, without background noise diluting it.
std::vector<std::uint8_t> brain_mask(const std::vector<float>& mean);

std::vector<double> dvars(const float* series, std::size_t voxels, int frames,
                          const std::vector<std::uint8_t>& mask);

}  // namespace realign
