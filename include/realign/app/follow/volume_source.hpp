// Where `realign follow` gets its volumes: a directory that a scanner export or a
// converter fills with one 3D NIfTI, or one DICOM file holding a whole volume, per volume;
// or a 4D file read as a stream (a replay).
#pragma once

#include <memory>
#include <string>

#include "realign/app/follow/follow_options.hpp"
#include "realign/core/volume.hpp"
#include "realign/io/nifti_header.hpp"

namespace realign {

struct ArrivedVolume {
  std::string name;  // the file, or "file, frame N" for a 4D stream
  Volume volume;     // scaled to float, NaN/Inf made 0
  NiftiInfo info;    // the header of the file it came from (made from the grid for DICOM)
  // When it was complete on disk (its last change: the rename or the last write), and
  // when the reading began and ended, in seconds of CLOCK_REALTIME.
  double complete_s = 0.0, picked_s = 0.0, read_s = 0.0;
};

class VolumeSource {
 public:
  enum class Status { Volume, Waiting, Ended };
  virtual ~VolumeSource() = default;
  // The next volume in order if one is complete within wait_s seconds. Faults a run
  // survives (a missing number, a file that never completes) are logged here; a fatal
  // one (the directory disappears) throws InputError.
  virtual Status next(double wait_s, ArrivedVolume& out) = 0;
  // At the end: logs the files that were seen but never became a volume.
  virtual void report_unfinished() const {}
};

// A directory (waited for if it does not exist yet) or a 4D NIfTI file.
std::unique_ptr<VolumeSource> open_source(const FollowOptions& opt);

// CLOCK_REALTIME in seconds, the clock of file times (latencies); CLOCK_MONOTONIC for
// waits and timeouts, which a step of the wall clock must not end.
double unix_now();
double monotonic_now();

// The frame number in a file name: its last group of digits ("vol_0012.nii.gz" -> 12),
// -1 when there is none, or the name is neither NIfTI (.nii, .nii.gz) nor DICOM (.dcm), in
// any case, or starts with a dot. DICOM volumes are ordered by their names too, not by
// numbers in their headers: a file is numbered before it can be read.
long frame_number(const std::string& file_name);

}  // namespace realign
