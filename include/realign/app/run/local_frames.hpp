// Stage 2 of a run: which frames each rank works on. No rank holds frames: each reads a
// frame from the input (RunPlan::frames) when it needs it, once per pass.
#pragma once

#include <memory>
#include <vector>

#include "realign/app/platform/distribute.hpp"
#include "realign/app/run/run_options.hpp"
#include "realign/app/run/run_plan.hpp"

namespace realign {

// With --split frames a rank fits the frames dealt to it in turn (dealt_frames); with
// --split points every rank fits every frame (each summing its share of the sample points)
// and reports the fits of its dealt frames. Reslicing deals the frames out too
// (reslice_stream.hpp). Which rank fits a frame changes none of its numbers.
struct LocalFrames {
  Grid grid;
  int frames = 0;  // in the whole run
  FrameSet own;    // the frames whose fits this rank reports
  FrameSet fit;    // the frames this rank fits
  // This rank's block of block_range: the frames it surveys when the run starts.
  int block_begin = 0, block_end = 0;
  const FrameFile* file = nullptr;
  // The sum of the block's input frames, voxel by voxel in frame order, when the report
  // shows the mean before realignment; empty otherwise.
  std::vector<double> input_sum;
  // One process reading a .nii.gz as it goes (FrameFile::inflate_on_demand): the survey of
  // its frames, taken as they are inflated, until finish_reading() completes it.
  std::shared_ptr<struct InputSurvey> pending;

  // Frame f as float (NaN/Inf as 0).
  void read(int f, float* out) const { file->read(f, out); }
};

// Rank `rank` of `size`'s share of the plan's frames (frames dealt in turn; with --split
// points every frame to fit), with no reading: distribute_frames' first step, and with
// size 1 every frame on one process, as `realign follow` holds the volumes it saw.
LocalFrames frames_of(const RunPlan& plan, Split split, int size, int rank);

// Collective. Every rank reads its block once: NaN/Inf voxels are counted, and a series
// without structure (every voxel alike, or all NaN) is refused (RunError on every rank)
// unless the run only applies given transforms. One process reading a .nii.gz as it goes
// surveys the frames as they are inflated instead, and finish_reading() tells the outcome;
// a series without structure whose reference is one of its own frames was refused already,
// by the reference's check, so only with another reference is it finished at once.
LocalFrames distribute_frames(const RunPlan& plan, const RunOptions& opt);

// Every frame read and the input checked to its end (a .nii.gz's last CRC), the survey's
// NaN/Inf count warned about and a series without structure refused, as distribute_frames
// does: before anything is written. Nothing to do when distribute_frames did it all.
void finish_reading(LocalFrames& local, const RunPlan& plan, const RunOptions& opt);

}  // namespace realign
