#include "realign/app/run/input_checks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "realign/app/platform/distribute.hpp"
#include "realign/app/platform/memory.hpp"
#include "realign/core/nonsteady.hpp"

namespace realign {

void check_memory(const RunOptions& opt, const NiftiInfo& input, int ranks_here) {
  MemoryPlan plan;
  plan.frame_bytes = static_cast<std::uint64_t>(input.grid.voxels()) * sizeof(float);
  plan.ranks = mpi_size();
  plan.ranks_here = ranks_here;
  const double need_mb = estimate_node_bytes(plan) / (1024.0 * 1024.0);
  const double have_mb =
      opt.max_memory_mb > 0 ? opt.max_memory_mb : available_bytes() / (1024.0 * 1024.0);
  spdlog::debug("memory: about {:.0f} MB needed on this node, {:.0f} MB available", need_mb,
                have_mb);
  if (have_mb > 0 && need_mb > have_mb)
    throw InputError(opt.input,
                     fmt::format("needs about {:.0f} MB of memory, {:.0f} MB {} "
                                 "(use fewer ranks per node, or --max-memory)",
                                 need_mb, have_mb,
                                 opt.max_memory_mb > 0 ? "allowed by --max-memory" : "available"));
}

void check_fd_filter(const RunOptions& opt, double tr_s) {
  const std::string problem = fd_filter_problem(opt.fd_filter, tr_s);
  if (!problem.empty()) throw UsageError(opt.input + ": " + problem);
}

NonsteadyFrames nonsteady_frames(const RunOptions& opt, const FrameFile& file) {
  const int frames = file.frames();
  std::vector<double> means;
  if (opt.dummy_scans < 0) {
    std::vector<float> frame(file.grid().voxels());
    for (int f = 0; f < std::min(frames, kNonsteadyWindow); ++f) {
      file.read(f, frame.data());
      means.push_back(global_mean(frame.data(), frame.size()));
    }
  }
  return nonsteady_frames(opt, means, frames);
}

double global_mean(const float* v, std::size_t n) {
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += v[i];
  return sum / static_cast<double>(n);
}

NonsteadyFrames nonsteady_frames(const RunOptions& opt, const std::vector<double>& means,
                                 int frames) {
  if (opt.dummy_scans >= frames - 1)
    throw UsageError(
        fmt::format("--dummy-scans {}: {} has {} frames", opt.dummy_scans, opt.input, frames));
  NonsteadyFrames n;
  if (opt.dummy_scans >= 0) {
    n.count = opt.dummy_scans;
    n.given = true;
    return n;
  }
  n.count = std::min(count_nonsteady_frames(means), frames - 2);
  if (n.count > 0) {
    double steady = 0.0;
    for (std::size_t f = n.count; f < means.size(); ++f) steady += means[f];
    steady /= static_cast<double>(means.size() - n.count);
    n.brighter_pct = 100.0 * (means[0] / steady - 1.0);
  }
  return n;
}

void log_nonsteady(const NonsteadyFrames& n, const ReferenceChoice& reference,
                   const std::string& advice) {
  if (n.count == 0) return;
  const std::string frames =
      (n.count == 1 ? std::string("frame 1 is") : fmt::format("frames 1-{} are", n.count)) +
      " non-steady-state " +
      (n.given ? std::string("(--dummy-scans)")
               : fmt::format("(frame 1 {:+.0f}% brighter than the steady state)", n.brighter_pct));
  const bool averaged = reference.kind == ReferenceChoice::Mean || reference.median;
  if (averaged)
    spdlog::info("{}: kept out of the reference and flagged in the confounds{}", frames,
                 n.given ? "" : "; --dummy-scans overrides");
  else if (reference.kind == ReferenceChoice::Frame && reference.frame < n.count)
    spdlog::warn(
        "{}, and the reference, frame {}, is one of them: its contrast is not the run's, which "
        "biases every frame's estimate; {}",
        frames, reference.frame + 1, advice);
  else
    spdlog::info("{}: flagged in the confounds", frames);
}

}  // namespace realign
