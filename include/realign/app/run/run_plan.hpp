// Stage 1 of a run: rank 0 opens and checks everything (input, outputs, memory,
// reference, non-steady-state frames) before any rank commits to work, and tells every
// rank what it decided in one exchange. Every rank then opens the input's voxels to read
// its frames itself: a .nii in place, a .nii.gz as rank 0 inflated it into a scratch file
// beside the output (removed as soon as every rank holds it open).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "realign/app/platform/output_set.hpp"
#include "realign/app/run/output_paths.hpp"
#include "realign/app/run/reference_choice.hpp"
#include "realign/app/run/run_options.hpp"
#include "realign/io/frame_file.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {

// The reference of a subject's first run, which its later runs are registered to
// (subject.hpp), and the frame of that run the parameters of every run are relative to
// (SPM's convention for several sessions). On every rank.
struct CommonReference {
  std::vector<float> volume;  // the reference, on `grid`
  Grid grid;                  // the first run's grid; later runs must share it
  std::string words;          // the reference in words, for the log and the report
  std::string first_run;      // the first run's input file name
  // World matrices: from the reference's space into the common space (the space of the
  // first run's resliced series), and the first run's frame 1 in the common space.
  Mat4 to_common = Mat4::Identity();
  Mat4 origin = Mat4::Identity();
};

struct RunPlan {
  // On every rank.
  NiftiInfo input;     // the checked header: grid, frames, TR, datatype
  FrameFormat format;  // how the output stores a frame
  ReferenceChoice reference;
  std::string reference_words;              // the reference in words, for the log and report
  int nonsteady = 0;                        // non-steady-state frames at the start
  std::vector<float> reference_volume;      // the (first-pass) reference; empty for `apply`
  std::vector<Mat4> given_xfm;              // `apply`: the transforms to reslice with
  const CommonReference* common = nullptr;  // a later run of a subject: its reference
  std::unique_ptr<FrameFile> frames;        // the input's frames, read where and when needed
  // On rank 0 only.
  std::unique_ptr<ScratchFile> scratch;  // a .nii.gz's voxels, inflated (gone once opened)
  OutputPaths paths;

  bool applying() const { return !given_xfm.empty(); }
};

// Collective. Throws RunError, on every rank alike, when rank 0 refuses the run. With
// `common` (on every rank, kept alive by the caller) the run is registered to that
// reference instead of the one --ref chooses, and must be on its grid.
RunPlan share_run(const RunOptions& opt, const CommonReference* common = nullptr);

// Collective: a companion of the run `opt` (another echo), to be resliced with the run's
// transforms `xfm` (on every rank): rank 0 reads its header (share_run checked it against
// the run's) and every rank opens its voxels. Throws RunError on every rank alike.
RunPlan share_companion(const RunOptions& opt, const Companion& companion,
                        const std::vector<Mat4>& xfm);

// What share_run decides, for a run one process has already seen whole and fitted
// (`realign follow` at the end: the volumes it kept in `frames`, against the reference it
// chose): the output names and format, and the non-steady-state frames from the global
// means of the first frames (their number clamped to leave two frames).
RunPlan plan_seen_run(const RunOptions& opt, std::unique_ptr<FrameFile> frames,
                      ReferenceChoice reference, std::string reference_words,
                      std::vector<float> reference_volume, const std::vector<double>& means);

}  // namespace realign
