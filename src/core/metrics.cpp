#include "realign/core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "realign/core/motion_filter.hpp"

namespace realign {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kLatticeStepMm = 2.0;

// Lattice offsets from the sphere centre, stored per axis so the inner loop vectorises.
struct Lattice {
  std::vector<double> x, y, z;
  std::size_t size() const { return x.size(); }
};

Lattice make_lattice(double radius_mm) {
  if (!(radius_mm >= 0.0) || !std::isfinite(radius_mm)) {
    throw std::invalid_argument("sphere radius must be finite and >= 0, got " +
                                std::to_string(radius_mm));
  }
  const int n = static_cast<int>(std::floor(radius_mm / kLatticeStepMm));
  // The tolerance keeps points that lie exactly on the surface despite rounding.
  const double r2 = radius_mm * radius_mm * (1.0 + 1e-12);
  Lattice l;
  const std::size_t side = static_cast<std::size_t>(2 * n + 1);
  const std::size_t guess = side * side * side * 11 / 20;  // ball / cube is about pi/6
  l.x.reserve(guess);
  l.y.reserve(guess);
  l.z.reserve(guess);
  for (int k = -n; k <= n; ++k) {
    for (int j = -n; j <= n; ++j) {
      for (int i = -n; i <= n; ++i) {
        const double x = i * kLatticeStepMm, y = j * kLatticeStepMm, z = k * kLatticeStepMm;
        if (x * x + y * y + z * z <= r2) {
          l.x.push_back(x);
          l.y.push_back(y);
          l.z.push_back(z);
        }
      }
    }
  }
  return l;
}

Displacement lattice_displacement(const Lattice& l, const Mat4& a, const Mat4& b,
                                  const Vec3& centre_mm) {
  // a x - b x = D (c + y) + (ta - tb) = D y + e, so only the difference matrix matters.
  const Eigen::Matrix3d d = a.topLeftCorner<3, 3>() - b.topLeftCorner<3, 3>();
  const Vec3 e = d * centre_mm + (a.topRightCorner<3, 1>() - b.topRightCorner<3, 1>());
  const double d00 = d(0, 0), d01 = d(0, 1), d02 = d(0, 2);
  const double d10 = d(1, 0), d11 = d(1, 1), d12 = d(1, 2);
  const double d20 = d(2, 0), d21 = d(2, 1), d22 = d(2, 2);
  const double e0 = e(0), e1 = e(1), e2 = e(2);
  const double* px = l.x.data();
  const double* py = l.y.data();
  const double* pz = l.z.data();
  const std::size_t n = l.size();
  double sum = 0.0, max2 = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = d00 * px[i] + d01 * py[i] + d02 * pz[i] + e0;
    const double v = d10 * px[i] + d11 * py[i] + d12 * pz[i] + e1;
    const double w = d20 * px[i] + d21 * py[i] + d22 * pz[i] + e2;
    const double s2 = u * u + v * v + w * w;
    sum += std::sqrt(s2);
    max2 = std::max(max2, s2);
  }
  Displacement out;
  out.mean_mm = n ? sum / static_cast<double>(n) : 0.0;
  out.max_mm = std::sqrt(max2);
  return out;
}

}  // namespace

std::vector<double> framewise_displacement(const std::vector<RigidParams>& rp, double radius_mm) {
  std::vector<double> fd(rp.size(), kNaN);
  for (std::size_t n = 1; n < rp.size(); ++n) {
    double trans = 0.0, rot = 0.0;
    for (int k = 0; k < 3; ++k) trans += std::abs(rp[n][k] - rp[n - 1][k]);
    for (int k = 3; k < 6; ++k) rot += std::abs(rp[n][k] - rp[n - 1][k]);
    fd[n] = trans + radius_mm * rot;
  }
  return fd;
}

double rms_deviation(const Mat4& a, const Mat4& b, const Vec3& centre_mm, double radius_mm) {
  const Mat4 m = a * b.inverse() - Mat4::Identity();
  const Eigen::Matrix3d m3 = m.topLeftCorner<3, 3>();
  // Moving the origin to the centre turns the translation into the displacement there.
  const Vec3 t = m.topRightCorner<3, 1>() + m3 * centre_mm;
  // For y uniform in a ball of radius r, E[y_i y_j] = delta_ij r^2 / 5, so
  // E|M3 y + t|^2 = r^2/5 trace(M3^T M3) + |t|^2 (the cross term averages to zero).
  const double ms = radius_mm * radius_mm / 5.0 * (m3.transpose() * m3).trace() + t.squaredNorm();
  return std::sqrt(std::max(ms, 0.0));
}

std::vector<double> relative_rms(const std::vector<Mat4>& xfm, const Vec3& centre_mm,
                                 double radius_mm) {
  std::vector<double> out(xfm.size(), kNaN);
  for (std::size_t n = 1; n < xfm.size(); ++n) {
    out[n] = rms_deviation(xfm[n], xfm[n - 1], centre_mm, radius_mm);
  }
  return out;
}

Displacement displacement_difference(const Mat4& a, const Mat4& b, const Vec3& centre_mm,
                                     double radius_mm) {
  return lattice_displacement(make_lattice(radius_mm), a, b, centre_mm);
}

Displacement run_displacement_difference(const std::vector<RigidParams>& a,
                                         const std::vector<RigidParams>& b, const Vec3& centre_mm,
                                         double radius_mm) {
  if (a.size() != b.size()) {
    throw std::invalid_argument("run_displacement_difference: " + std::to_string(a.size()) +
                                " vs " + std::to_string(b.size()) + " frames");
  }
  Displacement out;
  if (a.empty()) return out;
  const Lattice l = make_lattice(radius_mm);
  double sum = 0.0;
  for (std::size_t n = 0; n < a.size(); ++n) {
    const Displacement d =
        lattice_displacement(l, rigid_matrix(a[n]), rigid_matrix(b[n]), centre_mm);
    sum += d.mean_mm;
    out.max_mm = std::max(out.max_mm, d.max_mm);
  }
  out.mean_mm = sum / static_cast<double>(a.size());
  return out;
}

MotionExtent motion_extent(const std::vector<RigidParams>& rp) {
  MotionExtent e;
  for (std::size_t n = 0; n < rp.size(); ++n) {
    const double t = Vec3(rp[n][0], rp[n][1], rp[n][2]).norm();
    // The rotation angle from the trace of the rotation part: 1 + 2 cos(angle).
    const double c = 0.5 * (rigid_matrix(rp[n]).topLeftCorner<3, 3>().trace() - 1.0);
    const double deg = std::acos(std::clamp(c, -1.0, 1.0)) * 180.0 / M_PI;
    if (t > e.translation_mm) {
      e.translation_mm = t;
      e.translation_frame = static_cast<int>(n);
    }
    if (deg > e.rotation_deg) {
      e.rotation_deg = deg;
      e.rotation_frame = static_cast<int>(n);
    }
  }
  return e;
}

void measure_fd(MotionRecord& r) {
  r.fd = framewise_displacement(r.rp, r.fd_radius_mm);
  r.fd_filtered = filtered_fd(r.rp, r.fd_filter, r.tr_s, r.fd_radius_mm);
}

MotionRecord relative_to_own_run(const MotionRecord& record) {
  if (record.origin_run.empty() || record.rp.empty()) return record;
  MotionRecord r = record;
  const Mat4 first_inv = rigid_matrix(record.rp[0]).inverse();
  r.rp[0] = RigidParams{};
  for (std::size_t f = 1; f < r.rp.size(); ++f)
    r.rp[f] = rigid_params(first_inv * rigid_matrix(record.rp[f]));
  measure_fd(r);
  r.offset = record.rp[0];
  r.offset_from = record.origin_run;
  r.origin_run.clear();
  return r;
}

bool mostly_moving(const std::vector<double>& fd, double threshold_mm) {
  if (fd.size() < 2) return false;
  const auto over =
      std::count_if(fd.begin() + 1, fd.end(), [&](double v) { return v > threshold_mm; });
  return 2 * static_cast<std::size_t>(over) > fd.size() - 1;
}

double max_sphere_displacement(const Mat4& a, const Vec3& centre_mm, double radius_mm) {
  const Eigen::Matrix3d b = a.topLeftCorner<3, 3>() - Eigen::Matrix3d::Identity();
  const Vec3 d = b * centre_mm + a.topRightCorner<3, 1>();
  // The rotation axis is the null direction of A - I: its smallest singular vector, which is
  // well defined at any angle (and irrelevant at angle 0, where the scale is 0).
  const Eigen::JacobiSVD<Eigen::Matrix3d> svd(b, Eigen::ComputeFullV);
  const Vec3 axis = svd.matrixV().col(2);
  const double along = d.dot(axis);
  const double across = (d - along * axis).norm();
  const double trace = a.topLeftCorner<3, 3>().trace();
  const double scale = std::sqrt(std::max(0.0, 3.0 - trace));  // 2 sin(angle / 2)
  const double reach = across + scale * radius_mm;
  return std::sqrt(along * along + reach * reach);
}

double frame_dvars(const float* prev, const float* cur, std::size_t voxels,
                   const std::vector<std::uint8_t>& mask) {
  const bool all = mask.empty();
  double sum = 0.0;
  std::size_t count = 0;
  for (std::size_t v = 0; v < voxels; ++v) {
    if (!all && !mask[v]) continue;
    // Differences in double: float intensities can be large and nearly equal.
    const double diff = static_cast<double>(cur[v]) - static_cast<double>(prev[v]);
    if (std::isnan(diff)) continue;
    sum += diff * diff;
    ++count;
  }
  return count ? std::sqrt(sum / static_cast<double>(count)) : kNaN;
}

std::vector<double> dvars(const float* series, std::size_t voxels, int frames,
                          const std::vector<std::uint8_t>& mask) {
  if (frames < 0) throw std::invalid_argument("dvars: negative frame count");
  if (!mask.empty() && mask.size() != voxels) {
    throw std::invalid_argument("dvars: mask has " + std::to_string(mask.size()) +
                                " voxels, series frames have " + std::to_string(voxels));
  }
  std::vector<double> out(static_cast<std::size_t>(frames), kNaN);
  for (int n = 1; n < frames; ++n) {
    const float* cur = series + static_cast<std::size_t>(n) * voxels;
    out[static_cast<std::size_t>(n)] = frame_dvars(cur - voxels, cur, voxels, mask);
  }
  return out;
}

std::vector<std::uint8_t> brain_mask(const std::vector<float>& mean) {
  double sum = 0.0;
  std::size_t n = 0;
  for (float v : mean)
    if (std::isfinite(v)) {
      sum += v;
      ++n;
    }
  const double threshold = n ? sum / static_cast<double>(n) / 8.0 : 0.0;
  std::vector<std::uint8_t> mask(mean.size());
  for (std::size_t i = 0; i < mean.size(); ++i)
    mask[i] = std::isfinite(mean[i]) && mean[i] > threshold;
  return mask;
}

}  // namespace realign
