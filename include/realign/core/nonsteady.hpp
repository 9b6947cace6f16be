// Non-steady-state frames: the first volumes of a run, acquired before the longitudinal
// magnetisation reached equilibrium, are brighter (and of another contrast) than the rest.
#pragma once

#include <vector>

namespace realign {

// How many frames at the start of a run are non-steady-state, from the global mean of
// each frame (fMRIPrep's rule): over the first kNonsteadyWindow frames, the robust z-score
// of each global mean, 0.6745 |m - median| / MAD; the leading frames that are brighter
// than the median with a z-score above kNonsteadyZ are counted, up to the first that is
// not. A flat signal (MAD 0) is measured against 1e-6 of the median instead.
constexpr int kNonsteadyWindow = 50;
constexpr double kNonsteadyZ = 3.5;
int count_nonsteady_frames(const std::vector<double>& global_means);

}  // namespace realign
