#include "realign/app/run/pipeline.hpp"

#include <omp.h>

#include <chrono>
#include <memory>

#include "realign/app/platform/distribute.hpp"
#include "realign/app/run/common_reference.hpp"
#include "realign/app/run/estimate_motion.hpp"
#include "realign/app/run/reslice_stream.hpp"
#include "realign/app/run/write_outputs.hpp"

namespace realign {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Stages 1 and 2, and the timing and memory every run reports.
template <class Middle>
RunResult run_stages(const RunOptions& opt, Middle&& middle, const SubjectLink& link = {}) {
  const auto t0 = Clock::now();
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  RunPlan plan = share_run(opt, link.given);
  LocalFrames local = distribute_frames(plan, opt);
  RunResult result;
  result.seconds_read = since(t0);
  const auto t_est = Clock::now();
  const MotionEstimate estimate = middle(plan, local);
  finish_reading(local, plan, opt);
  result.record = record_motion(plan, estimate, opt);
  if (link.made) {
    *link.made = first_run_reference(plan, estimate, result.record, local, opt);
    result.record.origin_run = link.made->first_run;
  }
  result.seconds_estimate = since(t_est);
  reslice_and_write(plan, local, opt, result, link.outputs);
  result.seconds_total = since(t0);
  result.series_mb =
      static_cast<double>(local.grid.voxels()) * local.frames * sizeof(float) / (1024.0 * 1024.0);
  result.peak_memory_mb = sum_peak_memory_mb();
  return result;
}

// Collective: every companion of the run (another echo) resliced with its transforms into
// its own output, under outs' temporary names (rank 0), with its sidecar in BIDS.
void reslice_companions(const RunOptions& opt, const std::vector<Mat4>& xfm, OutputSet* outs) {
  for (const Companion& c : opt.companions) {
    const RunPlan plan = share_companion(opt, c, xfm);
    const LocalFrames local = frames_of(plan, Split::Frames, mpi_size(), mpi_rank());
    std::unique_ptr<NiftiWriter> writer;
    if (outs)
      writer = std::make_unique<NiftiWriter>(outs->temp_for(c.output), plan.input.header,
                                             local.grid, local.frames, opt.datatype);
    reslice_and_stream(plan, xfm, local, opt, writer.get());
    if (outs && opt.bids()) write_companion_sidecar(plan.input.tr_s, c, *outs);
  }
}

}  // namespace

void reslice_and_write(const RunPlan& plan, LocalFrames& local, const RunOptions& opt,
                       RunResult& result, OutputSet* shared) {
  const auto t0 = Clock::now();
  auto own = mpi_rank() == 0 && !shared ? std::make_unique<OutputSet>() : nullptr;
  OutputSet* outs = mpi_rank() == 0 ? (shared ? shared : own.get()) : nullptr;
  const std::size_t earlier = outs ? outs->finals().size() : 0;  // a subject's other runs
  try {
    RunImages images;
    // The mean before realignment, for the report, from the frames before they change.
    if (opt.report && !plan.applying()) images.mean_before = input_mean(local);
    double reslice_seconds = 0.0;
    if (opt.reslice) {
      std::unique_ptr<NiftiWriter> writer;
      if (outs)
        writer = std::make_unique<NiftiWriter>(outs->temp_for(plan.paths.image), plan.input.header,
                                               local.grid, local.frames, opt.datatype);
      ResliceOutcome r = reslice_and_stream(plan, result.record.xfm, local, opt, writer.get());
      result.record.dvars = std::move(r.dvars);
      result.record.std_dvars = std::move(r.std_dvars);
      images.mean_after = std::move(r.mean_after);
      images.mean_seen = std::move(r.mean_seen);
      reslice_seconds = r.seconds;
      reslice_companions(opt, result.record.xfm, outs);
    }
    // fMRIPrep needs the head-motion reference with its transforms, resliced or not.
    if (opt.bids() && !plan.applying() && images.mean_seen.empty())
      images.mean_seen = realigned_mean(result.record.xfm, local, opt, 0);
    if (outs) {
      write_outputs(plan, result.record, images, opt, *outs);
      if (own) own->commit();
      result.outputs.assign(outs->finals().begin() + earlier, outs->finals().end());
    }
    result.seconds_reslice = max_over_ranks(reslice_seconds);
    result.seconds_write = std::max(0.0, since(t0) - result.seconds_reslice);
  } catch (const std::exception& e) {
    if (!outs) throw;
    const std::string message = outs->with_final_names(e.what());
    const int status = exit_status_of(e);
    outs->discard();  // removes the temporaries before anything else happens
    if (mpi_size() > 1) abort_all(message, status);
    throw RunError(message, status);
  }
}

RunResult run_realign(const RunOptions& opt, const SubjectLink& link) {
  return run_stages(
      opt,
      [&](const RunPlan& plan, const LocalFrames& local) {
        return estimate_motion(plan, local, opt);
      },
      link);
}

RunResult run_apply(const RunOptions& opt) {
  return run_stages(opt, [](const RunPlan& plan, const LocalFrames&) {
    MotionEstimate given;
    given.corrections = plan.given_xfm;
    return given;
  });
}

}  // namespace realign
