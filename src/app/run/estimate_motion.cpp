#include "realign/app/run/estimate_motion.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>

#include "realign/app/platform/distribute.hpp"
#include "realign/app/platform/progress.hpp"
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
FrameFitter make_fitter(SampleSet points, const Grid& grid, bool select, const RunOptions& opt) {
  FrameFitter fitter = reference_fitter(std::move(points), grid, select, opt.estimate);
  if (opt.split == Split::Points && mpi_size() > 1) {
    const auto [b, e] = block_range(static_cast<int>(fitter.chunks()), mpi_size(), mpi_rank());
    fitter.set_chunk_range(b, e, [](std::vector<double>& v) { allreduce_sum(v); });
  }
  return fitter;
}

// The first pass fits on every kFirstPassThinning-th sample point. On 16 phantoms from four
// real runs every 2nd point left the final error as it was (0.0035 mm mean), every 4th
// raised it by 3% (docs/benchmarks.md, "The first pass on fewer points").
constexpr std::size_t kFirstPassThinning = 2;

// `fitter` on every kFirstPassThinning-th of its points, with the same Jacobian.
FrameFitter thinned(const FrameFitter& fitter, const Grid& grid, const RunOptions& opt) {
  const std::size_t every = kFirstPassThinning;
  SampleSet points = fitter.points();
  if (every <= 1 || points.size() < 32u * every) return make_fitter(points, grid, false, opt);
  std::vector<std::uint8_t> keep(points.size(), 0);
  for (std::size_t p = 0; p < keep.size(); p += every) keep[p] = 1;
  points.keep(keep);
  return make_fitter(std::move(points), grid, false, opt);
}

// The mean of the moved frames (non-steady-state frames left out) and its gradient at the
// sample points, summed where the frames are fitted and added over ranks. Its sums are
// exact in any order, so frames are added as a pass visits them. The first-pass reference
// comes without coefficients (it is the sample points' own values) unless the frames were
// read again with the receive field divided out.
struct MeanSums {
  SampleSet mean;
  // One accumulator per thread (the threads take whole frames): exact sums, so adding
  // them up at the end gives the same bits however the frames fell to the threads.
  std::vector<MeanAtPoints> parts;
  int skip = -1, nonsteady = 0;
  bool here = false;  // whether this rank adds frames (with --split points only rank 0)

  void start(const SampleSet& points) {
    mean = points;
    parts.assign(static_cast<std::size_t>(omp_get_max_threads()), MeanAtPoints{});
    for (MeanAtPoints& p : parts) p.reset(mean);
  }
  void add(const FrameFitter& fitter, const PaddedCoefficients* coef, const Grid& grid,
           const FrameFit& fit, int f) {
    if (!here || f < nonsteady) return;
    MeanAtPoints& acc = parts[static_cast<std::size_t>(omp_get_thread_num())];
    if (f == skip && coef == nullptr)
      acc.add_reference(mean);
    else
      acc.add_frame(mean, *coef, grid, fitter, fit);
  }
  SampleSet result() {
    MeanAtPoints& total = parts.front();
    for (std::size_t t = 1; t < parts.size(); ++t) {
      const std::vector<double*> from = parts[t].buffers(), to = total.buffers();
      for (std::size_t b = 0; b < to.size(); ++b)
        for (std::size_t p = 0; p < mean.size(); ++p) to[b][p] += from[b][p];
    }
    for (double* b : total.buffers()) allreduce_sum(b, mean.size());
    total.finish(mean);
    return std::move(mean);
  }
};

// The receive coil's profile (--intensity coil): each frame's share of its normal equations,
// taken as pass 1 fits the frame, by the rank that owns the frame; non-steady-state frames
// stay out, as from the mean.
struct FieldSums {
  ReceiveFieldBasis basis;
  int nonsteady = 0;
  FrameSet own_frames;
  std::vector<std::vector<double>> own;

  FieldSums(const LocalFrames& local, int nonsteady_frames)
      : basis(local.grid.dim),
        nonsteady(nonsteady_frames),
        own_frames(local.own),
        own(local.own.count(), std::vector<double>(basis.terms() * (basis.terms() + 1), 0.0)) {}
  void add(const FrameFitter& fitter, const PaddedCoefficients& coef, const Grid& grid,
           const FrameFit& fit, int f) {
    if (f < nonsteady || !own_frames.has(f)) return;
    own[own_frames.index_of(f)] = receive_field_sums(fitter, basis, coef, grid, fit);
  }
};

// The field from the share of every frame `summed` says, added in frame order on every rank
// (the same field for any number of ranks), under a prior scaled by those frames' residual
// variance in the first pass.
std::vector<double> solve_field(const FieldSums& sums, const LocalFrames& local,
                                const std::vector<FrameFit>& fits,
                                const std::function<bool(int)>& summed) {
  std::vector<double> mse;
  for (int i = 0; i < local.own.count(); ++i)
    mse.push_back(fits[local.fit.index_of(local.own.at(i))].mse);
  const std::vector<double> every = allgather_frames(mse, local.own, local.frames);
  int count = 0;
  for (int f = 0; f < local.frames; ++f) count += summed(f) ? 1 : 0;
  double noise_var = 0.0;
  for (int f = 0; f < local.frames; ++f)
    if (summed(f)) noise_var += every[f] / count;
  const int width = sums.basis.terms() * (sums.basis.terms() + 1);
  std::vector<double> total(width, 0.0);
  for (int i = 0; i < width; ++i) {
    std::vector<double> part;
    for (const auto& m : sums.own) part.push_back(m[i]);
    for (double v : allgather_frames(part, sums.own_frames, local.frames)) total[i] += v;
  }
  return solve_receive_field(total, sums.basis, noise_var);
}

// What a pass does with each frame once it is fitted (or, for the first-pass reference,
// without coefficients).
using Visit = std::function<void(const PaddedCoefficients* coef, const FrameFit& fit, int f)>;

// The frames this rank fits, with the fits of one pass, all starting from the identity or
// from the previous pass. `skip` (the first-pass reference) stays put. Each pass reads and
// smooths the frames afresh, with the receive field divided out once it is known: keeping
// their coefficients would cost more memory than the series itself.
//
// The threads take whole frames (`by_frame`), as ranks do: a frame's fit is the same bits on
// any thread (its sums are added in chunk order whoever makes them), and a thread that fits
// a frame alone wastes nothing on sharing one frame's few thousand points. Not with --split
// points: there every iteration is an MPI reduction, which only the main thread may make,
// so the threads share each frame's points instead.
struct Fitting {
  const LocalFrames& local;
  const EstimateOptions& est;
  std::vector<FrameFit> fits;
  double progress_scale = 1.0;  // a rank with a block holds about 1/size of the frames
  bool by_frame = true;
  std::vector<double> inverse_field;  // 1 / B at every voxel, once the field is divided out

  PaddedCoefficients coefficients(int f, std::vector<float>& frame) const {
    local.read(f, frame.data());
    if (!inverse_field.empty()) divide_by_receive_field(frame.data(), frame.data(), inverse_field);
    return smoothed_coefficients(frame.data(), local.grid, est);
  }

  // `each(i, frame)` for every frame this rank fits, on the threads (each with a frame of
  // work space) or in turn; the progress told as they finish. The first error, by frame,
  // is thrown after every thread has stopped.
  template <class Each>
  void for_each_frame(Progress& progress, Each&& each) const {
    for_each_frame(progress, local.fit.count(), std::forward<Each>(each));
  }
  template <class Each>
  void for_each_frame(Progress& progress, int n, Each&& each) const {
    std::exception_ptr error;
    int error_at = n;
#pragma omp parallel if (by_frame)
    {
      std::vector<float> frame(local.grid.voxels());
#pragma omp for schedule(dynamic, 1)
      for (int i = 0; i < n; ++i) {
        try {
          each(i, frame);
        } catch (...) {
#pragma omp critical(realign_frame_error)
          if (i < error_at) {
            error_at = i;
            error = std::current_exception();
          }
        }
#pragma omp critical(realign_progress)
        progress.step();
      }
    }
    if (error) std::rethrow_exception(error);
  }

  void pass(const FrameFitter& fitter, const char* stage, int skip, const Visit& visit) {
    Progress progress(stage, local.fit.count(), progress_scale);
    pass(fitter, progress, skip, visit, [](int) { return true; });
  }

  // The same for the frames `chosen` picks (by frame number), on a progress begun outside.
  void pass(const FrameFitter& fitter, Progress& progress, int skip, const Visit& visit,
            const std::function<bool(int)>& chosen) {
    std::vector<int> picked;
    for (int i = 0; i < local.fit.count(); ++i)
      if (chosen(local.fit.at(i))) picked.push_back(i);
    for_each_frame(progress, static_cast<int>(picked.size()),
                   [&](int k, std::vector<float>& frame) {
                     const int i = picked[k];
                     const int f = local.fit.at(i);
                     FrameFit& fit = fits[i];
                     if (f == skip) {
                       fit.converged = true;
                       if (visit) visit(nullptr, fit, f);
                       return;
                     }
                     const PaddedCoefficients coef = coefficients(f, frame);
                     fit = fitter.fit(coef, local.grid, fit.correction);
                     if (visit) visit(&coef, fit, f);
                   });
  }

  // Every frame read again without fitting (the mean once the field is divided out).
  void revisit(const Visit& visit) {
    Progress quiet("", 0);
    for_each_frame(quiet, [&](int i, std::vector<float>& frame) {
      const int f = local.fit.at(i);
      const PaddedCoefficients coef = coefficients(f, frame);
      visit(&coef, fits[i], f);
    });
  }
};

// The receive field is probed on one frame in kFieldProbeStride first (in runs of at least
// kFieldProbeFrames frames): when those frames already show an intensity change that
// follows the motion kFieldProbeMargin times (in log span) beyond what a coil makes, the
// field is left in without summing the other frames' shares, which would only be thrown
// away. The probed frame's place in each block of kFieldProbeStride turns from block to
// block, so that the probe is spread over the whole run and evenly over any number of ranks
// (dealt frames in turn: with every 4th frame, 2 ranks would leave one rank idle). Fewer
// frames weigh the prior more, which shrinks the span they see (decnef 16.4 against 17.0
// from every frame, studyforrest 8.2 against 10.2, a +-90% phantom field 1.96 against
// 2.05): a span above the margin from the probe is above the limit from every frame. The
// real runs at hand all leave the field in (log spans 1.3 to 17 against ln 3), the
// phantoms with a +-20% field all divide it out.
constexpr int kFieldProbeStride = 4;
constexpr int kFieldProbeFrames = 40;
constexpr double kFieldProbeMargin = 1.5;

// Pass 1 of --ref mean: every frame to the first-pass reference, the mean of the moved frames
// summed on the way, and with --intensity coil the receive field: when it is one a coil can
// make it is divided out and the mean summed again from the divided frames.
// The first pass only places the frames for their mean, which averages out what a pass on
// fewer points gets wrong: it fits on every kFirstPassThinning-th sample point (and the
// receive field, estimated from all the frames together, is summed there too), while the
// mean is taken at every point for the second pass.
std::pair<SampleSet, ReceiveFieldOutcome> first_pass_and_mean(const FrameFitter& fitter,
                                                              Fitting& fitting, int skip,
                                                              const RunPlan& plan,
                                                              const RunOptions& opt) {
  const LocalFrames& local = fitting.local;
  MeanSums sums;
  sums.start(fitter.points());
  sums.skip = skip;
  sums.nonsteady = plan.nonsteady;
  sums.here = opt.split == Split::Frames || mpi_rank() == 0;
  const bool coil = opt.estimate.intensity == IntensityModel::Coil;
  FieldSums field(local, plan.nonsteady);
  const FrameFitter coarse = thinned(fitter, local.grid, opt);
  bool summing = coil;
  const Visit visit = [&](const PaddedCoefficients* coef, const FrameFit& fit, int f) {
    sums.add(fitter, coef, local.grid, fit, f);
    if (summing && coef) field.add(coarse, *coef, local.grid, fit, f);
  };
  const auto every = [](int) { return true; };
  const auto probed = [](int f) {
    return f % kFieldProbeStride == (f / kFieldProbeStride) % kFieldProbeStride;
  };
  const bool probe = coil && local.frames >= kFieldProbeFrames;
  ReceiveFieldOutcome outcome;
  {
    Progress progress("estimating, pass 1 of 2", local.fit.count(), fitting.progress_scale);
    if (probe) {
      fitting.pass(coarse, progress, skip, visit, probed);
      outcome.log_span = receive_field_span(
          field.basis, solve_field(field, local, fitting.fits, probed), local.grid);
      summing = outcome.log_span <= kFieldProbeMargin * kMaxReceiveFieldSpan;
      if (!summing) outcome.every = kFieldProbeStride;
    }
    fitting.pass(coarse, progress, skip, visit, [&](int f) { return !probe || !probed(f); });
  }
  if (!coil) return {sums.result(), outcome};
  std::vector<double> theta;
  if (summing) {
    theta = solve_field(field, local, fitting.fits, every);
    outcome.log_span = receive_field_span(field.basis, theta, local.grid);
  }
  outcome.removed = outcome.log_span <= kMaxReceiveFieldSpan;
  if (mpi_rank() == 0) {
    if (outcome.removed)
      spdlog::info(
          "receive coil profile: found (it varies by a factor of {:.2f} over the volume) and "
          "divided out of every frame before the mean",
          std::exp(outcome.log_span));
    else
      spdlog::info(
          "receive coil profile: none found (the intensity change that follows the motion is "
          "more than a coil makes, so it is left in, as SPM does)");
    if (summing)
      spdlog::debug("receive field: log span {:.3f}; coefficients {:.4g}", outcome.log_span,
                    fmt::join(theta, " "));
    else
      spdlog::debug("receive field: log span {:.3f} on one frame in {}: the rest not summed",
                    outcome.log_span, kFieldProbeStride);
  }
  if (!outcome.removed) return {sums.result(), outcome};
  fitting.inverse_field = inverse_receive_field(local.grid, field.basis, theta);
  MeanSums divided = sums;
  divided.start(fitter.points());
  fitting.revisit([&](const PaddedCoefficients* coef, const FrameFit& fit, int f) {
    divided.add(fitter, coef, local.grid, fit, f);
  });
  return {divided.result(), outcome};
}

// This rank's fits, in the order of its frames, and what became of the receive field.
std::pair<std::vector<FrameFit>, ReceiveFieldOutcome> fit_frames(const RunPlan& plan,
                                                                 const LocalFrames& local,
                                                                 const RunOptions& opt) {
  const auto t0 = Clock::now();
  const EstimateOptions& est = opt.estimate;
  const FrameFitter fitter =
      make_fitter(reference_points(plan.reference_volume.data(), local.grid, est), local.grid,
                  local.frames > 2, opt);
  spdlog::debug("{} sample points after quality selection, {:.3f} s; {} OpenMP threads",
                fitter.points().size(), since(t0), omp_get_max_threads());
  Fitting fitting{local,
                  est,
                  std::vector<FrameFit>(local.fit.count()),
                  opt.split == Split::Points ? 1.0 : mpi_size(),
                  opt.split == Split::Frames || mpi_size() == 1,
                  {}};
  // The first pass leaves the reference frame itself at the identity (it is the target).
  const int skip = plan.reference.kind == ReferenceChoice::File ? -1 : plan.reference.frame;
  if (plan.reference.kind != ReferenceChoice::Mean) {
    fitting.pass(fitter, "estimating", skip, nullptr);
    spdlog::debug("estimation done, {:.3f} s", since(t0));
    return {std::move(fitting.fits), ReceiveFieldOutcome{}};
  }
  auto [mean, field] = first_pass_and_mean(fitter, fitting, skip, plan, opt);
  const FrameFitter mean_fitter = make_fitter(std::move(mean), local.grid, false, opt);
  spdlog::debug("mean reference ready, {:.3f} s", since(t0));
  fitting.pass(mean_fitter, "estimating, pass 2 of 2", -1, nullptr);
  spdlog::debug("estimation done, {:.3f} s", since(t0));
  return {std::move(fitting.fits), field};
}

// A warning (shown even with -q) when the run moved further than a head in a coil can.
void warn_if_implausible(const std::vector<RigidParams>& rp, const std::string& input) {
  const MotionExtent e = motion_extent(rp);
  if (!e.implausible()) return;
  spdlog::warn(
      "{}: implausible motion: a translation of {:.1f} mm (its length, frame {}) and a rotation "
      "of {:.1f} degrees (its angle, frame {}) from frame 1, beyond what a head in a coil can "
      "do ({:g} mm, {:g} degrees): check the estimate and whether the frames belong to one "
      "acquisition",
      input, e.translation_mm, e.translation_frame + 1, e.rotation_deg, e.rotation_frame + 1,
      kImplausibleTranslationMm, kImplausibleRotationDeg);
}

// A warning (shown even with -q) when most of the run moved more than --fd-threshold.
void warn_if_mostly_moving(const MotionRecord& r, const std::string& input) {
  const std::vector<double>& fd = r.censor_fd();
  if (!mostly_moving(fd, r.fd_threshold_mm)) return;
  const auto over =
      std::count_if(fd.begin() + 1, fd.end(), [&](double v) { return v > r.fd_threshold_mm; });
  double mean = 0.0;
  for (std::size_t f = 1; f < fd.size(); ++f) mean += fd[f] / (fd.size() - 1);
  const char* which = r.fd_filter.active() ? "filtered FD" : "FD";
  spdlog::warn(
      "{}: most of the run moved: {} of {} frames have {} above --fd-threshold {:g} mm (mean {} "
      "{:.2f} mm); check the report before using it",
      input, over, fd.size(), which, r.fd_threshold_mm, which, mean);
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

MotionEstimate estimate_motion(const RunPlan& plan, const LocalFrames& local,
                               const RunOptions& opt) {
  const auto [fits, field] = fit_frames(plan, local, opt);
  // Every rank learns every frame's correction (in frame order) from the owners.
  std::vector<Mat4> mine;
  std::vector<int> iters, bad;
  for (int i = 0; i < local.own.count(); ++i) {
    const FrameFit& fit = fits[local.fit.index_of(local.own.at(i))];
    mine.push_back(fit.correction);
    iters.push_back(fit.iterations);
    bad.push_back(fit.overlap_failed ? 2 : (fit.converged ? 0 : 1));
  }
  MotionEstimate out;
  out.receive_field = field;
  out.corrections = allgather_frames(mine, local.own, local.frames);
  out.iterations = allgather_frames(iters, local.own, local.frames);
  const std::vector<int> status = allgather_frames(bad, local.own, local.frames);
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

namespace {

// A later run of a subject: its matrices carried into the common space, its parameters
// relative to the first run's frame 1 there (SPM's convention for several sessions).
void in_common_space(const CommonReference& common, const MotionEstimate& estimate,
                     MotionRecord& r) {
  const Mat4 origin_inv = common.origin.inverse();
  for (const Mat4& correction : estimate.corrections) {
    r.xfm.push_back(common.to_common * correction);
    r.rp.push_back(rigid_params(origin_inv * r.xfm.back()));
  }
  r.origin_run = common.first_run;
}

}  // namespace

MotionRecord record_motion(const RunPlan& plan, const MotionEstimate& estimate,
                           const RunOptions& opt) {
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
  if (plan.common) {
    in_common_space(*plan.common, estimate, r);
  } else {
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
  }
  r.fd_radius_mm = opt.fd_radius_mm;
  r.fd_threshold_mm = opt.fd_threshold_mm;
  r.fd_filter = opt.fd_filter;
  r.good_fd_mm = opt.good_fd_mm;
  measure_fd(r);
  r.rmsd = relative_rms(r.xfm, r.grid.centre_mm(), r.rmsd_radius_mm);
  if (mpi_rank() == 0 && !plan.applying()) {
    warn_if_implausible(r.rp, opt.input);
    warn_if_mostly_moving(r, opt.input);
  }
  return r;
}

}  // namespace realign
