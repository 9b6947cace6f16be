// Per-frame line plots drawn as SVG: panels with axes, gridlines, a legend, reference lines
// and frame markers. The motion plot and the QC report both draw with it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace realign {

// One line; y[n] belongs to frame n + 1. A non-finite value breaks the line.
struct PlotSeries {
  std::string name;
  std::string colour;
  std::vector<double> y;
};

// Something drawn at chosen frames: vertical lines across the panel under the series, or
// dots on the panel's first series.
struct FrameMarks {
  std::vector<int> frames;  // 0-based
  std::string colour;
  double size = 1.0;      // line width or dot radius, px
  std::string dash;       // SVG stroke-dasharray; "" for solid (drawn as bands of frames)
  std::string css_class;  // set on every mark, so that readers and tests can find them
  std::string legend;     // "" for no legend entry
};

// A horizontal line, e.g. an FD threshold; the y axis always reaches it.
struct ReferenceLine {
  double y = 0;
  std::string colour = "#555555";
  std::string dash = "6,4";
  std::string legend;
};

struct PlotPanel {
  std::string title;   // above the panel's left corner; "" for none
  std::string ylabel;  // rotated, left of the tick labels
  std::vector<PlotSeries> series;
  std::vector<ReferenceLine> references;
  std::vector<FrameMarks> lines;  // vertical lines
  FrameMarks dots;                // circles on series[0]
};

// Runs of consecutive frames (sorted, 0-based): {3,4,5,9} -> {3,5}, {9,9}.
std::vector<std::pair<int, int>> frame_runs(const std::vector<int>& frames);

struct PanelBox {
  double left, top, width, height;
};

class SvgPlot {
 public:
  // Opens the <svg> element (px), white background. A standalone file gets the XML
  // declaration; an SVG inside HTML must not have it.
  void begin(double width, double height, bool standalone);
  void end();
  // Axes for frames 1..frames on x (0 is always on the y axis, so drifts read against
  // "no motion"), legend to the right of the box.
  void panel(const PanelBox& box, const PlotPanel& p, int frames);
  void line(double x1, double y1, double x2, double y2, std::string_view colour, double width,
            std::string_view dash, std::string_view extra = "");
  // `extra` is inserted verbatim into the element (attributes, with a leading space).
  void text(double x, double y, std::string_view s, std::string_view anchor,
            std::string_view extra = "");
  const std::string& str() const { return out_; }

 private:
  struct Scale;  // a panel's axes and its frame/value to pixel mapping
  void axes(const Scale& sc, const PlotPanel& p);
  void marks(const Scale& sc, const PlotPanel& p);
  void band_marks(const Scale& sc, const FrameMarks& m);
  void series(const Scale& sc, const PlotPanel& p);
  void dots(const Scale& sc, const PlotPanel& p);
  void legend(const PanelBox& box, const PlotPanel& p);
  void rect(const PanelBox& box, std::string_view style);
  void circle(std::string_view css_class, double cx, double cy, double r, std::string_view fill);

  std::string out_;
};

}  // namespace realign
