// The whole run: read, distribute, estimate (one or two passes), reslice, gather and
// write. Every rank calls run_realign; rank 0 reads and writes.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "realign/errors.hpp"
#include "realign/options.hpp"
#include "realign/rigid.hpp"

namespace realign {

struct RunResult {
  Grid grid;                         // the input's grid
  std::vector<RigidParams> rp;       // rp convention, row 0 zero
  std::vector<Mat4> xfm;             // world matrices used for reslicing
  std::vector<int> iterations;       // last pass, per frame
  std::vector<int> unconverged;      // frames that hit the cap or lost overlap
  int nonsteady = 0;                 // non-steady-state frames at the start
  std::vector<std::string> outputs;  // files written (rank 0)
  // Stages: reslice is the slowest rank's own reslicing; write is the time after
  // estimation that is not reslicing (rank 0 writes while ranks reslice).
  double seconds_read = 0, seconds_estimate = 0, seconds_reslice = 0, seconds_write = 0;
  double seconds_total = 0;   // from the start of reading to the last byte written
  double peak_memory_mb = 0;  // peak resident memory summed over all ranks
  double series_mb = 0;       // the series as float32
};

// Throws RunError for bad input or outputs ("<file>: <problem>"), on every rank alike.
RunResult run_realign(const Options& opt);

}  // namespace realign
