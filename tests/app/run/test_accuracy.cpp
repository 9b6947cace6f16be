// Accuracy against known truth on phantoms with real geometry (issue E): volumes of the
// shared real runs when they are there, a synthetic slab cut through the head otherwise;
// robust estimation against activation; implausible motion flagged. The full sweep over
// runs and seeds is scripts/accuracy.sh (docs/accuracy.md).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "phantom.hpp"
#include "realign/app/run/pipeline.hpp"
#include "realign/core/metrics.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

struct Measured {
  Displacement error;
  double task_mm = 0.0;
  RunResult run;
};

// Writes the phantom, estimates (no images) with `opt`, measures against the truth.
Measured estimate(const Phantom& ph, RunOptions opt, const std::string& tag, int block = 10) {
  const std::string dir = realign::testing::temp_dir(tag);
  write_phantom(ph, dir + "/p.nii", dir + "/truth_rp.txt", "float32");
  opt.input = dir + "/p.nii";
  opt.output = dir + "/r.nii";
  opt.reslice = false;
  Measured m;
  m.run = run_realign(opt);
  const Vec3 centre = ph.series.grid.centre_mm();
  m.error = parameter_error(ph.truth, m.run.record.rp, centre);
  m.task_mm = task_correlated_error(ph.truth, m.run.record.rp,
                                    task_boxcar(static_cast<int>(ph.truth.size()), block), centre);
  return m;
}

FromVolumeSpec spec(unsigned seed, bool realism) {
  FromVolumeSpec s;
  s.motion = {40, 2.5, 2.0, 3, seed};
  s.noise = 0.01;
  if (realism) {
    s.realism.receive_field = 0.2;
    s.realism.activation = 0.03;
    s.realism.task_motion_mm = 0.5;
  }
  return s;
}

// The limits on phantoms made from real runs with 20 slices or more: mean <= 0.008
// mm and max <= 0.025 mm with the defaults, plain and with a receive field, activation and
// task-correlated motion (SPM12 gets 0.010 mean, 0.09 max on such phantoms:
// docs/accuracy.md).
TEST(Accuracy, PhantomsFromRealRuns) {
  int measured = 0;
  for (const char* run : {"rtcloud_faces_run-01_bold", "decnef_sub-1_run-2_bold"}) {
    const Volume source = realign::testing::real_volume(run, 5);
    if (source.data.empty()) continue;
    const Measured plain = estimate(make_phantom_from_volume(source, spec(1, false)), {}, "real");
    const Measured realism = estimate(make_phantom_from_volume(source, spec(6, true)), {}, "rf");
    std::printf("%s: plain %.4f/%.4f, realism %.4f/%.4f mm\n", run, plain.error.mean_mm,
                plain.error.max_mm, realism.error.mean_mm, realism.error.max_mm);
    EXPECT_LE(plain.error.mean_mm, 0.008) << run;
    EXPECT_LE(plain.error.max_mm, 0.025) << run;
    EXPECT_LE(realism.error.mean_mm, 0.008) << run;
    EXPECT_LE(realism.error.max_mm, 0.025) << run;
    ++measured;
  }
  if (measured == 0) GTEST_SKIP() << "no shared real runs";
}

// A synthetic slab under a receive field of `amplitude` fixed in the scanner, estimated with
// the default model and with SPM's (one scale per frame, `--intensity global`).
std::pair<Measured, Measured> with_receive_field(double amplitude, unsigned seed) {
  FromVolumeSpec s = spec(seed, false);
  s.realism.receive_field = amplitude;
  const Phantom ph = make_phantom_from_volume(realign::testing::synthetic_slab(4, 26), s);
  RunOptions global;
  global.estimate.intensity = IntensityModel::Global;
  return {estimate(ph, {}, "coil"), estimate(ph, global, "global")};
}

// A receive field of +-20% fixed in the scanner: SPM's model (one scale per frame) takes
// part of the intensity change that follows the motion for motion; the default divides
// the coil's profile out (its estimated log span near the true one, ln(1.2/0.8) = 0.41 at
// the field's extremes) and the error falls under the limits.
TEST(Accuracy, ReceiveFieldIsDividedOut) {
  const auto [coil, spm] = with_receive_field(0.2, 4);
  const ReceiveFieldOutcome& field = coil.run.record.receive_field;
  std::printf("receive field: log span %.3f; default %.4f/%.4f mm, global %.4f/%.4f mm\n",
              field.log_span, coil.error.mean_mm, coil.error.max_mm, spm.error.mean_mm,
              spm.error.max_mm);
  EXPECT_TRUE(field.removed);
  EXPECT_EQ(field.every, 1);  // the probe on one frame in four left the rest to be summed
  EXPECT_NEAR(field.log_span, 0.41, 0.12);
  EXPECT_FALSE(std::isfinite(spm.run.record.receive_field.log_span));
  EXPECT_LT(coil.error.max_mm, 0.7 * spm.error.max_mm);
  EXPECT_LE(coil.error.mean_mm, 0.008);
  EXPECT_LE(coil.error.max_mm, 0.025);
}

// A field far beyond what a coil makes (+-90%: ln(1.9/0.1) = 2.9 at the extremes, against
// ln 3) is left in as soon as one frame in four shows it 1.5 times beyond, without the
// other frames' shares: the motion is then exactly what the model without a field gives.
TEST(Accuracy, FieldBeyondACoilIsLeftInFromOneFrameInFour) {
  const auto [coil, spm] = with_receive_field(0.9, 5);
  const ReceiveFieldOutcome& field = coil.run.record.receive_field;
  std::printf("receive field: log span %.3f from one frame in %d\n", field.log_span, field.every);
  EXPECT_FALSE(field.removed);
  EXPECT_EQ(field.every, 4);
  EXPECT_GT(field.log_span, 1.5 * std::log(3.0));
  ASSERT_EQ(coil.run.record.rp.size(), spm.run.record.rp.size());
  for (std::size_t f = 0; f < coil.run.record.rp.size(); ++f)
    for (int p = 0; p < 6; ++p)
      EXPECT_EQ(coil.run.record.rp[f][p], spm.run.record.rp[f][p]) << "frame " << f << " " << p;
}

// Activation in task blocks pulls least squares along with the task (Freire & Mangin
// 2001); Tukey's biweight resists it. Measured on a synthetic slab, with 5% activation and
// task-correlated motion of 1 mm: the error that follows the task beyond the true
// task-correlated motion, plain and robust.
TEST(Accuracy, RobustEstimationResistsActivation) {
  FromVolumeSpec s = spec(8, false);
  s.realism.activation = 0.05;
  s.realism.task_motion_mm = 1.0;
  const Phantom ph = make_phantom_from_volume(realign::testing::synthetic_slab(4, 26), s);
  RunOptions robust;
  robust.estimate.robust = true;
  const Measured p = estimate(ph, {}, "plain"), r = estimate(ph, robust, "robust");
  std::printf("activation: plain %.4f mm (task %.4f), robust %.4f mm (task %.4f)\n",
              p.error.mean_mm, p.task_mm, r.error.mean_mm, r.task_mm);
  EXPECT_LT(r.task_mm, 0.6 * p.task_mm);
  EXPECT_LT(r.error.mean_mm, p.error.mean_mm);
}

// A run that moves further than a head in a coil can (here 25 degrees of yaw at once) is
// estimated, warned about even at warning level, and flagged in the report.
TEST(Accuracy, ImplausibleMotionIsFlagged) {
  FromVolumeSpec s = spec(2, false);
  s.given_motion.assign(6, RigidParams{0, 0, 0, 0, 0, 0});
  for (int f = 3; f < 6; ++f) s.given_motion[f][5] = 25.0 * M_PI / 180.0;
  const Phantom ph = make_phantom_from_volume(realign::testing::synthetic_slab(2, 30), s);
  RunOptions opt;
  opt.report = true;
  const realign::testing::LogCapture capture(spdlog::level::warn);
  const Measured m = estimate(ph, opt, "implausible");
  const std::string warnings = capture.text();
  EXPECT_TRUE(motion_extent(m.run.record.rp).implausible());
  EXPECT_NE(warnings.find("implausible motion"), std::string::npos) << warnings;
  const std::string html = realign::testing::slurp(
      fs::path(m.run.outputs.front()).parent_path().string() + "/r_report.html");
  EXPECT_NE(html.find("<tr id=\"plausible\" class=\"flag\">"), std::string::npos);
}

}  // namespace
}  // namespace realign
