#include "realign/rigid.hpp"

#include <algorithm>
#include <cmath>

namespace realign {
namespace {

Mat4 rot_x(double a) {  // R1 (pitch)
  Mat4 r = Mat4::Identity();
  const double c = std::cos(a), s = std::sin(a);
  r(1, 1) = c;
  r(1, 2) = s;
  r(2, 1) = -s;
  r(2, 2) = c;
  return r;
}
Mat4 rot_y(double a) {  // R2 (roll)
  Mat4 r = Mat4::Identity();
  const double c = std::cos(a), s = std::sin(a);
  r(0, 0) = c;
  r(0, 2) = s;
  r(2, 0) = -s;
  r(2, 2) = c;
  return r;
}
Mat4 rot_z(double a) {  // R3 (yaw)
  Mat4 r = Mat4::Identity();
  const double c = std::cos(a), s = std::sin(a);
  r(0, 0) = c;
  r(0, 1) = s;
  r(1, 0) = -s;
  r(1, 1) = c;
  return r;
}
// Derivatives of the single rotations with respect to their angle.
Mat4 drot_x(double a) {
  Mat4 r = Mat4::Zero();
  const double c = std::cos(a), s = std::sin(a);
  r(1, 1) = -s;
  r(1, 2) = c;
  r(2, 1) = -c;
  r(2, 2) = -s;
  return r;
}
Mat4 drot_y(double a) {
  Mat4 r = Mat4::Zero();
  const double c = std::cos(a), s = std::sin(a);
  r(0, 0) = -s;
  r(0, 2) = c;
  r(2, 0) = -c;
  r(2, 2) = -s;
  return r;
}
Mat4 drot_z(double a) {
  Mat4 r = Mat4::Zero();
  const double c = std::cos(a), s = std::sin(a);
  r(0, 0) = -s;
  r(0, 1) = c;
  r(1, 0) = -c;
  r(1, 1) = -s;
  return r;
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
  return translation(q[0], q[1], q[2]) * rot_x(q[3]) * rot_y(q[4]) * rot_z(q[5]);
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
  const Mat4 r1 = rot_x(q[3]), r2 = rot_y(q[4]), r3 = rot_z(q[5]);
  const Mat4 t = translation(q[0], q[1], q[2]);
  const Mat4 rot = r1 * r2 * r3;
  std::array<Mat4, 6> d;
  for (int k = 0; k < 3; ++k) {
    d[k] = Mat4::Zero();
    d[k].block<3, 3>(0, 0).setZero();
    // Only the translation column depends on t, and linearly.
    Mat4 dt = Mat4::Zero();
    dt(k, 3) = 1.0;
    d[k] = dt * rot;
  }
  d[3] = t * drot_x(q[3]) * r2 * r3;
  d[4] = t * r1 * drot_y(q[4]) * r3;
  d[5] = t * r1 * r2 * drot_z(q[5]);
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
