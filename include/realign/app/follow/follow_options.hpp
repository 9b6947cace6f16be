// What `realign follow` is told beyond the settings every run shares (RunSettings): where
// the volumes come from, how long to wait for them, and where its outputs go.
#pragma once

#include <string>

namespace realign {

struct FollowOptions {
  std::string source;         // a directory filled with one 3D volume per file, or a 4D file
  std::string output;         // the batch outputs at the end (.nii or .nii.gz); empty: lines only
  int reference_volumes = 1;  // N > 1: the reference is the mean of the first N volumes
  std::string reslice_to;     // a directory for each resliced volume, written before its line
  double timeout_s = 0.0;     // end after this long without a new volume; 0: never
  double gap_wait_s = 1.0;    // how long a later volume waits for a missing earlier one
  double settle_s = 0.5;      // a file unchanged this long (no close or rename seen) is tried
  bool live = false;          // a live view on the terminal (stdout is a tty)
  std::string send;           // HOST:PORT: each line also as JSON over TCP; empty: not sent
  double criterion_minutes = 0.0;  // good data wanted (minutes); 0: no prediction
};

}  // namespace realign
