#include "realign/core/good_time.hpp"

#include <algorithm>
#include <cmath>

namespace realign {

std::vector<GoodTime> good_time(const std::vector<double>& fd, int nonsteady, double tr_s,
                                const std::vector<double>& thresholds_mm,
                                double criterion_minutes) {
  const int n = static_cast<int>(fd.size());
  const int first = std::clamp(nonsteady, 0, n);
  std::vector<GoodTime> out;
  for (const double threshold : thresholds_mm) {
    GoodTime g;
    g.threshold_mm = threshold;
    g.frames = n - first;
    for (int f = first; f < n; ++f) g.good_frames += f == 0 || fd[f] <= threshold ? 1 : 0;
    if (tr_s > 0) {
      g.minutes = g.good_frames * tr_s / 60.0;
      if (criterion_minutes > 0) {
        const double remaining = criterion_minutes - g.minutes;
        g.further_minutes = remaining <= 0       ? 0.0
                            : g.good_frames == 0 ? std::numeric_limits<double>::infinity()
                                                 : remaining / g.fraction();
      }
    }
    out.push_back(g);
  }
  return out;
}

}  // namespace realign
