#include <stdexcept>

#include "phantom.hpp"

namespace realign {

Displacement parameter_error(const std::vector<RigidParams>& truth,
                             const std::vector<RigidParams>& estimate, const Vec3& centre_mm,
                             int from, double radius_mm) {
  if (truth.size() != estimate.size() || from < 0 || from >= static_cast<int>(truth.size()))
    throw std::invalid_argument("parameter_error: the runs differ in length");
  const Mat4 t0 = rigid_matrix(truth[from]).inverse(), e0 = rigid_matrix(estimate[from]).inverse();
  std::vector<RigidParams> t, e;
  for (std::size_t f = from; f < truth.size(); ++f) {
    t.push_back(rigid_params(rigid_matrix(truth[f]) * t0));
    e.push_back(rigid_params(rigid_matrix(estimate[f]) * e0));
  }
  return run_displacement_difference(e, t, centre_mm, radius_mm);
}

double task_correlated_error(const std::vector<RigidParams>& truth,
                             const std::vector<RigidParams>& estimate,
                             const std::vector<double>& regressor, const Vec3& centre_mm,
                             double radius_mm) {
  const std::size_t n = truth.size();
  if (estimate.size() != n || regressor.size() != n)
    throw std::invalid_argument("task_correlated_error: the runs differ in length");
  double mean = 0.0;
  for (double v : regressor) mean += v / n;
  double ss = 0.0;
  for (double v : regressor) ss += (v - mean) * (v - mean);
  if (!(ss > 0)) return 0.0;
  RigidParams slope{};
  for (int k = 0; k < 6; ++k) {
    double s = 0.0;
    for (std::size_t f = 0; f < n; ++f) s += (regressor[f] - mean) * (estimate[f][k] - truth[f][k]);
    slope[k] = s / ss;
  }
  return displacement_difference(rigid_matrix(slope), Mat4::Identity(), centre_mm, radius_mm)
      .mean_mm;
}

}  // namespace realign
