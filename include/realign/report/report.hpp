// The QC report: one self-contained HTML file (inline SVG plots, PNG slices as data: URIs,
// no scripts, nothing fetched) showing a run's motion, the frames that moved too much, and
// the mean image before and after realignment.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "realign/core/motion_record.hpp"
#include "realign/core/volume.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/report/confounds.hpp"
#include "realign/report/motion_plot.hpp"

namespace realign {

struct QcReport {
  const MotionRecord* motion = nullptr;  // what the run found (grid, reference, measures)
  std::vector<float> mean_before;        // mean of the input frames (grid.voxels() values)
  std::vector<float> mean_after;         // mean of the resliced frames; empty when not resliced
  std::string created;                   // date and time shown; empty for the current UTC time
  // BIDS derivatives: the part of the brain some frame could not see (0 in every frame of
  // the series); negative: not shown.
  double unseen_brain_fraction = -1.0;
};

// Writes the report. Throws OutputError(path, ...) when the file cannot be written and
// std::invalid_argument when `motion` is null or a mean has the wrong size.
void write_qc_report(const std::string& path, const QcReport& report);

// One slice of a volume as an 8-bit picture, top row first.
struct SliceImage {
  std::string plane;  // "axial", "coronal", "sagittal"
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
  double width_mm = 0, height_mm = 0;  // its extent, for the aspect ratio
  // Anatomical direction at each edge ("L", "R", "A", "P", "S", "I").
  std::string left, right, top, bottom;
  int slice = 0, slices = 0;  // which voxel slice (0-based) of how many
};

// Axial, coronal and sagittal slices through the middle voxel of the volume, in the
// neurological convention: the subject's right on the right of axial and coronal slices,
// anterior at the top of axial slices, superior at the top of coronal and sagittal ones,
// anterior on the left of sagittal slices. Each voxel axis is shown along the world (RAS)
// axis it is closest to, without resampling, so an oblique volume shows its own voxel grid.
// Grey levels map [lo, hi] linearly onto 0..255, clamped; NaN is black.
std::array<SliceImage, 3> centre_slices(const Grid& grid, const std::vector<float>& volume,
                                        float lo, float hi);

// The picture drawn width x height pixels by nearest neighbour: pixel (col, row) shows voxel
// (floor((col + 1/2) * s.width / width), likewise for rows), so voxels stay sharp squares
// (or the voxels' own proportions) instead of the browser's blur.
std::vector<std::uint8_t> upscale_nearest(const SliceImage& s, int width, int height);

// The 1st and 99th percentiles of the nonzero finite values, the display window that
// ignores the empty background and a few very bright voxels; (0, 1) when there are none,
// and hi > lo always.
std::pair<float, float> robust_window(const std::vector<float>& volume);

}  // namespace realign
