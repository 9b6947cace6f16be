#include "realign/report/motion_plot.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>

#include "realign/io/text_io.hpp"

namespace realign {
namespace {

using text::finish_write;
using text::gen10;
using text::general;
using text::open_for_write;

constexpr double kPi = 3.14159265358979323846;
// Light enough that the traces stay readable over the markers, distinct from every trace.
constexpr const char* kOverColour = "#fdae6b";
constexpr const char* kOverDotColour = "#e6550d";
constexpr const char* kUnconvergedColour = "#9467bd";
constexpr const char* kMeasureColour = "#333333";
constexpr const char* kUnfilteredColour = "#bbbbbb";

// The vertical lines drawn in every panel.
std::vector<FrameMarks> frame_marks(const MotionRecord& r, MotionPlotKind kind) {
  const bool report = kind == MotionPlotKind::report;
  std::vector<FrameMarks> marks;
  if (report) {
    marks.push_back({frames_over_threshold(r), kOverColour, 2, "", "fd-over",
                     std::string(r.fd_filter.active() ? "filtered FD" : "FD") + " > " +
                         general(r.fd_threshold_mm, 6) + " mm"});
  }
  // Only the report's marks carry classes: its readers and tests look for them.
  marks.push_back(
      {r.unconverged, kUnconvergedColour, 1, "2,3", report ? "unconverged" : "", "unconverged"});
  return marks;
}

PlotPanel fd_panel(const MotionRecord& r, MotionPlotKind kind) {
  PlotPanel p;
  p.series = {{"FD", kMeasureColour, r.fd}};
  // With a filter, the filtered FD first (it flags the frames, and the dots go on the first
  // series), the unfiltered one behind it in grey.
  if (r.fd_filter.active())
    p.series = {{"filtered FD", kMeasureColour, r.fd_filtered}, {"FD", kUnfilteredColour, r.fd}};
  ReferenceLine threshold;
  threshold.y = r.fd_threshold_mm;
  if (kind == MotionPlotKind::report) {
    p.title = "Framewise displacement (Power et al. 2012, radius " + general(r.fd_radius_mm, 6) +
              " mm" +
              (r.fd_filter.active() ? "; filtered: --fd-filter " + r.fd_filter.text() + ")" : ")");
    p.ylabel = "FD (mm)";
    threshold.legend = "threshold " + general(r.fd_threshold_mm, 6) + " mm";
    p.dots = {frames_over_threshold(r), kOverDotColour, 3, "", "fd-over-dot", "above threshold"};
  } else {
    p.ylabel = "FD (mm, radius " + gen10(r.fd_radius_mm) + " mm)";
    threshold.legend = gen10(r.fd_threshold_mm) + " mm";
  }
  p.references = {threshold};
  return p;
}

}  // namespace

std::pair<std::vector<PlotSeries>, std::vector<PlotSeries>> motion_traces(
    const std::vector<RigidParams>& rp) {
  std::vector<PlotSeries> trans = {
      {"x", "#1f77b4", {}}, {"y", "#2ca02c", {}}, {"z", "#d62728", {}}};
  std::vector<PlotSeries> rots = {
      {"pitch", "#1f77b4", {}}, {"roll", "#2ca02c", {}}, {"yaw", "#d62728", {}}};
  for (const auto& q : rp) {
    for (int k = 0; k < 3; ++k) {
      trans[k].y.push_back(q[k]);
      rots[k].y.push_back(q[3 + k] * 180.0 / kPi);
    }
  }
  return {trans, rots};
}

std::vector<int> frames_over_threshold(const MotionRecord& r) {
  const std::vector<double>& fd = r.censor_fd();
  std::vector<int> over;
  for (std::size_t n = 0; n < fd.size(); ++n) {
    if (std::isfinite(fd[n]) && fd[n] > r.fd_threshold_mm) over.push_back(static_cast<int>(n));
  }
  return over;
}

std::vector<PlotPanel> motion_panels(const MotionRecord& r, MotionPlotKind kind) {
  const bool report = kind == MotionPlotKind::report;
  auto [trans, rots] = motion_traces(r.rp);
  std::vector<PlotPanel> panels(3);
  panels[0].ylabel = "translation (mm)";
  panels[0].series = std::move(trans);
  panels[1].ylabel = "rotation (degrees)";
  panels[1].series = std::move(rots);
  if (report) {
    panels[0].title = "Translations";
    panels[1].title = "Rotations";
  }
  panels[2] = fd_panel(r, kind);
  // A measure that was not computed is left out rather than drawn empty.
  if (report && !r.rmsd.empty()) {
    PlotPanel p;
    p.title = "RMS displacement between frames (Jenkinson 2002, radius " +
              general(r.rmsd_radius_mm, 6) + " mm)";
    p.ylabel = "rmsd (mm)";
    p.series = {{"rmsd", kMeasureColour, r.rmsd}};
    panels.push_back(std::move(p));
  }
  if (report && !r.dvars.empty()) {
    PlotPanel p;
    p.title = "DVARS (Power et al. 2012)";
    p.ylabel = "DVARS (intensity)";
    p.series = {{"DVARS", kMeasureColour, r.dvars}};
    panels.push_back(std::move(p));
  }
  const std::vector<FrameMarks> marks = frame_marks(r, kind);
  for (PlotPanel& p : panels) p.lines = marks;
  return panels;
}

void write_motion_plot(const std::string& path, const MotionRecord& r) {
  const int n = static_cast<int>(r.rp.size());
  const double width = 1000, left = 90, right = 150, top = 70, ph = 200, gap = 70;
  const double height = top + 3 * ph + 3 * gap;

  SvgPlot p;
  p.begin(width, height, true);
  std::string title = "Motion parameters";
  if (!r.input_name.empty()) title += ": " + r.input_name;
  p.text(width / 2, 26, title, "middle", " font-size=\"16\" font-weight=\"bold\"");
  std::string sub = fmt::format("{} frames", n);
  if (r.tr_s > 0) sub += ", TR " + gen10(r.tr_s) + " s";
  if (!r.unconverged.empty()) {
    sub += fmt::format("; {} frame(s) stopped at the iteration cap (dotted purple lines)",
                       r.unconverged.size());
  }
  p.text(width / 2, 46, sub, "middle");
  const std::vector<PlotPanel> panels = motion_panels(r, MotionPlotKind::standalone);
  for (std::size_t k = 0; k < panels.size(); ++k)
    p.panel({left, top + k * (ph + gap), width - left - right, ph}, panels[k], n);
  p.end();

  std::ofstream f = open_for_write(path);
  f << p.str();
  finish_write(f, path);
}

}  // namespace realign
