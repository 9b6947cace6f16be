// `realign follow`: motion of every volume as it arrives (real-time fMRI), one TSV line per
// volume on stdout, and at the end the outputs a batch run of the volumes seen would write.
#pragma once

#include "realign/app/follow/follow_options.hpp"
#include "realign/app/run/run_options.hpp"

namespace realign {

// Follows until the source ends, --timeout, SIGINT or SIGTERM, or a fatal fault (the
// directory disappears), then writes the outputs of the volumes seen. The reference is
// settings.reference: "first" (the first volume) or a 3D NIfTI on the volumes' grid (with
// opt.reference_volumes > 1, the mean of the first volumes instead). Returns the exit
// status: 0, or the fault's status after the partial outputs are written.
int run_follow(const RunSettings& settings, const FollowOptions& opt);

}  // namespace realign
