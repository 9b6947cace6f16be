// Good time, as FIRMM shows it: how many minutes of a run are usable at each FD threshold,
// and, for a criterion amount of usable data, how much longer to scan at the rate the run
// has given it so far.
#pragma once

#include <limits>
#include <vector>

namespace realign {

// FIRMM's default thresholds (mm) and criterion (minutes of data at or below a threshold).
inline const std::vector<double> kDefaultGoodFdMm = {0.2, 0.3, 0.4};

struct GoodTime {
  double threshold_mm = 0.0;
  int frames = 0;       // the steady-state frames: those after the non-steady-state ones
  int good_frames = 0;  // of those, the ones whose FD is at or below the threshold
  // good_frames x TR, in minutes; NaN when the TR is unknown (0).
  double minutes = std::numeric_limits<double>::quiet_NaN();
  // Further scanning, in minutes, until `minutes` reaches the criterion if the run goes on
  // as it has (good_frames / frames of each further minute good): 0 once reached, +infinity
  // while no frame is good; NaN without a criterion or a TR.
  double further_minutes = std::numeric_limits<double>::quiet_NaN();
  double fraction() const { return frames > 0 ? static_cast<double>(good_frames) / frames : 0.0; }
};

// Per threshold, in the order given. fd[0] is n/a (NaN): frame 1 has no previous frame to
// have moved from, and it counts as good, as XCP-D's censoring keeps it (its FD taken as 0);
// the first `nonsteady` frames count neither as frames nor as good ones (they are not data
// an analysis keeps). criterion_minutes <= 0: no prediction.
std::vector<GoodTime> good_time(const std::vector<double>& fd, int nonsteady, double tr_s,
                                const std::vector<double>& thresholds_mm,
                                double criterion_minutes = 0.0);

}  // namespace realign
