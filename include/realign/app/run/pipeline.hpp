// A whole run as a sequence of stages, each collective (every rank calls it, in the same
// order, and MPI appears only inside them):
//   share_run -> distribute_frames -> estimate_motion -> reslice_and_stream -> write_outputs
// `apply` is the same without estimation. Rank 0 reads and writes.
#pragma once

#include <string>
#include <vector>

#include "realign/app/run/local_frames.hpp"
#include "realign/app/run/run_options.hpp"
#include "realign/app/run/run_plan.hpp"
#include "realign/core/motion_record.hpp"
#include "realign/io/errors.hpp"

namespace realign {

struct RunResult {
  MotionRecord record;               // what the run found (rank 0 has it complete)
  std::vector<std::string> outputs;  // files written (rank 0)
  // Stages: reslice is the slowest rank's own reslicing; write is the time after
  // estimation that is not reslicing (rank 0 writes while ranks reslice).
  double seconds_read = 0, seconds_estimate = 0, seconds_reslice = 0, seconds_write = 0;
  double seconds_total = 0;   // from the start of reading to the last byte written
  double peak_memory_mb = 0;  // peak resident memory summed over all ranks
  double series_mb = 0;       // the series as float32
};

// How a run takes part in the runs of one subject (subject.hpp); empty for a run alone.
struct SubjectLink {
  const CommonReference* given = nullptr;  // a later run: registered to this reference
  CommonReference* made = nullptr;         // the first run: filled with its reference
  OutputSet* outputs = nullptr;            // rank 0: the subject's outputs, committed by the caller
};

// Stages 4 and 5, once result.record is known: reslices, writes every output and fills
// result's outputs and times. A failure on rank 0 (a full disk, say) removes its
// temporaries and ends every rank; any other rank's failure ends the job through the
// caller. `realign follow` calls it at the end with the volumes it saw. With `shared`
// (rank 0) the outputs join that set and are left for its owner to commit.
void reslice_and_write(const RunPlan& plan, LocalFrames& local, const RunOptions& opt,
                       RunResult& result, OutputSet* shared = nullptr);

// Estimates, reslices and writes every output. Throws RunError for bad input or outputs
// ("<file>: <problem>"), on every rank alike.
RunResult run_realign(const RunOptions& opt, const SubjectLink& link = {});

// Reslices with the transforms of opt.apply_xfm and writes the series and its mean.
RunResult run_apply(const RunOptions& opt);

}  // namespace realign
