// The motion plot: the rp columns over frames as an SVG like SPM's realign figure.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "realign/core/motion_record.hpp"
#include "realign/report/svg_plot.hpp"

namespace realign {

// Standalone SVG with three stacked panels like SPM's realign figure: translations (mm),
// rotations (degrees), and FD (mm) with a dashed line at fd_threshold_mm; frame number
// (1-based) on x; unconverged frames marked in every panel.
void write_motion_plot(const std::string& path, const MotionRecord& r);

// The rp columns as plot lines, one colour per axis: translations x y z in mm, and
// rotations pitch roll yaw in degrees.
std::pair<std::vector<PlotSeries>, std::vector<PlotSeries>> motion_traces(
    const std::vector<RigidParams>& rp);

}  // namespace realign
