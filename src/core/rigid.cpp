#include "realign/core/rigid.hpp"

#include <algorithm>
#include <cmath>

namespace realign {
namespace {

// A rotation in the plane of axes (p, q) as SPM writes it, [c s; -s c] in rows p and q,
// with `one` on the rest of the diagonal: 1 gives the rotation, and (c, s, one) =
// (-sin, cos, 0) its derivative with respect to the angle.
Mat4 planar(int p, int q, double c, double s, double one) {
  Mat4 r = Mat4::Identity() * one;
  r(p, p) = c;
  r(p, q) = s;
  r(q, p) = -s;
  r(q, q) = c;
  return r;
}
// Axes of pitch (about x), roll (about y) and yaw (about z), in SPM's sign convention.
constexpr int kPlane[3][2] = {{1, 2}, {0, 2}, {0, 1}};
Mat4 rotation(int k, double a) {
  return planar(kPlane[k][0], kPlane[k][1], std::cos(a), std::sin(a), 1.0);
}
Mat4 rotation_derivative(int k, double a) {
  return planar(kPlane[k][0], kPlane[k][1], -std::sin(a), std::cos(a), 0.0);
}
Mat4 translation(double x, double y, double z) {
  Mat4 t = Mat4::Identity();
  t(0, 3) = x;
  t(1, 3) = y;
  t(2, 3) = z;
  return t;
}

}  // namespace

Mat4 rigid_matrix(const RigidParams& q) {
  return translation(q[0], q[1], q[2]) * rotation(0, q[3]) * rotation(1, q[4]) * rotation(2, q[5]);
}

RigidParams rigid_params(const Mat4& m) {
  // R = R1 R2 R3 has R(0,2) = sin(roll), R(1,2) = sin(pitch)cos(roll),
  // R(2,2) = cos(pitch)cos(roll), R(0,1) = cos(roll)sin(yaw), R(0,0) = cos(roll)cos(yaw).
  const Eigen::Matrix3d r = orthonormalise(m).topLeftCorner<3, 3>();
  RigidParams q{m(0, 3), m(1, 3), m(2, 3), 0.0, 0.0, 0.0};
  const double s_roll = std::clamp(r(0, 2), -1.0, 1.0);
  q[4] = std::asin(s_roll);
  const double c_roll = std::cos(q[4]);
  if (c_roll < 1e-9) {
    // Gimbal lock: pitch and yaw are not separable; put it all in yaw.
    q[3] = 0.0;
    q[5] = std::atan2(-r(1, 0), r(1, 1));
  } else {
    q[3] = std::atan2(r(1, 2) / c_roll, r(2, 2) / c_roll);
    q[5] = std::atan2(r(0, 1) / c_roll, r(0, 0) / c_roll);
  }
  return q;
}

std::array<Mat4, 6> rigid_matrix_derivatives(const RigidParams& q) {
  const Mat4 t = translation(q[0], q[1], q[2]);
  const Mat4 r[3] = {rotation(0, q[3]), rotation(1, q[4]), rotation(2, q[5])};
  std::array<Mat4, 6> d;
  for (int k = 0; k < 3; ++k) {
    // Only the translation column depends on t, and linearly.
    d[k] = Mat4::Zero();
    d[k](k, 3) = 1.0;
  }
  d[3] = t * rotation_derivative(0, q[3]) * r[1] * r[2];
  d[4] = t * r[0] * rotation_derivative(1, q[4]) * r[2];
  d[5] = t * r[0] * r[1] * rotation_derivative(2, q[5]);
  return d;
}

Mat4 orthonormalise(const Mat4& m) {
  Eigen::JacobiSVD<Eigen::Matrix3d> svd(m.topLeftCorner<3, 3>(),
                                        Eigen::ComputeFullU | Eigen::ComputeFullV);
  Mat4 out = m;
  out.topLeftCorner<3, 3>() = svd.matrixU() * svd.matrixV().transpose();
  out.row(3) << 0, 0, 0, 1;
  return out;
}

}  // namespace realign
