#include "realign/core/nonsteady.hpp"

#include <algorithm>
#include <cmath>

namespace realign {
namespace {

double median_of(std::vector<double> v) {
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  if (v.size() % 2) return v[mid];
  return 0.5 * (v[mid] + *std::max_element(v.begin(), v.begin() + mid));
}

}  // namespace

int count_nonsteady_frames(const std::vector<double>& global_means) {
  const std::size_t n = std::min(global_means.size(), static_cast<std::size_t>(kNonsteadyWindow));
  if (n < 3) return 0;
  const std::vector<double> window(global_means.begin(), global_means.begin() + n);
  const double median = median_of(window);
  std::vector<double> deviation(n);
  for (std::size_t i = 0; i < n; ++i) deviation[i] = std::fabs(window[i] - median);
  const double mad = std::max(median_of(deviation), 1e-6 * std::fabs(median));
  if (!(mad > 0)) return 0;
  int count = 0;
  while (count < static_cast<int>(n) && window[count] > median &&
         0.6745 * deviation[count] / mad > kNonsteadyZ)
    ++count;
  return count;
}

}  // namespace realign
