// Rigid transforms in SPM's parameterisation (spm_matrix / spm_imatrix), in RAS mm.
#pragma once

#include <array>

#include "realign/core/volume.hpp"

namespace realign {

// (tx, ty, tz) in mm, then (pitch, roll, yaw) in radians: rotations about x, y, z
// through the world origin. Q = T(t) * R1(pitch) * R2(roll) * R3(yaw).
using RigidParams = std::array<double, 6>;

Mat4 rigid_matrix(const RigidParams& q);

// Inverse of rigid_matrix for a rigid (orthonormal) matrix. Chooses |roll| <= pi/2.
RigidParams rigid_params(const Mat4& m);

// d rigid_matrix(q) / d q_k for k = 0..5, in closed form.
std::array<Mat4, 6> rigid_matrix_derivatives(const RigidParams& q);

// Orthonormalise the rotation part (polar decomposition) so that long chains of
// composed updates stay rigid.
Mat4 orthonormalise(const Mat4& m);

}  // namespace realign
