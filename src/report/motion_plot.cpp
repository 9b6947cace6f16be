#include "realign/report/motion_plot.hpp"

#include <fstream>

#include "realign/io/text_io.hpp"

namespace realign {
namespace {

using text::finish_write;
using text::gen10;
using text::open_for_write;

constexpr double kPi = 3.14159265358979323846;

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

void write_motion_plot(const std::string& path, const MotionRecord& r) {
  const int n = static_cast<int>(r.rp.size());
  const auto [trans, rots] = motion_traces(r.rp);
  const FrameMarks unconverged{r.unconverged, "#9467bd", 1, "2,3", "", "unconverged"};

  const double width = 1000, left = 90, right = 150, top = 70, ph = 200, gap = 70;
  const double height = top + 3 * ph + 3 * gap;
  const double pw = width - left - right;

  SvgPlot p;
  p.begin(width, height, true);
  std::string title = "Motion parameters";
  if (!r.input_name.empty()) title += ": " + r.input_name;
  p.text(width / 2, 26, title, "middle", " font-size=\"16\" font-weight=\"bold\"");
  std::string sub = std::to_string(n) + " frames";
  if (r.tr_s > 0) sub += ", TR " + gen10(r.tr_s) + " s";
  if (!r.unconverged.empty()) {
    sub += "; " + std::to_string(r.unconverged.size()) +
           " frame(s) stopped at the iteration cap (dotted purple lines)";
  }
  p.text(width / 2, 46, sub, "middle");

  PlotPanel panel;
  panel.lines = {unconverged};
  panel.ylabel = "translation (mm)";
  panel.series = trans;
  p.panel({left, top, pw, ph}, panel, n);
  panel.ylabel = "rotation (degrees)";
  panel.series = rots;
  p.panel({left, top + ph + gap, pw, ph}, panel, n);
  panel.ylabel = "FD (mm, radius " + gen10(r.fd_radius_mm) + " mm)";
  panel.series = {{"FD", "#333333", r.fd}};
  panel.references = {{r.fd_threshold_mm, "#555555", "6,4", gen10(r.fd_threshold_mm) + " mm"}};
  p.panel({left, top + 2 * (ph + gap), pw, ph}, panel, n);
  p.end();

  std::ofstream f = open_for_write(path);
  f << p.str();
  finish_write(f, path);
}

}  // namespace realign
