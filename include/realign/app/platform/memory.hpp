// How much memory a run will need and how much this machine (or this batch job) lets it
// have, so that an input too large for the node is refused at once with a message,
// rather than by the kernel's OOM killer halfway through a batch job.
#pragma once

#include <cstdint>

namespace realign {

struct MemoryPlan {
  std::uint64_t frame_bytes = 0;  // one frame as float32
  int ranks = 1;                  // ranks in the job
  int ranks_here = 1;             // ranks on rank 0's node
};

// Peak bytes on rank 0's node. No rank holds the series (frames are read from the file,
// or its inflated copy on disk, when needed): each holds a few frames of work space
// (a frame, its smoothed and padded B-spline coefficients, frames in flight to rank 0),
// rank 0 also the mean image's sums per rank, and every rank a fixed overhead (MPI,
// OpenMP, libraries). Errs on the high side: docs/benchmarks.md has measured peaks.
std::uint64_t estimate_node_bytes(const MemoryPlan& plan);

// What this process may still allocate: the least of the kernel's MemAvailable, a
// cgroup (v2 or v1) memory limit such as a batch scheduler sets, and the address-space
// limit (ulimit -v) less what is already mapped. 0 when nothing can be read.
std::uint64_t available_bytes();

}  // namespace realign
