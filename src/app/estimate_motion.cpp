#include "realign/app/estimate_motion.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "realign/app/distribute.hpp"
#include "realign/app/progress.hpp"
#include "realign/core/estimate.hpp"
#include "realign/core/metrics.hpp"

namespace realign {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The reference's sample points, values and Jacobian, identical on every rank; with
// --split points each rank sums its share of the points and MPI adds them.
FrameFitter make_fitter(SampleSet points, const Grid& grid, bool select, const Options& opt) {
  const EstimateOptions& est = opt.estimate;
  const std::vector<int> params = fitted_parameters(grid);
  std::vector<double> jac = rigid_jacobian(points, grid.vox2world, params);
  if (select) select_by_quality(points, jac, static_cast<int>(params.size()), est.quality);
  FrameFitter fitter(std::move(points), std::move(jac), params, grid, est);
  if (opt.split == Split::Points && mpi_size() > 1) {
    const auto [b, e] = block_range(static_cast<int>(fitter.chunks()), mpi_size(), mpi_rank());
    fitter.set_chunk_range(b, e, [](std::vector<double>& v) { allreduce_sum(v); });
  }
  return fitter;
}

// The mean of the moved frames (non-steady-state frames left out) and its gradient at the
// sample points, summed where the frames are fitted and added over ranks. Its sums are
// exact in any order, so frames are added as the first pass fits them.
struct MeanSums {
  SampleSet mean;
  MeanAtPoints acc;
  int skip = -1, nonsteady = 0;
  bool here = false;  // whether this rank adds frames (with --split points only rank 0)

  void add(const FrameFitter& fitter, const PaddedCoefficients* coef, const Grid& grid,
           const FrameFit& fit, int f) {
    if (!here || f < nonsteady) return;
    if (f == skip)
      acc.add_reference(mean);
    else
      acc.add_frame(mean, *coef, grid, fitter, fit);
  }
  SampleSet result() {
    for (double* b : acc.buffers()) allreduce_sum(b, mean.size());
    acc.finish(mean);
    return std::move(mean);
  }
};

// The frames this rank fits, with the fits of one pass, all starting from the identity or
// from the previous pass. `skip` (the first-pass reference) stays put. Each pass reads and
// smooths the frames afresh: keeping their coefficients would cost more memory than the
// series itself.
struct Fitting {
  const LocalFrames& local;
  const EstimateOptions& est;
  std::vector<FrameFit> fits;
  double progress_scale = 1.0;  // a rank with a block holds about 1/size of the frames

  void pass(const FrameFitter& fitter, const char* stage, int skip, MeanSums* sums) {
    Progress progress(stage, local.fit_end - local.fit_begin, progress_scale);
    std::vector<float> frame(local.grid.voxels());
    for (int f = local.fit_begin; f < local.fit_end; ++f) {
      FrameFit& fit = fits[f - local.fit_begin];
      if (f == skip) {
        fit.converged = true;
        if (sums) sums->add(fitter, nullptr, local.grid, fit, f);
      } else {
        local.read(f, frame.data());
        const PaddedCoefficients coef = smoothed_coefficients(frame.data(), local.grid, est);
        fit = fitter.fit(coef, local.grid, fit.correction);
        if (sums) sums->add(fitter, &coef, local.grid, fit, f);
      }
      progress.step();
    }
  }
};

// This rank's fits, in the order of its frames.
std::vector<FrameFit> fit_frames(const RunPlan& plan, const LocalFrames& local,
                                 const Options& opt) {
  const auto t0 = Clock::now();
  const EstimateOptions& est = opt.estimate;
  SampleSet points = sample_grid(local.grid, est.sep_mm, est.fwhm_mm);
  evaluate_reference(points, smoothed_coefficients(plan.reference_volume.data(), local.grid, est));
  const FrameFitter fitter = make_fitter(std::move(points), local.grid, local.frames > 2, opt);
  spdlog::debug("{} sample points after quality selection, {:.3f} s; {} OpenMP threads",
                fitter.points().size(), since(t0), omp_get_max_threads());
  Fitting fitting{local, est, std::vector<FrameFit>(local.fit_end - local.fit_begin),
                  opt.split == Split::Points ? 1.0 : mpi_size()};
  const bool two_pass = plan.reference.kind == ReferenceChoice::Mean;
  // The first pass leaves the reference frame itself at the identity (it is the target).
  const int skip = plan.reference.kind == ReferenceChoice::File ? -1 : plan.reference.frame;
  MeanSums sums;
  if (two_pass) {
    sums.mean = fitter.points();
    sums.acc.reset(sums.mean);
    sums.skip = skip;
    sums.nonsteady = plan.nonsteady;
    sums.here = opt.split == Split::Frames || mpi_rank() == 0;
  }
  fitting.pass(fitter, two_pass ? "estimating, pass 1 of 2" : "estimating", skip,
               two_pass ? &sums : nullptr);
  if (two_pass) {
    const FrameFitter mean_fitter = make_fitter(sums.result(), local.grid, false, opt);
    spdlog::debug("mean reference ready, {:.3f} s", since(t0));
    fitting.pass(mean_fitter, "estimating, pass 2 of 2", -1, nullptr);
  }
  spdlog::debug("estimation done, {:.3f} s", since(t0));
  return std::move(fitting.fits);
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

MotionEstimate estimate_motion(const RunPlan& plan, const LocalFrames& local, const Options& opt) {
  const std::vector<FrameFit> fits = fit_frames(plan, local, opt);
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
