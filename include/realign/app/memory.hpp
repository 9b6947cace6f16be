// How much memory a run will need and how much this machine (or this batch job) lets it
// have, so that an input too large for the node is refused at once with a message,
// rather than by the kernel's OOM killer halfway through a batch job.
#pragma once

#include <cstdint>

namespace realign {

struct MemoryPlan {
  std::uint64_t file_bytes = 0;          // the input as rank 0 holds it (inflated)
  std::uint64_t series_bytes = 0;        // every frame as float32
  int ranks = 1;                         // ranks in the job
  int ranks_here = 1;                    // ranks on rank 0's node
  bool every_rank_holds_series = false;  // --split points
};

// Peak bytes on rank 0's node, from what each rank holds: rank 0 the file's bytes, every
// rank its frames as float, their smoothed B-spline coefficients and a fixed overhead
// (MPI, OpenMP, libraries). Errs on the high side: docs/benchmarks.md has measured peaks.
std::uint64_t estimate_node_bytes(const MemoryPlan& plan);

// What this process may still allocate: the least of the kernel's MemAvailable, a
// cgroup (v2 or v1) memory limit such as a batch scheduler sets, and the address-space
// limit (ulimit -v) less what is already mapped. 0 when nothing can be read.
std::uint64_t available_bytes();

}  // namespace realign
