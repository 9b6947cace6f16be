#include "realign/app/input_checks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "realign/app/distribute.hpp"
#include "realign/app/memory.hpp"
#include "realign/core/nonsteady.hpp"

namespace realign {

void check_memory(const Options& opt, const NiftiInfo& input, int ranks_here) {
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

int nonsteady_frames(const Options& opt, const FrameFile& file) {
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

int nonsteady_frames(const Options& opt, const std::vector<double>& means, int frames) {
  if (opt.dummy_scans >= frames - 1)
    throw UsageError(
        fmt::format("--dummy-scans {}: {} has {} frames", opt.dummy_scans, opt.input, frames));
  if (opt.dummy_scans >= 0) return opt.dummy_scans;
  const int n = std::min(count_nonsteady_frames(means), frames - 2);
  if (n > 0) {
    double steady = 0.0;
    for (std::size_t f = n; f < means.size(); ++f) steady += means[f];
    steady /= static_cast<double>(means.size() - n);
    spdlog::info(
        "frames 1-{} are non-steady-state (frame 1 {:+.0f}% brighter than the steady "
        "state): kept out of the reference; --dummy-scans overrides",
        n, 100.0 * (means[0] / steady - 1.0));
  }
  return n;
}

}  // namespace realign
