#include "realign/app/local_frames.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "realign/app/distribute.hpp"

namespace realign {
namespace {

// With a separate reference file the series itself may still be empty of structure.
void refuse_constant_series(const LocalFrames& local, std::size_t nonfinite, bool applying,
                            const std::string& input) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (float v : local.data) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const double span = max_over_ranks(hi) + max_over_ranks(-lo);
  std::string empty;
  int why = kExitOk;
  if (mpi_rank() == 0 && !(span > 0) && !applying) {
    why = kExitInput;
    empty = input + ": " +
            (nonfinite == local.grid.voxels() * local.frames
                 ? std::string("every voxel is NaN or Inf")
                 : std::string("every voxel has the same value")) +
            ": nothing to realign";
  }
  empty = broadcast_status(empty, &why);
  if (!empty.empty()) throw RunError(empty, why);
}

}  // namespace

LocalFrames distribute_frames(RunPlan& plan, const Options& opt) {
  LocalFrames local;
  local.grid = plan.input.grid;
  local.frames = plan.input.frames;
  const std::size_t nv = local.grid.voxels();
  const auto [b, e] = block_range(local.frames, mpi_size(), mpi_rank());
  local.own_begin = b;
  local.own_end = e;
  const bool everywhere = opt.split == Split::Points;
  local.held_begin = everywhere ? 0 : b;
  local.fit_begin = local.held_begin;
  local.fit_end = everywhere ? local.frames : e;
  std::size_t nonfinite = 0;
  auto load = [&](int f, float* out) { nonfinite += plan.file->read_frames(f, f + 1, out); };
  if (everywhere) {
    local.data.resize(nv * local.frames);
    if (mpi_rank() == 0)
      for (int f = 0; f < local.frames; ++f) load(f, local.frame(f));
    broadcast(local.data);
  } else {
    local.data.resize(nv * (e - b));
    scatter_frames(local.frames, nv, load, local.data.data());
  }
  plan.file.reset();
  refuse_constant_series(local, nonfinite, plan.applying(), opt.input);
  if (nonfinite) spdlog::warn("{}: {} NaN/Inf voxels treated as missing (0)", opt.input, nonfinite);
  spdlog::info("{}: {}x{}x{} voxels, {} frames, TR {} s", opt.input, local.grid.dim[0],
               local.grid.dim[1], local.grid.dim[2], local.frames, plan.input.tr_s);
  return local;
}

}  // namespace realign
