// Stage 2 of a run: the frames move from rank 0's file to the ranks that work on them.
#pragma once

#include <vector>

#include "realign/app/options.hpp"
#include "realign/app/run_plan.hpp"

namespace realign {

// The frames this rank holds, as float. With --split frames a rank holds its block
// [own_begin, own_end) of block_range; with --split points every rank holds every frame
// (and fits them all), but still reslices and sends only its own block.
struct LocalFrames {
  Grid grid;
  int frames = 0;                  // in the whole run
  int held_begin = 0;              // the first frame held here
  int own_begin = 0, own_end = 0;  // the block this rank reslices and reports
  int fit_begin = 0, fit_end = 0;  // the frames this rank fits
  std::vector<float> data;         // held frames, one after another

  float* frame(int f) {
    return data.data() + static_cast<std::size_t>(f - held_begin) * grid.voxels();
  }
  const float* frame(int f) const {
    return data.data() + static_cast<std::size_t>(f - held_begin) * grid.voxels();
  }
};

// Collective. Rank 0 converts each frame just before it leaves, so it never holds the
// whole series beside the file's bytes, and then closes the file. A series without
// structure (every voxel alike, or all NaN) is refused (RunError on every rank) unless
// the run only applies given transforms.
LocalFrames distribute_frames(RunPlan& plan, const Options& opt);

}  // namespace realign
