#include "realign/app/estimate_motion.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "realign/app/distribute.hpp"
#include "realign/app/progress.hpp"
#include "realign/core/estimate.hpp"
#include "realign/core/metrics.hpp"
#include "realign/core/receive_field.hpp"

namespace realign {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// With --split points each rank sums its share of the points and MPI adds them.
FrameFitter make_fitter(SampleSet points, const Grid& grid, bool select, const Options& opt) {
  FrameFitter fitter = reference_fitter(std::move(points), grid, select, opt.estimate);
  if (opt.split == Split::Points && mpi_size() > 1) {
    const auto [b, e] = block_range(static_cast<int>(fitter.chunks()), mpi_size(), mpi_rank());
    fitter.set_chunk_range(b, e, [](std::vector<double>& v) { allreduce_sum(v); });
  }
  return fitter;
}

// The frames this rank fits, with the fits of one pass, all starting from `start`
// (identity) or from the previous pass. `skip` (the first-pass reference) stays put.
struct Fitting {
  const LocalFrames& local;
  std::vector<PaddedCoefficients> coef;  // smoothed, kept for the second pass
  std::vector<FrameFit> fits;
  double progress_scale = 1.0;  // a rank with a block holds about 1/size of the frames

  void pass(const FrameFitter& fitter, const char* stage, int skip) {
    Progress progress(stage, local.fit_end - local.fit_begin, progress_scale);
    for (int f = local.fit_begin; f < local.fit_end; ++f) {
      FrameFit& fit = fits[f - local.fit_begin];
      if (f == skip)
        fit.converged = true;
      else
        fit = fitter.fit(coef[f - local.fit_begin], local.grid, fit.correction);
      progress.step();
    }
  }
};

// The mean of the moved frames (non-steady-state frames left out) and its gradient at the
// sample points, summed where the frames are and added over ranks.
SampleSet mean_at_points(const FrameFitter& fitter, const Fitting& fitting, int skip, int nonsteady,
                         const Options& opt, bool reference_recomputed = false) {
  SampleSet mean = fitter.points();
  MeanAtPoints acc;
  acc.reset(mean);
  const LocalFrames& local = fitting.local;
  if (opt.split == Split::Frames || mpi_rank() == 0) {
    for (int f = std::max(local.fit_begin, nonsteady); f < local.fit_end; ++f) {
      if (f == skip && !reference_recomputed)
        acc.add_reference(mean);
      else
        acc.add_frame(mean, fitting.coef[f - local.fit_begin], local.grid, fitter,
                      fitting.fits[f - local.fit_begin]);
    }
  }
  for (double* b : acc.buffers()) allreduce_sum(b, mean.size());
  acc.finish(mean);
  return mean;
}

// The receive field shared by every frame, from the fits of a pass: each rank sums its own
// frames' shares, and every rank adds all frames' shares in frame order (the same field
// for any number of ranks). Non-steady-state frames stay out, as from the mean.
std::vector<double> estimate_receive_field(const FrameFitter& fitter, const Fitting& fitting,
                                           const ReceiveFieldBasis& basis, int nonsteady) {
  const LocalFrames& local = fitting.local;
  const int width = basis.terms() * (basis.terms() + 1);
  std::vector<std::vector<double>> mine(local.own_end - local.own_begin,
                                        std::vector<double>(width, 0.0));
#pragma omp parallel for schedule(dynamic, 1)
  for (int f = std::max(local.own_begin, nonsteady); f < local.own_end; ++f)
    mine[f - local.own_begin] = receive_field_sums(fitter, basis, fitting.coef[f - local.fit_begin],
                                                   local.grid, fitting.fits[f - local.fit_begin]);
  std::vector<double> total(width, 0.0), mse;
  for (int f = local.own_begin; f < local.own_end; ++f)
    mse.push_back(fitting.fits[f - local.fit_begin].mse);
  double noise_var = 0.0;
  for (double v : allgather_frames(mse, local.frames)) noise_var += v / local.frames;
  for (int i = 0; i < width; ++i) {
    std::vector<double> part;
    for (const auto& m : mine) part.push_back(m[i]);
    for (double v : allgather_frames(part, local.frames)) total[i] += v;
  }
  return solve_receive_field(total, basis, noise_var);
}

// Every held frame's smoothed coefficients again, from the frame divided by the field.
void divide_out_field(Fitting& fitting, const ReceiveFieldBasis& basis,
                      const std::vector<double>& theta, const EstimateOptions& est) {
  const LocalFrames& local = fitting.local;
  std::vector<float> divided(local.grid.voxels());
  for (int f = local.fit_begin; f < local.fit_end; ++f) {
    divide_by_receive_field(local.frame(f), divided.data(), local.grid, basis, theta);
    fitting.coef[f - local.fit_begin] = smoothed_coefficients(divided.data(), local.grid, est);
  }
}

// The receive coil's profile from pass 1, divided out of every frame's coefficients when it
// is one a coil can make.
ReceiveFieldOutcome remove_receive_field(const FrameFitter& fitter, Fitting& fitting, int nonsteady,
                                         const EstimateOptions& est) {
  const Grid& grid = fitting.local.grid;
  const ReceiveFieldBasis basis(grid.dim);
  const std::vector<double> theta = estimate_receive_field(fitter, fitting, basis, nonsteady);
  ReceiveFieldOutcome out;
  out.log_span = receive_field_span(basis, theta, grid);
  out.removed = out.log_span <= kMaxReceiveFieldSpan;
  if (mpi_rank() == 0)
    spdlog::info("receive field: log span {:.3f} ({}); coefficients {:.4g}", out.log_span,
                 out.removed ? "divided out" : "more than a coil makes: left in",
                 fmt::join(theta, " "));
  if (out.removed) divide_out_field(fitting, basis, theta, est);
  return out;
}

// This rank's fits, in the order of its frames, and what became of the receive field.
std::pair<std::vector<FrameFit>, ReceiveFieldOutcome> fit_frames(const RunPlan& plan,
                                                                 const LocalFrames& local,
                                                                 const Options& opt) {
  const auto t0 = Clock::now();
  const EstimateOptions& est = opt.estimate;
  const FrameFitter fitter =
      make_fitter(reference_points(plan.reference_volume.data(), local.grid, est), local.grid,
                  local.frames > 2, opt);
  spdlog::debug("{} sample points after quality selection, {:.3f} s; {} OpenMP threads",
                fitter.points().size(), since(t0), omp_get_max_threads());
  Fitting fitting{local,
                  {},
                  std::vector<FrameFit>(local.fit_end - local.fit_begin),
                  opt.split == Split::Points ? 1.0 : mpi_size()};
  for (int f = local.fit_begin; f < local.fit_end; ++f)
    fitting.coef.push_back(smoothed_coefficients(local.frame(f), local.grid, est));
  spdlog::debug("smoothed {} frames, {:.3f} s", fitting.coef.size(), since(t0));
  const bool two_pass = plan.reference.kind == ReferenceChoice::Mean;
  // The first pass leaves the reference frame itself at the identity (it is the target).
  const int skip = plan.reference.kind == ReferenceChoice::File ? -1 : plan.reference.frame;
  fitting.pass(fitter, two_pass ? "estimating, pass 1 of 2" : "estimating", skip);
  ReceiveFieldOutcome field;
  if (two_pass && est.intensity == IntensityModel::Coil)
    field = remove_receive_field(fitter, fitting, plan.nonsteady, est);
  if (two_pass) {
    const FrameFitter mean_fitter =
        make_fitter(mean_at_points(fitter, fitting, skip, plan.nonsteady, opt, field.removed),
                    local.grid, false, opt);
    spdlog::debug("mean reference ready, {:.3f} s", since(t0));
    fitting.pass(mean_fitter, "estimating, pass 2 of 2", -1);
  }
  spdlog::debug("estimation done, {:.3f} s", since(t0));
  return {std::move(fitting.fits), field};
}

// A warning (shown even with -q) when the run moved further than a head in a coil can.
void warn_if_implausible(const std::vector<RigidParams>& rp, const std::string& input) {
  const MotionExtent e = motion_extent(rp);
  if (!e.implausible()) return;
  spdlog::warn(
      "{}: implausible motion: {:.1f} mm (frame {}) and {:.1f} degrees (frame {}) from frame 1, "
      "beyond what a head in a coil can do ({:g} mm, {:g} degrees): check the estimate and "
      "whether the frames belong to one acquisition",
      input, e.translation_mm, e.translation_frame + 1, e.rotation_deg, e.rotation_frame + 1,
      kImplausibleTranslationMm, kImplausibleRotationDeg);
}

}  // namespace

SampleSet reference_points(const float* reference, const Grid& grid, const EstimateOptions& est) {
  SampleSet points = sample_grid(grid, est.sep_mm, est.fwhm_mm);
  evaluate_reference(points, smoothed_coefficients(reference, grid, est));
  return points;
}

FrameFitter reference_fitter(SampleSet points, const Grid& grid, bool select,
                             const EstimateOptions& est) {
  const std::vector<int> params = fitted_parameters(grid);
  std::vector<double> jac = rigid_jacobian(points, grid.vox2world, params);
  if (select) select_by_quality(points, jac, static_cast<int>(params.size()), est.quality);
  return FrameFitter(std::move(points), std::move(jac), params, grid, est);
}

MotionEstimate estimate_motion(const RunPlan& plan, const LocalFrames& local, const Options& opt) {
  const auto [fits, field] = fit_frames(plan, local, opt);
  // Every rank learns every frame's correction (in frame order) from the owners.
  std::vector<Mat4> mine;
  std::vector<int> iters, bad;
  for (int f = local.own_begin; f < local.own_end; ++f) {
    const FrameFit& fit = fits[f - local.fit_begin];
    mine.push_back(fit.correction);
    iters.push_back(fit.iterations);
    bad.push_back(fit.overlap_failed ? 2 : (fit.converged ? 0 : 1));
  }
  MotionEstimate out;
  out.receive_field = field;
  out.corrections = allgather_frames(mine, local.frames);
  out.iterations = allgather_frames(iters, local.frames);
  const std::vector<int> status = allgather_frames(bad, local.frames);
  for (int f = 0; f < local.frames; ++f) {
    if (status[f] == 0) continue;
    out.unconverged.push_back(f);
    if (mpi_rank() == 0)
      spdlog::warn("{}: frame {} {}", opt.input, f + 1,
                   status[f] == 2 ? "lost overlap with the reference (insufficient overlap)"
                                  : "did not converge within --max-iter iterations");
  }
  return out;
}

MotionRecord record_motion(const RunPlan& plan, const MotionEstimate& estimate,
                           const Options& opt) {
  MotionRecord r;
  r.input_name = std::filesystem::path(opt.input).filename().string();
  r.grid = plan.input.grid;
  r.tr_s = plan.input.tr_s;
  r.reference = plan.reference_words;
  r.iterations = estimate.iterations;
  r.unconverged = estimate.unconverged;
  r.nonsteady = plan.nonsteady;
  r.nonsteady_given = opt.dummy_scans >= 0;
  r.receive_field = estimate.receive_field;
  // Relative to frame 1 (SPM's rp, and reslicing into frame 1's space), except for a
  // reference file (its own space) and `apply` (as given).
  const bool as_is = plan.applying() || plan.reference.kind == ReferenceChoice::File;
  const Mat4 first_inv = estimate.corrections[0].inverse();
  for (std::size_t f = 0; f < estimate.corrections.size(); ++f) {
    // Frame 1 is the origin of the parameters by definition: exactly zero, not rounding.
    const Mat4 rel = f == 0 ? Mat4::Identity() : Mat4(first_inv * estimate.corrections[f]);
    r.rp.push_back(rigid_params(rel));
    r.xfm.push_back(as_is ? estimate.corrections[f] : rel);
  }
  r.fd_radius_mm = opt.fd_radius_mm;
  r.fd_threshold_mm = opt.fd_threshold_mm;
  r.fd = framewise_displacement(r.rp, r.fd_radius_mm);
  r.rmsd = relative_rms(r.xfm, r.grid.centre_mm(), r.rmsd_radius_mm);
  if (mpi_rank() == 0 && !plan.applying()) warn_if_implausible(r.rp, opt.input);
  return r;
}

}  // namespace realign
