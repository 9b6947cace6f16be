// Phantoms made from a real volume: the geometry that synthetic heads lack (a slab that
// cuts through the head, real anatomy and contrast) with motion that is known exactly.
#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "phantom.hpp"
#include "phantom_random.hpp"
#include "realign/core/bspline.hpp"

namespace realign {
namespace {

using phantom_random::gaussian_at;
using phantom_random::uniform01;

// The source's mean over its in-head voxels: those above 1/8 of the global mean.
double in_head_mean(const std::vector<float>& v) {
  double global = 0.0;
  for (float x : v) global += x;
  global /= static_cast<double>(std::max<std::size_t>(1, v.size()));
  double sum = 0.0;
  std::size_t n = 0;
  for (float x : v)
    if (x > global / 8.0) {
      sum += x;
      ++n;
    }
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

// Activation blobs in source voxel coordinates, placed at bright (in-brain) voxels.
struct ActivationBlobs {
  std::vector<Vec3> centres;  // source voxels
  Vec3 inv_two_sigma2_vox;    // 1 / (2 sigma^2) per axis, in voxel units

  double at(const Vec3& y) const {
    double s = 0.0;
    for (const Vec3& c : centres) {
      const Vec3 d = y - c;
      s += std::exp(-(d.cwiseProduct(d)).dot(inv_two_sigma2_vox));
    }
    return std::min(s, 1.0);
  }
};

ActivationBlobs place_blobs(const Volume& src, double level, unsigned seed) {
  constexpr int kBlobs = 8;
  constexpr double kSigmaMm = 5.0;
  ActivationBlobs b;
  const Vec3 vox = src.grid.voxel_size_mm();
  for (int a = 0; a < 3; ++a) b.inv_two_sigma2_vox[a] = vox[a] * vox[a] / (2 * kSigmaMm * kSigmaMm);
  std::mt19937 g(seed ^ 0x5A17u);
  const auto& d = src.grid.dim;
  for (int tries = 0; tries < 100000 && static_cast<int>(b.centres.size()) < kBlobs; ++tries) {
    const int i = std::min(d[0] - 1, static_cast<int>(uniform01(g) * d[0]));
    const int j = std::min(d[1] - 1, static_cast<int>(uniform01(g) * d[1]));
    const int k = std::min(d[2] - 1, static_cast<int>(uniform01(g) * d[2]));
    if (src.data[(static_cast<std::size_t>(k) * d[1] + j) * d[0] + i] > level)
      b.centres.emplace_back(i, j, k);
  }
  return b;
}

// A smooth field over the grid, |f| <= 1, in scanner voxel coordinates: a tilt plus a
// bowl, as a receive coil's profile.
std::vector<float> receive_field(const Grid& grid, double amplitude) {
  const auto& d = grid.dim;
  std::vector<double> f(grid.voxels());
  double peak = 0.0;
  auto unit = [](int i, int n) { return n > 1 ? 2.0 * i / (n - 1) - 1.0 : 0.0; };
  for (int k = 0; k < d[2]; ++k)
    for (int j = 0; j < d[1]; ++j)
      for (int i = 0; i < d[0]; ++i) {
        const double u = unit(i, d[0]), v = unit(j, d[1]), w = unit(k, d[2]);
        const double val =
            0.55 * u - 0.45 * v + 0.35 * w + 0.3 * (u * u + v * v) - 0.2 * u * w - 0.2;
        f[(static_cast<std::size_t>(k) * d[1] + j) * d[0] + i] = val;
        peak = std::max(peak, std::abs(val));
      }
  std::vector<float> field(f.size());
  for (std::size_t v = 0; v < f.size(); ++v)
    field[v] = static_cast<float>(1.0 + amplitude * f[v] / peak);
  return field;
}

// The task-correlated part of the motion: the boxcar ramped over two frames.
std::vector<double> task_motion_profile(const std::vector<double>& box) {
  std::vector<double> p(box.size(), 0.0);
  for (std::size_t n = 1; n < box.size(); ++n) p[n] = 0.5 * (box[n] + box[n - 1]);
  return p;
}

// Gain of non-steady-state frame n (0 from the steady state on).
double nonsteady_gain(const RealismSpec& r, int n) {
  if (n >= r.nonsteady_frames) return 0.0;
  return r.nonsteady_gain * (1.0 - 0.5 * n / std::max(1, r.nonsteady_frames));
}

void validate(const Volume& source, const FromVolumeSpec& s) {
  if (source.data.size() != source.grid.voxels() || source.data.empty())
    throw std::invalid_argument("phantom: the source volume is empty");
  const RealismSpec& r = s.realism;
  if (s.motion.frames < 1) throw std::invalid_argument("phantom: frames must be >= 1");
  if (!(s.noise >= 0.0)) throw std::invalid_argument("phantom: noise must be >= 0");
  if (!(r.receive_field >= 0.0 && r.receive_field < 1.0))
    throw std::invalid_argument("phantom: receive field amplitude must be in [0, 1)");
  if (!(r.activation >= 0.0) || !(r.task_motion_mm >= 0.0) || r.block_frames < 1)
    throw std::invalid_argument("phantom: activation, task motion and block must be >= 0");
  if (r.nonsteady_frames < 0 || !(r.nonsteady_gain >= 0.0))
    throw std::invalid_argument("phantom: non-steady-state frames and gain must be >= 0");
}

}  // namespace

std::vector<double> task_boxcar(int frames, int block_frames) {
  std::vector<double> box(std::max(0, frames), 0.0);
  for (int n = 0; n < frames; ++n) box[n] = (n / std::max(1, block_frames)) % 2 == 1 ? 1.0 : 0.0;
  return box;
}

Phantom make_phantom_from_volume(const Volume& source, const FromVolumeSpec& spec) {
  validate(source, spec);
  const RealismSpec& real = spec.realism;
  Phantom ph;
  ph.truth = spec.given_motion.empty() ? phantom_motion(spec.motion) : spec.given_motion;
  const int frames = static_cast<int>(ph.truth.size());
  const std::vector<double> box = task_boxcar(frames, real.block_frames);
  if (real.task_motion_mm > 0.0) {
    const std::vector<double> nod = task_motion_profile(box);
    for (int n = 0; n < frames; ++n) {
      ph.truth[n][2] += real.task_motion_mm * nod[n];
      ph.truth[n][3] += real.task_motion_mm / 50.0 * nod[n];
    }
  }

  const Grid& grid = source.grid;
  const auto& d = grid.dim;
  std::vector<float> c = source.data;
  bspline_coefficients(c.data(), d, 5);
  const PaddedCoefficients coef = pad_coefficients(c.data(), d, 5);
  const double head_mean = in_head_mean(source.data);
  const ActivationBlobs blobs =
      real.activation > 0.0 ? place_blobs(source, head_mean, spec.motion.seed) : ActivationBlobs{};
  const std::vector<float> field =
      real.receive_field > 0.0 ? receive_field(grid, real.receive_field) : std::vector<float>{};

  Series& s = ph.series;
  s.grid = grid;
  s.frames = frames;
  s.tr_s = spec.tr_s;
  s.data.assign(grid.voxels() * static_cast<std::size_t>(frames), 0.0f);
  ph.noise_sd = spec.noise * head_mean;
  const Mat4 world_to_src = grid.vox2world.inverse();
  auto clamp_axis = [&](double x, int a) { return std::clamp(x, 0.0, d[a] - 1.0); };

  const int jobs = frames * d[2];
#pragma omp parallel for schedule(dynamic, 1)
  for (int job = 0; job < jobs; ++job) {
    const int n = job / d[2], k = job % d[2];
    const Mat4 to_src = world_to_src * rigid_matrix(ph.truth[n]) * grid.vox2world;
    const double act = real.activation * box[n], gain = nonsteady_gain(real, n);
    for (int j = 0; j < d[1]; ++j)
      for (int i = 0; i < d[0]; ++i) {
        const Vec3 y = (to_src * Eigen::Vector4d(i, j, k, 1.0)).head<3>();
        double v =
            padded_value<5>(coef, clamp_axis(y[0], 0), clamp_axis(y[1], 1), clamp_axis(y[2], 2));
        if (act > 0.0) v *= 1.0 + act * blobs.at(y);
        const std::size_t idx = (static_cast<std::size_t>(k) * d[1] + j) * d[0] + i;
        if (!field.empty()) v *= field[idx];
        if (gain > 0.0) v *= 1.0 + gain * std::clamp(1.5 - 0.5 * v / head_mean, 0.5, 1.5);
        if (ph.noise_sd > 0.0) v += ph.noise_sd * gaussian_at(spec.motion.seed, n, idx);
        s.frame(n)[idx] = static_cast<float>(v);
      }
  }
  return ph;
}

}  // namespace realign
