#include <gtest/gtest.h>

#include <cmath>

#include "phantom.hpp"
#include "realign/core/estimate.hpp"
#include "realign/core/metrics.hpp"
#include "realign/core/rigid.hpp"
#include "realign/core/sampling.hpp"

namespace {

using namespace realign;

// A small noiseless phantom: frame 0 is the reference, later frames moved by known
// amounts.
Phantom small_phantom(double trans_mm, double rot_deg, int frames = 3) {
  PhantomSpec spec;
  spec.dim = {40, 40, 24};
  spec.voxel_mm = {3.0, 3.0, 3.5};
  spec.frames = frames;
  spec.max_trans_mm = trans_mm;
  spec.max_rot_deg = rot_deg;
  spec.spikes = 0;
  spec.noise = 0.0;
  return make_phantom(spec);
}

FrameFitter fitter_for(const Phantom& p, const EstimateOptions& opt, bool select = true) {
  const Grid& grid = p.series.grid;
  const PaddedCoefficients coef = smoothed_coefficients(p.series.frame(0), grid, opt);
  SampleSet s = sample_grid(grid, opt.sep_mm, opt.fwhm_mm);
  evaluate_reference(s, coef);
  const auto params = fitted_parameters(grid);
  std::vector<double> jac = rigid_jacobian(s, grid.vox2world, params);
  if (select) select_by_quality(s, jac, static_cast<int>(params.size()), opt.quality);
  return FrameFitter(std::move(s), std::move(jac), params, grid, opt);
}

TEST(Estimate, JacobianMatchesCentralDifferencesOfTheResidual) {
  const Phantom p = small_phantom(1.0, 1.0, 2);
  EstimateOptions opt;
  const Grid& grid = p.series.grid;
  const PaddedCoefficients coef = smoothed_coefficients(p.series.frame(0), grid, opt);
  SampleSet s = sample_grid(grid, 12.0, opt.fwhm_mm);
  evaluate_reference(s, coef);
  const std::vector<int> params = fitted_parameters(grid);
  const std::vector<double> jac = rigid_jacobian(s, grid.vox2world, params);
  // Residual of the frame (here the reference itself) sampled through the update
  // Q(dq): r(dq) = f(M^-1 Q(dq) M x) - g(x).
  const double h[6] = {1e-4, 1e-4, 1e-4, 1e-6, 1e-6, 1e-6};
  int checked = 0;
  for (std::size_t p_i = 0; p_i < s.size(); ++p_i) {
    if (std::fabs(s.gx[p_i]) + std::fabs(s.gy[p_i]) + std::fabs(s.gz[p_i]) < 1.0) continue;
    const Eigen::Vector4d x(s.x[p_i], s.y[p_i], s.z[p_i], 1.0);
    for (std::size_t k = 0; k < params.size(); ++k) {
      RigidParams a{0, 0, 0, 0, 0, 0}, b{0, 0, 0, 0, 0, 0};
      a[params[k]] = h[params[k]];
      b[params[k]] = -h[params[k]];
      const Eigen::Vector4d ya = grid.vox2world.inverse() * rigid_matrix(a) * grid.vox2world * x;
      const Eigen::Vector4d yb = grid.vox2world.inverse() * rigid_matrix(b) * grid.vox2world * x;
      const double fd =
          (padded_value(coef, ya[0], ya[1], ya[2]) - padded_value(coef, yb[0], yb[1], yb[2])) /
          (2 * h[params[k]]);
      const double analytic = jac[p_i * params.size() + k];
      EXPECT_NEAR(analytic, fd, 1e-4 * std::max(1.0, std::fabs(fd)))
          << "point " << p_i << " parameter " << params[k];
    }
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

TEST(Estimate, RecoversKnownMotionOfANoiselessPhantom) {
  const Phantom p = small_phantom(2.0, 2.0, 4);
  EstimateOptions opt;
  const FrameFitter fitter = fitter_for(p, opt);
  const Grid& grid = p.series.grid;
  for (int f = 1; f < p.series.frames; ++f) {
    const PaddedCoefficients coef = smoothed_coefficients(p.series.frame(f), grid, opt);
    const FrameFit fit = fitter.fit(coef, grid, Mat4::Identity());
    EXPECT_TRUE(fit.converged);
    const Displacement d =
        displacement_difference(fit.correction, rigid_matrix(p.truth[f]), grid.centre_mm(), 50.0);
    EXPECT_LT(d.mean_mm, 0.02) << "frame " << f;
    EXPECT_NEAR(fit.intensity[0], 1.0, 0.01);
  }
}

// The stopping rule must neither stop early on a hard case nor run to the cap on an
// easy one.
TEST(Estimate, HardFramesGetTheIterationsTheyNeed) {
  const Phantom p = small_phantom(8.0, 6.0, 2);
  EstimateOptions opt;
  const FrameFitter fitter = fitter_for(p, opt);
  const Grid& grid = p.series.grid;
  const PaddedCoefficients coef = smoothed_coefficients(p.series.frame(1), grid, opt);
  const FrameFit fit = fitter.fit(coef, grid, Mat4::Identity());
  EXPECT_TRUE(fit.converged);
  EXPECT_GE(fit.iterations, 6);
  EXPECT_LT(fit.iterations, opt.max_iter);
  const Displacement d =
      displacement_difference(fit.correction, rigid_matrix(p.truth[1]), grid.centre_mm(), 50.0);
  EXPECT_LT(d.mean_mm, 0.02);

  // Cut short, the same frame is reported as not converged and is visibly off.
  EstimateOptions capped = opt;
  capped.max_iter = 2;
  const FrameFitter short_fitter = fitter_for(p, capped);
  const FrameFit cut = short_fitter.fit(coef, grid, Mat4::Identity());
  EXPECT_FALSE(cut.converged);
  EXPECT_EQ(cut.iterations, 2);
}

TEST(Estimate, EasyFramesStopEarly) {
  const Phantom p = small_phantom(1.0, 1.0, 2);
  EstimateOptions opt;
  const FrameFitter fitter = fitter_for(p, opt);
  const Grid& grid = p.series.grid;
  const PaddedCoefficients coef = smoothed_coefficients(p.series.frame(0), grid, opt);
  const FrameFit fit = fitter.fit(coef, grid, Mat4::Identity());
  EXPECT_TRUE(fit.converged);
  EXPECT_LE(fit.iterations, 5);
  const RigidParams q = rigid_params(fit.correction);
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(q[k], 0.0, 1e-6);
}

TEST(Estimate, QualitySelectionKeepsTheInformativePoints) {
  const Phantom p = small_phantom(1.0, 1.0, 3);
  EstimateOptions opt;
  const Grid& grid = p.series.grid;
  const PaddedCoefficients coef = smoothed_coefficients(p.series.frame(0), grid, opt);
  SampleSet s = sample_grid(grid, opt.sep_mm, opt.fwhm_mm);
  evaluate_reference(s, coef);
  const auto params = fitted_parameters(grid);
  std::vector<double> jac = rigid_jacobian(s, grid.vox2world, params);
  const std::size_t before = s.size();
  // Information (log det) before and after, computed here independently.
  auto log_det = [&](const SampleSet& set, const std::vector<double>& j) {
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(7, 7);
    for (std::size_t i = 0; i < set.size(); ++i) {
      Eigen::VectorXd v(7);
      for (int k = 0; k < 6; ++k) v[k] = j[i * 6 + k];
      v[6] = set.g[i];
      a += v * v.transpose();
    }
    return std::log(a.determinant());
  };
  const double ld0 = log_det(s, jac);
  select_by_quality(s, jac, 6, 0.9);
  const double ld1 = log_det(s, jac);
  EXPECT_LT(s.size(), before);
  EXPECT_LE(ld1 - ld0, std::log(0.9) + 1e-9);
  EXPECT_GT(ld1 - ld0, std::log(0.9) + std::log(0.5));  // stopped soon after crossing
  // Background points (no signal, no gradient) go first.
  std::size_t background = 0;
  for (std::size_t i = 0; i < s.size(); ++i) background += std::fabs(s.g[i]) < 1.0;
  EXPECT_LT(background, s.size() / 20);
}

}  // namespace

namespace {

// A frame of the small phantom, its intensity changed by a stationary factor (a receive
// field fixed in the scanner, or an artefact), fitted with the given options.
Displacement fit_error(const Phantom& p, int frame, const std::vector<float>& changed,
                       const EstimateOptions& opt, FrameFit* fit_out = nullptr) {
  const FrameFitter fitter = fitter_for(p, opt);
  const Grid& grid = p.series.grid;
  const FrameFit fit =
      fitter.fit(smoothed_coefficients(changed.data(), grid, opt), grid, Mat4::Identity());
  if (fit_out) *fit_out = fit;
  return displacement_difference(fit.correction, rigid_matrix(p.truth[frame]), grid.centre_mm(),
                                 50.0);
}

// The frame times 1 + 0.15 (a tilt plus a bowl) over the grid, fixed in scanner space.
std::vector<float> with_receive_field(const Phantom& p, int frame) {
  const auto& d = p.series.grid.dim;
  std::vector<float> out(p.series.frame(frame), p.series.frame(frame) + p.series.grid.voxels());
  for (int k = 0; k < d[2]; ++k)
    for (int j = 0; j < d[1]; ++j)
      for (int i = 0; i < d[0]; ++i) {
        const double u = 2.0 * i / (d[0] - 1) - 1, v = 2.0 * j / (d[1] - 1) - 1,
                     w = 2.0 * k / (d[2] - 1) - 1;
        const double field = 1.0 + 0.15 * (0.6 * u - 0.4 * w + 0.4 * (u * u + v * v) - 0.3);
        out[(static_cast<std::size_t>(k) * d[1] + j) * d[0] + i] *= static_cast<float>(field);
      }
  return out;
}

// A receive field fixed in the scanner multiplies the reference and the frame alike; as
// the head moves through it, the ratio between them is a slow ramp that a global scale
// cannot take up.
TEST(Estimate, LinearIntensityModelTakesUpAStationaryReceiveField) {
  Phantom p = small_phantom(2.0, 2.0, 3);
  for (int f = 0; f < 3; ++f) {
    const std::vector<float> v = with_receive_field(p, f);
    std::copy(v.begin(), v.end(), p.series.frame(f));
  }
  const std::vector<float> frame(p.series.frame(2), p.series.frame(2) + p.series.grid.voxels());
  EstimateOptions global, linear;
  linear.intensity = IntensityModel::Linear;
  FrameFit fit;
  const Displacement g = fit_error(p, 2, frame, global);
  const Displacement l = fit_error(p, 2, frame, linear, &fit);
  std::printf("receive field: global %.4f mm, linear %.4f mm\n", g.mean_mm, l.mean_mm);
  EXPECT_LT(l.mean_mm, 0.01);
  EXPECT_LT(l.mean_mm, 0.5 * g.mean_mm);
  EXPECT_GT(std::fabs(fit.intensity[1]) + std::fabs(fit.intensity[2]) + std::fabs(fit.intensity[3]),
            1e-3);
  const IntensityBasis basis(p.series.grid.dim, IntensityModel::Linear);
  EXPECT_EQ(basis.terms(), 4);
  EXPECT_EQ(IntensityBasis(p.series.grid.dim, IntensityModel::Global).terms(), 1);
}

// What motion cannot explain (here a bright blob, 30% of the head's signal, in the frame
// only) pulls a least-squares fit; Tukey's biweight gives it much less pull.
TEST(Estimate, RobustWeightsResistWhatIsNotMotion) {
  const Phantom p = small_phantom(1.5, 1.5, 2);
  const Grid& grid = p.series.grid;
  std::vector<float> frame(p.series.frame(1), p.series.frame(1) + grid.voxels());
  const auto& d = grid.dim;
  for (int k = 0; k < d[2]; ++k)
    for (int j = 0; j < d[1]; ++j)
      for (int i = 0; i < d[0]; ++i) {
        const double r2 = (i - 14) * (i - 14) + (j - 24) * (j - 24) + (k - 14) * (k - 14);
        frame[(static_cast<std::size_t>(k) * d[1] + j) * d[0] + i] +=
            static_cast<float>(250.0 * std::exp(-r2 / 8.0));
      }
  EstimateOptions plain, robust;
  robust.robust = true;
  const Displacement dp = fit_error(p, 1, frame, plain);
  const Displacement dr = fit_error(p, 1, frame, robust);
  std::printf("artefact: plain %.4f mm, robust %.4f mm\n", dp.mean_mm, dr.mean_mm);
  EXPECT_LT(dr.mean_mm, 0.5 * dp.mean_mm);
  EXPECT_LT(dr.mean_mm, 0.02);
  // Without the artefact the robust fit is as good as the plain one.
  std::vector<float> clean(p.series.frame(1), p.series.frame(1) + grid.voxels());
  EXPECT_LT(fit_error(p, 1, clean, robust).mean_mm, 0.01);
}

}  // namespace
