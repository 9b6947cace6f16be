#include "realign/core/reference.hpp"

#include <algorithm>

namespace realign {

int median_frame(const std::vector<std::vector<float>>& by_frame) {
  const int frames = static_cast<int>(by_frame.size());
  if (frames == 0) return 0;
  const std::size_t n = by_frame[0].size();
  std::vector<float> median(n);
#pragma omp parallel
  {
    std::vector<float> column(frames);
#pragma omp for schedule(static)
    for (long i = 0; i < static_cast<long>(n); ++i) {
      for (int f = 0; f < frames; ++f) column[f] = by_frame[f][i];
      // The lower median for even counts: a value some frame really has.
      std::nth_element(column.begin(), column.begin() + (frames - 1) / 2, column.end());
      median[i] = column[(frames - 1) / 2];
    }
  }
  // Each frame's sum runs in voxel order on one thread, so the choice does not depend on
  // the number of threads.
  std::vector<double> sse(frames, 0.0);
#pragma omp parallel for schedule(static)
  for (int f = 0; f < frames; ++f) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(by_frame[f][i]) - median[i];
      s += d * d;
    }
    sse[f] = s;
  }
  return static_cast<int>(std::min_element(sse.begin(), sse.end()) - sse.begin());
}

}  // namespace realign
