// The motion plot: the rp columns over frames as an SVG like SPM's realign figure.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "realign/core/motion_record.hpp"
#include "realign/report/svg_plot.hpp"

namespace realign {

// Where the motion panels are drawn. The standalone SVG is SPM's realign figure: three
// untitled panels (translations, rotations, FD with the head radius in its axis label),
// unconverged frames marked by dotted lines. The QC report titles every panel, adds rmsd and
// DVARS panels when those were computed, and also marks the frames with FD above the
// threshold: orange lines in every panel, dots on the FD trace.
enum class MotionPlotKind { standalone, report };

// The panels of a run's motion over frames, top to bottom, for SvgPlot::panel: series,
// reference lines (the FD threshold), frame marks and labels. Only the layout (panel sizes,
// gaps, page) is left to the caller.
std::vector<PlotPanel> motion_panels(const MotionRecord& r, MotionPlotKind kind);

// The frames (0-based) whose FD is above r.fd_threshold_mm: the filtered FD with
// --fd-filter (r.censor_fd()), which the FD panel then draws over the unfiltered one.
std::vector<int> frames_over_threshold(const MotionRecord& r);

// Standalone SVG with three stacked panels like SPM's realign figure: translations (mm),
// rotations (degrees), and FD (mm) with a dashed line at fd_threshold_mm; frame number
// (1-based) on x; unconverged frames marked in every panel.
void write_motion_plot(const std::string& path, const MotionRecord& r);

// The rp columns as plot lines, one colour per axis: translations x y z in mm, and
// rotations pitch roll yaw in degrees.
std::pair<std::vector<PlotSeries>, std::vector<PlotSeries>> motion_traces(
    const std::vector<RigidParams>& rp);

}  // namespace realign
