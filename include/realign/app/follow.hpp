// `realign follow`: motion of every volume as it arrives (real-time fMRI), one TSV line per
// volume on stdout, and at the end the outputs a batch run of the volumes seen would write.
#pragma once

#include <string>

#include "realign/app/options.hpp"

namespace realign {

struct FollowOptions {
  Options run;         // estimation and outputs; run.output empty: lines only
  std::string source;  // a directory filled with one 3D NIfTI per volume, or a 4D file
  // "first", or a 3D NIfTI on the volumes' grid (the mean of a previous run, say).
  std::string reference = "first";
  int reference_volumes = 1;  // N > 1: the mean of the first N volumes
  std::string reslice_to;     // a directory for each resliced volume, written before its line
  double timeout_s = 0.0;     // end after this long without a new volume; 0: never
  double gap_wait_s = 1.0;    // how long a later volume waits for a missing earlier one
  double settle_s = 0.5;      // a file unchanged this long (no close or rename seen) is tried
  bool live = false;          // a live view on the terminal (stdout is a tty)
};

// Follows until the source ends, --timeout, SIGINT or SIGTERM, or a fatal fault (the
// directory disappears), then writes the outputs of the volumes seen. Returns the exit
// status: 0, or the fault's status after the partial outputs are written.
int run_follow(const FollowOptions& opt);

}  // namespace realign
