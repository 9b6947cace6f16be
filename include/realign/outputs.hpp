// Text and plot outputs written beside the resliced image: SPM rp file, confounds TSV with a
// JSON sidecar, per-frame world matrices, and an SVG motion plot.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "realign/rigid.hpp"
#include "realign/svg_plot.hpp"
#include "realign/volume.hpp"

namespace realign {

// Everything the text and plot writers need.
struct MotionReport {
  std::vector<RigidParams> rp;  // rp convention, row 0 zero
  // Per-frame world (RAS mm) matrices: corrected vox2world = xfm[n] * vox2world.
  std::vector<Mat4> xfm;
  // As in metrics.hpp; NaN (element 0) is written "n/a". An empty vector means "not
  // computed" and is written as a column of "n/a".
  std::vector<double> fd, rmsd, dvars;
  std::vector<int> unconverged;  // 0-based indices; written 1-based like every frame number
  // Non-steady-state frames at the start (0 = none), and whether --dummy-scans said so
  // rather than the detection.
  int nonsteady = 0;
  bool nonsteady_given = false;
  double fd_radius_mm = 50.0;
  double fd_threshold_mm = 0.5;  // frames above it are flagged in the plots and the report
  double tr_s = 0.0;             // 0 when unknown
  std::string input_name;        // for titles
  double rmsd_radius_mm = 80.0;
};

// SPM rp_*.txt: one row per frame (tx ty tz mm, pitch roll yaw rad), each of the 6 values
// written as " %.8e" (a space, then the number), as SPM12's save -ascii does under Octave.
void write_rp(const std::string& path, const std::vector<RigidParams>& rp);

// FSL MCFLIRT .par layout: one row per frame, the rp row reordered as pitch roll yaw (rad)
// then tx ty tz (mm), each value "%.10g" followed by two spaces. The numbers are realign's
// (SPM convention), not a conversion to MCFLIRT's coordinates: see docs/outputs.md.
void write_par(const std::string& path, const std::vector<RigidParams>& rp);

// Parses SPM rp files: whitespace separated, 6 finite numbers per row; blank lines and lines
// starting with '#' are ignored. Throws std::runtime_error("<path>: <problem>") when the file
// cannot be read, has no rows, or has bad content.
std::vector<RigidParams> read_rp(const std::string& path);

// fMRIPrep-style confounds (the columns of confounds.hpp's confound_columns): tab separated,
// a header of column names, one row per frame ("n/a" for NaN), plus a BIDS-style JSON
// sidecar describing each column (Description, Units) and the conventions. fd/rmsd/dvars
// must be empty or have one entry per rp row (std::invalid_argument otherwise). Defined in
// confounds.cpp.
void write_confounds(const std::string& tsv_path, const std::string& json_path,
                     const MotionReport& r);

// Text file: comment lines explaining the convention, then per frame "# frame N" (1-based)
// and 4 rows of 4 numbers (%.10g).
void write_xfm(const std::string& path, const std::vector<Mat4>& xfm);

// Inverse of write_xfm. '#' lines are comments; every other non-blank line must hold 4
// numbers, and each group of 4 rows must end with 0 0 0 1. Throws std::runtime_error
// ("<path>: <problem>") otherwise.
std::vector<Mat4> read_xfm(const std::string& path);

// Standalone SVG with three stacked panels like SPM's realign figure: translations (mm),
// rotations (degrees), and FD (mm) with a dashed line at fd_threshold_mm; frame number
// (1-based) on x; unconverged frames marked in every panel.
void write_motion_plot(const std::string& path, const MotionReport& r);

// The rp columns as plot lines, one colour per axis: translations x y z in mm, and
// rotations pitch roll yaw in degrees.
std::pair<std::vector<PlotSeries>, std::vector<PlotSeries>> motion_traces(
    const std::vector<RigidParams>& rp);

// All writers throw std::runtime_error("<path>: cannot write") on I/O failure.

}  // namespace realign
