#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>

#include "phantom.hpp"
#include "phantom_random.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {
namespace {

using phantom_random::gaussian_at;
using phantom_random::uniform;
using phantom_random::uniform01;

constexpr double kPi = 3.14159265358979323846;

// The anatomy uses its own fixed seed so that spec.seed changes only motion and noise,
// and phantoms of the same geometry share one head.
constexpr unsigned kAnatomySeed = 20240611u;
constexpr int kBlobs = 40;

// Intensity levels (arbitrary units, chosen to resemble an EPI brain: 500-1000).
constexpr double kBase = 600.0;
constexpr double kCortexAmp = 250.0;
constexpr double kCortexDepthMm = 6.0;      // centre of the bright shell below the surface
constexpr double kCortexHalfWidthMm = 5.0;  // the shell's bump vanishes beyond this
constexpr double kVentricleAmp = -300.0;
constexpr double kEdgeScaleMm = 1.0;  // logistic scale: 10-90% rise over ~4.4 mm
// exp(-30) * 1000 is far below float resolution, so returning 0 beyond is exact enough.
constexpr double kEdgeCutMm = 30.0 * kEdgeScaleMm;

Eigen::Matrix3d oblique_rotation() {
  const double ax = 12.0 * kPi / 180.0, ay = -10.0 * kPi / 180.0;
  return (Eigen::AngleAxisd(ax, Vec3::UnitX()) * Eigen::AngleAxisd(ay, Vec3::UnitY()))
      .toRotationMatrix();
}

void validate(const PhantomSpec& s) {
  for (int i = 0; i < 3; ++i) {
    if (s.dim[i] < 1) throw std::invalid_argument("phantom: dimensions must be positive");
    if (!(s.voxel_mm[i] > 0.0)) throw std::invalid_argument("phantom: voxel size must be > 0");
  }
  if (s.frames < 1) throw std::invalid_argument("phantom: frames must be >= 1");
  if (!(s.max_trans_mm >= 0.0) || !(s.max_rot_deg >= 0.0))
    throw std::invalid_argument("phantom: motion limits must be >= 0");
  if (s.spikes < 0) throw std::invalid_argument("phantom: spikes must be >= 0");
  if (!(s.noise >= 0.0)) throw std::invalid_argument("phantom: noise must be >= 0");
}

// Compact-support bumps instead of Gaussians: zero exactly beyond their radius, so
// skipping far-away blobs changes nothing and the fast path matches head() bit for bit.
struct Blob {
  Vec3 c;     // centre, head frame, mm
  double r2;  // squared support radius
  double inv_r2;
  double radius;
  double amp;
};

struct Ventricle {
  Vec3 c;
  Vec3 inv_s;  // 1 / semi-axes
};

// The analytic head, evaluated in a head frame u = R^T (x - centre) aligned with the
// grid, so that it fits the field of view whatever the obliquity.
class Head {
 public:
  explicit Head(const PhantomSpec& spec) {
    const Eigen::Matrix3d rot = spec.oblique ? oblique_rotation() : Eigen::Matrix3d::Identity();
    // Semi-axes as fractions of the half field of view leave room for a few mm of motion
    // plus the soft edge, so no frame is cut by the grid boundary.
    const double frac[3] = {0.72, 0.80, 0.72};
    for (int i = 0; i < 3; ++i) {
      semi_[i] = frac[i] * 0.5 * spec.dim[i] * spec.voxel_mm[i];
      inv_semi_[i] = 1.0 / semi_[i];
    }
    min_semi_ = std::min({semi_[0], semi_[1], semi_[2]});
    // Off the grid centre, like a real head, so motion about the head is not about it.
    const Vec3 centre = phantom_grid(spec).centre_mm() + rot * Vec3(1.0, -2.0, 2.0);
    world_to_head_.setIdentity();
    world_to_head_.topLeftCorner<3, 3>() = rot.transpose();
    world_to_head_.topRightCorner<3, 1>() = -rot.transpose() * centre;

    // Lateral-ventricle-like pair: elongated front to back, either side of the midline.
    for (int side = 0; side < 2; ++side) {
      const double sx = side == 0 ? -1.0 : 1.0;
      ventricles_[side].c = Vec3(sx * 0.13 * semi_[0], 0.05 * semi_[1], 0.15 * semi_[2]);
      ventricles_[side].inv_s =
          Vec3(1.0 / (0.09 * semi_[0]), 1.0 / (0.30 * semi_[1]), 1.0 / (0.20 * semi_[2]));
    }

    std::mt19937 g(kAnatomySeed);
    blobs_.reserve(kBlobs);
    for (int b = 0; b < kBlobs; ++b) {
      Vec3 q;
      do {  // uniform in the inner 85% of the ellipsoid
        q = Vec3(uniform(g, -1, 1), uniform(g, -1, 1), uniform(g, -1, 1));
      } while (q.squaredNorm() > 1.0);
      q *= 0.85;
      // Log-uniform sigma gives as many fine as coarse blobs.
      const double sigma = 3.0 * std::exp(uniform01(g) * std::log(5.0));
      const double sign = uniform01(g) < 0.5 ? -1.0 : 1.0;
      const double amp = sign * uniform(g, 60.0, 180.0);
      Blob bl;
      bl.c = Vec3(q[0] * semi_[0], q[1] * semi_[1], q[2] * semi_[2]);
      // (1 - r^2/R^2)^4 with R^2 = 8 sigma^2 has the curvature of exp(-r^2 / 2 sigma^2).
      bl.r2 = 8.0 * sigma * sigma;
      bl.inv_r2 = 1.0 / bl.r2;
      bl.radius = std::sqrt(bl.r2);
      bl.amp = amp;
      blobs_.push_back(bl);
    }
  }

  const Mat4& world_to_head() const { return world_to_head_; }
  const std::vector<Blob>& blobs() const { return blobs_; }

  bool inside(const Vec3& u) const { return normalised_radius2(u) < 1.0; }

  // Evaluates with the blobs listed in idx (all blobs whose support can reach u must be
  // listed, in increasing order, for the result to equal value(u)).
  double value(const Vec3& u, const int* idx, int n_idx) const {
    const double qx = u[0] * inv_semi_[0], qy = u[1] * inv_semi_[1], qz = u[2] * inv_semi_[2];
    const double r = std::sqrt(qx * qx + qy * qy + qz * qz);
    // First-order distance to the surface, (r - 1) / |grad r|: cheap, smooth and exact on
    // the surface, which is all the edge profile needs.
    const double gx = qx * inv_semi_[0], gy = qy * inv_semi_[1], gz = qz * inv_semi_[2];
    const double g = std::sqrt(gx * gx + gy * gy + gz * gz);
    const double d = g > 1e-12 ? (r - 1.0) * r / g : -min_semi_;
    if (d > kEdgeCutMm) return 0.0;
    const double mask = 1.0 / (1.0 + std::exp(d / kEdgeScaleMm));

    double level = kBase;
    const double t = (d + kCortexDepthMm) / kCortexHalfWidthMm;
    if (std::abs(t) < 1.0) {
      const double w = 1.0 - t * t;
      level += kCortexAmp * w * w * w;
    }
    for (const Ventricle& v : ventricles_) {
      const Vec3 e = (u - v.c).cwiseProduct(v.inv_s);
      const double rv2 = e.squaredNorm();
      if (rv2 >= 1.44) continue;
      const double rv = std::sqrt(rv2);
      // Quintic smoothstep from 1 (rv <= 0.8) to 0 (rv >= 1.2): C2 and compact.
      const double s = std::clamp((1.2 - rv) / 0.4, 0.0, 1.0);
      level += kVentricleAmp * s * s * s * (s * (s * 6.0 - 15.0) + 10.0);
    }
    for (int k = 0; k < n_idx; ++k) {
      const Blob& b = blobs_[idx[k]];
      const double r2 = (u - b.c).squaredNorm();
      if (r2 >= b.r2) continue;
      const double w = 1.0 - r2 * b.inv_r2;
      const double w2 = w * w;
      level += b.amp * w2 * w2;
    }
    // A gentle coil-sensitivity-like gradient across the head.
    level *= 1.0 + 0.08 * qx - 0.06 * qy + 0.05 * qz;
    return mask * level;
  }

  double value(const Vec3& u) const { return value(u, all_indices().data(), kBlobs); }

 private:
  double normalised_radius2(const Vec3& u) const {
    const double qx = u[0] * inv_semi_[0], qy = u[1] * inv_semi_[1], qz = u[2] * inv_semi_[2];
    return qx * qx + qy * qy + qz * qz;
  }
  static const std::array<int, kBlobs>& all_indices() {
    static const std::array<int, kBlobs> idx = [] {
      std::array<int, kBlobs> a{};
      for (int i = 0; i < kBlobs; ++i) a[i] = i;
      return a;
    }();
    return idx;
  }

  double semi_[3];
  double inv_semi_[3];
  double min_semi_;
  Mat4 world_to_head_;
  Ventricle ventricles_[2];
  std::vector<Blob> blobs_;
};

Vec3 apply(const Mat4& m, const Vec3& x) {
  return m.topLeftCorner<3, 3>() * x + m.topRightCorner<3, 1>();
}

}  // namespace

Grid phantom_grid(const PhantomSpec& spec) {
  validate(spec);
  const Eigen::Matrix3d rot = spec.oblique ? oblique_rotation() : Eigen::Matrix3d::Identity();
  const Eigen::Matrix3d lin =
      rot * Vec3(spec.voxel_mm[0], spec.voxel_mm[1], spec.voxel_mm[2]).asDiagonal();
  // Real scanners rarely put the field of view centre exactly at the world origin.
  const Vec3 centre(2.0, -5.0, 8.0);
  const Vec3 mid((spec.dim[0] - 1) / 2.0, (spec.dim[1] - 1) / 2.0, (spec.dim[2] - 1) / 2.0);
  Grid grid;
  grid.dim = spec.dim;
  grid.vox2world.setIdentity();
  grid.vox2world.topLeftCorner<3, 3>() = lin;
  grid.vox2world.topRightCorner<3, 1>() = centre - lin * mid;
  return grid;
}

double phantom_head_value(const PhantomSpec& spec, const Vec3& world_mm) {
  const Head head(spec);
  return head.value(apply(head.world_to_head(), world_mm));
}

bool phantom_inside_head(const PhantomSpec& spec, const Vec3& world_mm) {
  const Head head(spec);
  return head.inside(apply(head.world_to_head(), world_mm));
}

Phantom make_phantom(const PhantomSpec& spec) {
  validate(spec);
  const Head head(spec);
  Phantom ph;
  ph.truth =
      phantom_motion({spec.frames, spec.max_trans_mm, spec.max_rot_deg, spec.spikes, spec.seed});
  Series& s = ph.series;
  s.grid = phantom_grid(spec);
  s.frames = spec.frames;
  s.tr_s = spec.tr_s;
  s.data.assign(s.grid.voxels() * static_cast<std::size_t>(spec.frames), 0.0f);

  const int nx = spec.dim[0], ny = spec.dim[1], nz = spec.dim[2];
  std::vector<Mat4> vox2head(spec.frames);
  for (int n = 0; n < spec.frames; ++n)
    vox2head[n] = head.world_to_head() * rigid_matrix(ph.truth[n]) * s.grid.vox2world;
  const std::vector<Blob>& blobs = head.blobs();

  const int jobs = spec.frames * nz;
#pragma omp parallel for schedule(dynamic, 1)
  for (int job = 0; job < jobs; ++job) {
    const int n = job / nz, k = job % nz;
    const Mat4& h = vox2head[n];
    const Eigen::Matrix3d lin = h.topLeftCorner<3, 3>();
    Vec3 off[3][3];  // off[axis][step]: sub-voxel displacement at -1/3, 0, +1/3 voxel
    for (int ax = 0; ax < 3; ++ax)
      for (int st = 0; st < 3; ++st) off[ax][st] = lin.col(ax) * ((st - 1) / 3.0);
    // Any sub-voxel point is within this distance of the voxel centre.
    const double reach = (lin.col(0).norm() + lin.col(1).norm() + lin.col(2).norm()) / 3.0;
    float* out = s.frame(n) + static_cast<std::size_t>(k) * nx * ny;
    int active[kBlobs];
    for (int j = 0; j < ny; ++j) {
      for (int i = 0; i < nx; ++i) {
        const Vec3 c = apply(h, Vec3(i, j, k));
        int n_active = 0;
        for (int b = 0; b < kBlobs; ++b) {
          const double lim = blobs[b].radius + reach;
          if ((c - blobs[b].c).squaredNorm() < lim * lim) active[n_active++] = b;
        }
        double sum = 0.0;
        for (int a2 = 0; a2 < 3; ++a2)
          for (int a1 = 0; a1 < 3; ++a1) {
            const Vec3 c12 = c + off[2][a2] + off[1][a1];
            for (int a0 = 0; a0 < 3; ++a0) sum += head.value(c12 + off[0][a0], active, n_active);
          }
        out[static_cast<std::size_t>(j) * nx + i] = static_cast<float>(sum / 27.0);
      }
    }
  }

  if (spec.noise > 0.0) {
    // Serial sum in voxel order keeps the noise level independent of the thread count.
    const Mat4& to_head = head.world_to_head();
    double total = 0.0;
    std::size_t count = 0;
    const float* f0 = s.frame(0);
    for (int k = 0; k < nz; ++k)
      for (int j = 0; j < ny; ++j)
        for (int i = 0; i < nx; ++i) {
          const Vec3 x = apply(s.grid.vox2world, Vec3(i, j, k));
          if (!head.inside(apply(to_head, x))) continue;
          total += f0[(static_cast<std::size_t>(k) * ny + j) * nx + i];
          ++count;
        }
    ph.noise_sd = count > 0 ? spec.noise * total / static_cast<double>(count) : 0.0;
    const std::size_t per_frame = s.grid.voxels();
    const double sd = ph.noise_sd;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < spec.frames; ++n) {
      float* f = s.frame(n);
      for (std::size_t v = 0; v < per_frame; ++v)
        f[v] = static_cast<float>(f[v] + sd * gaussian_at(spec.seed, n, v));
    }
  }
  return ph;
}

}  // namespace realign
