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

// What a fitter is made of, frame 0 of p being the reference: its coefficients, the points
// sep_mm apart with their reference values, the parameters fitted and their Jacobian (no
// point dropped by quality yet).
struct Reference {
  PaddedCoefficients coef;
  SampleSet points;
  std::vector<int> params;
  std::vector<double> jac;
};

Reference reference_of(const Phantom& p, const EstimateOptions& opt, double sep_mm) {
  const Grid& grid = p.series.grid;
  Reference r;
  r.coef = smoothed_coefficients(p.series.frame(0), grid, opt);
  r.points = sample_grid(grid, sep_mm, opt.fwhm_mm);
  evaluate_reference(r.points, r.coef);
  r.params = fitted_parameters(grid);
  r.jac = rigid_jacobian(r.points, grid.vox2world, r.params);
  return r;
}

FrameFitter fitter_for(const Phantom& p, const EstimateOptions& opt) {
  Reference r = reference_of(p, opt, opt.sep_mm);
  select_by_quality(r.points, r.jac, static_cast<int>(r.params.size()), opt.quality);
  return FrameFitter(std::move(r.points), std::move(r.jac), r.params, p.series.grid, opt);
}

// A frame's voxels (on p's grid) fitted from no motion by fitter_for's fitter.
FrameFit fit_to_frame0(const Phantom& p, const float* frame, const EstimateOptions& opt) {
  const Grid& grid = p.series.grid;
  return fitter_for(p, opt).fit(smoothed_coefficients(frame, grid, opt), grid, Mat4::Identity());
}

// How far a fit's correction is from frame `frame`'s true motion, within 50 mm of the centre.
Displacement error_of(const FrameFit& fit, const Phantom& p, int frame) {
  return displacement_difference(fit.correction, rigid_matrix(p.truth[frame]),
                                 p.series.grid.centre_mm(), 50.0);
}

TEST(Estimate, JacobianMatchesCentralDifferencesOfTheResidual) {
  const Phantom p = small_phantom(1.0, 1.0, 2);
  const Grid& grid = p.series.grid;
  const Reference r = reference_of(p, EstimateOptions{}, 12.0);
  const PaddedCoefficients& coef = r.coef;
  const SampleSet& s = r.points;
  const std::vector<int>& params = r.params;
  const std::vector<double>& jac = r.jac;
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
  for (int f = 1; f < p.series.frames; ++f) {
    const FrameFit fit = fit_to_frame0(p, p.series.frame(f), EstimateOptions{});
    EXPECT_TRUE(fit.converged);
    EXPECT_LT(error_of(fit, p, f).mean_mm, 0.02) << "frame " << f;
    EXPECT_NEAR(fit.intensity[0], 1.0, 0.01);
  }
}

// The stopping rule must neither stop early on a hard case nor run to the cap on an
// easy one. Stopping early would show as a difference from the same fit run on to a
// tolerance ten thousand times finer.
TEST(Estimate, HardFramesGetTheIterationsTheyNeed) {
  const Phantom p = small_phantom(8.0, 6.0, 2);
  EstimateOptions opt;
  const FrameFit fit = fit_to_frame0(p, p.series.frame(1), opt);
  EXPECT_TRUE(fit.converged);
  EXPECT_GE(fit.iterations, 4);
  EXPECT_LT(fit.iterations, opt.max_iter);
  EXPECT_LT(error_of(fit, p, 1).mean_mm, 0.02);

  EstimateOptions fine = opt;
  fine.tol = opt.tol * 1e-4;
  const FrameFit further = fit_to_frame0(p, p.series.frame(1), fine);
  EXPECT_GT(further.iterations, fit.iterations);
  const Displacement d = displacement_difference(fit.correction, further.correction,
                                                 p.series.grid.centre_mm(), kStopRadiusMm);
  EXPECT_LT(d.max_mm, 10 * opt.tol);

  // Cut short, the same frame is reported as not converged and is visibly off.
  EstimateOptions capped = opt;
  capped.max_iter = 2;
  const FrameFit cut = fit_to_frame0(p, p.series.frame(1), capped);
  EXPECT_FALSE(cut.converged);
  EXPECT_EQ(cut.iterations, 2);
  EXPECT_GT(error_of(cut, p, 1).mean_mm, error_of(fit, p, 1).mean_mm);
}

TEST(Estimate, EasyFramesStopEarly) {
  const Phantom p = small_phantom(1.0, 1.0, 2);
  const FrameFit fit = fit_to_frame0(p, p.series.frame(0), EstimateOptions{});
  EXPECT_TRUE(fit.converged);
  EXPECT_LE(fit.iterations, 5);
  const RigidParams q = rigid_params(fit.correction);
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(q[k], 0.0, 1e-6);
}

TEST(Estimate, QualitySelectionKeepsTheInformativePoints) {
  const Phantom p = small_phantom(1.0, 1.0, 3);
  const EstimateOptions opt;
  Reference r = reference_of(p, opt, opt.sep_mm);
  SampleSet& s = r.points;
  std::vector<double>& jac = r.jac;
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
  const FrameFit fit = fit_to_frame0(p, changed.data(), opt);
  if (fit_out) *fit_out = fit;
  return error_of(fit, p, frame);
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
