// Stage 4 of a run: the frames are dealt out in turn (frame f to rank f % size); each rank
// reads, reslices and sends its frames one after another, with at most a few in flight,
// and rank 0 writes every frame in order as it comes, so writing overlaps reslicing and
// no rank ever holds more than a few frames. One process with several threads does the
// same with its threads in the ranks' parts (app/run/frame_slots.hpp).
#pragma once

#include <vector>

#include "realign/app/run/local_frames.hpp"
#include "realign/app/run/run_options.hpp"
#include "realign/app/run/run_plan.hpp"
#include "realign/core/reslice.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {

struct ResliceOutcome {
  std::vector<double> dvars;      // every frame (NaN for frame 1), from the resliced series
  std::vector<double> std_dvars;  // dvars standardised (core/dvars_null.hpp)
  std::vector<float> mean_after;  // the mean image, masked like the series
  std::vector<float> mean_seen;   // the same without the mask: 0 where no frame sees
  double seconds = 0.0;           // this rank's own reslicing, without waiting or writing
};

// What voxels some frame cannot see become in the series and its mean: NaN in float32
// (SPM's way), 0 in integer types and in BIDS derivatives (fMRIPrep's way: tools that
// read them, nilearn's maskers among them, pass NaN into time series).
float fill_value(const RunOptions& opt);

// The voxels of the grid every frame sees once moved by `xfm` (MotionRecord::xfm): the
// series' field of view.
RowIntervals seen_by_every_frame(const std::vector<Mat4>& xfm, const Grid& grid);

// Collective. `xfm` as MotionRecord::xfm; `writer` is rank 0's (null elsewhere). DVARS
// counts the voxels where `reference_volume` shows the head (empty: no DVARS).
ResliceOutcome reslice_and_stream(const RunPlan& plan, const std::vector<Mat4>& xfm,
                                  const LocalFrames& local, const RunOptions& opt,
                                  NiftiWriter* writer);

// Collective: the mean of the frames resliced with `xfm`, on every rank, without the
// mask (each voxel averaged over the frames from `first` on that see it, 0 where none
// does) and written nowhere: the reference a subject's later runs are registered to with
// --ref mean. Its bytes do not depend on the number of ranks or threads.
std::vector<float> realigned_mean(const std::vector<Mat4>& xfm, const LocalFrames& local,
                                  const RunOptions& opt, int first);

// Collective: the mean of the input frames before realignment (for the report), on rank 0.
std::vector<float> input_mean(const LocalFrames& local);

}  // namespace realign
