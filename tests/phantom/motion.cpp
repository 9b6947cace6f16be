// The motion of a phantom: drift, oscillation and spikes, scaled to the limits.
#include <algorithm>
#include <cmath>
#include <random>

#include "phantom.hpp"
#include "phantom_random.hpp"

namespace realign {
namespace {

using phantom_random::uniform;
using phantom_random::uniform01;
constexpr double kPi = 3.14159265358979323846;

}  // namespace

std::vector<RigidParams> phantom_motion(const MotionSpec& spec) {
  const int n_frames = spec.frames;
  std::vector<RigidParams> raw(n_frames, RigidParams{0, 0, 0, 0, 0, 0});
  if (n_frames < 2) return raw;
  std::mt19937 g(spec.seed);

  for (int k = 0; k < 6; ++k) {
    const double a = uniform(g, -1.0, 1.0), b = uniform(g, -1.0, 1.0);
    const double c = uniform(g, 0.3, 0.6), f = uniform(g, 0.7, 2.5);
    const double phi = uniform(g, 0.0, 2.0 * kPi);
    for (int n = 0; n < n_frames; ++n) {
      const double s = static_cast<double>(n) / (n_frames - 1);
      raw[n][k] = a * s + b * s * s + c * (std::sin(2.0 * kPi * f * s + phi) - std::sin(phi));
    }
  }
  auto group_max = [&](int first) {
    double m = 0.0;
    for (const auto& p : raw)
      for (int k = first; k < first + 3; ++k) m = std::max(m, std::abs(p[k]));
    return m;
  };
  for (int first : {0, 3}) {  // the smooth part peaks at 1 so spikes stand out from it
    const double m = group_max(first);
    if (m > 0.0)
      for (auto& p : raw)
        for (int k = first; k < first + 3; ++k) p[k] /= m;
  }

  // Spikes avoid the last frame so the return afterwards is visible, and avoid each
  // other's neighbours while that is possible.
  const int lo = 1, hi = n_frames >= 3 ? n_frames - 2 : n_frames - 1;
  const int n_spikes = std::min(spec.spikes, hi - lo + 1);
  std::vector<int> chosen;
  for (int attempt = 0; static_cast<int>(chosen.size()) < n_spikes; ++attempt) {
    const int m = std::min(hi, lo + static_cast<int>(uniform01(g) * (hi - lo + 1)));
    bool ok = std::find(chosen.begin(), chosen.end(), m) == chosen.end();
    if (ok && attempt < 1000)
      for (int c : chosen) ok = ok && std::abs(c - m) > 1;
    if (!ok) continue;
    chosen.push_back(m);
    for (int k = 0; k < 6; ++k) {
      const double sign = uniform01(g) < 0.5 ? -1.0 : 1.0;
      raw[m][k] += sign * uniform(g, 0.6, 1.5);
    }
  }

  const double limit[2] = {spec.max_trans_mm, spec.max_rot_deg * kPi / 180.0};
  for (int grp = 0; grp < 2; ++grp) {
    const int first = 3 * grp;
    const double m = group_max(first);
    const double scale = m > 0.0 ? limit[grp] / m : 0.0;
    for (auto& p : raw)
      for (int k = first; k < first + 3; ++k) p[k] *= scale;
  }
  raw[0] = RigidParams{0, 0, 0, 0, 0, 0};
  return raw;
}

}  // namespace realign
