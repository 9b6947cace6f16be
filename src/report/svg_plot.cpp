#include "realign/report/svg_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "realign/io/text_io.hpp"

namespace realign {
namespace {

struct Axis {
  double lo = 0, hi = 1, step = 1;
};

// A 1, 2 or 5 times a power of ten, close to `raw`.
double nice_step(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  const double m = f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0;
  return m * p;
}

Axis make_axis(double lo, double hi, int target_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = hi = 0.0;
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
    // A flat series (e.g. the all-zero reference frame) still needs a readable axis.
    const double pad = lo == 0.0 ? 1.0 : std::abs(lo) * 0.5;
    lo -= pad;
    hi += pad;
  }
  Axis a;
  a.step = nice_step((hi - lo) / target_ticks);
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  return a;
}

Axis frame_axis(double xmax) {
  Axis a;
  a.lo = 0.0;
  a.step = std::max(1.0, nice_step(std::max(xmax, 1.0) / 10.0));
  a.hi = std::max(a.step, std::ceil(xmax / a.step - 1e-9) * a.step);
  return a;
}

int tick_decimals(double step) {
  return std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
}

std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-6) v = 0.0;  // no "-0.00"
  return text::fixed(v, tick_decimals(step));
}

std::string class_attr(std::string_view c) {
  return c.empty() ? std::string() : " class=\"" + text::xml_escape(c) + "\"";
}

// 0 is always inside, so drifts read against "no motion", and so are the reference lines.
Axis value_axis(const PlotPanel& p) {
  double lo = 0.0, hi = 0.0;
  for (const auto& s : p.series) {
    for (double v : s.y) {
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  for (const auto& r : p.references) {
    lo = std::min(lo, r.y);
    hi = std::max(hi, r.y);
  }
  return make_axis(lo, hi, 5);
}

}  // namespace

struct SvgPlot::Scale {
  PanelBox box;
  double frames;  // the last frame on x, at least 1
  Axis x, y;

  double px(double frame) const { return box.left + (frame - x.lo) / (x.hi - x.lo) * box.width; }
  double py(double v) const {
    return box.top + box.height - (v - y.lo) / (y.hi - y.lo) * box.height;
  }
  bool shown(int f) const { return f >= 0 && f + 1 <= frames; }
};

void SvgPlot::begin(double width, double height, bool standalone) {
  if (standalone) out_ += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  fmt::format_to(std::back_inserter(out_),
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0:.0f}\" "
                 "height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
                 "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
                 "<rect x=\"0\" y=\"0\" width=\"{0:.0f}\" height=\"{1:.0f}\" fill=\"#ffffff\"/>\n",
                 width, height);
}

void SvgPlot::end() { out_ += "</svg>\n"; }

void SvgPlot::panel(const PanelBox& box, const PlotPanel& p, int frames) {
  const double last = std::max(frames, 1);
  const Scale sc{box, last, frame_axis(last), value_axis(p)};
  out_ += "<g>\n";
  rect(box, "fill=\"#ffffff\"");
  if (!p.title.empty())
    text(box.left, box.top - 10, p.title, "start", " font-size=\"13\" font-weight=\"bold\"");
  axes(sc, p);
  marks(sc, p);
  series(sc, p);
  dots(sc, p);
  // The border goes on top so gridlines at the axis limits do not hide it.
  rect(box, "fill=\"none\" stroke=\"#000000\" stroke-width=\"1\"");
  legend(box, p);
  out_ += "</g>\n";
}

void SvgPlot::axes(const Scale& sc, const PlotPanel& p) {
  const PanelBox& b = sc.box;
  const int ny = static_cast<int>(std::lround((sc.y.hi - sc.y.lo) / sc.y.step));
  for (int k = 0; k <= ny; ++k) {
    const double v = sc.y.lo + k * sc.y.step;
    const double y = sc.py(v);
    line(b.left, y, b.left + b.width, y, "#dddddd", 1, "");
    line(b.left - 5, y, b.left, y, "#000000", 1, "");
    text(b.left - 8, y + 4, tick_label(v, sc.y.step), "end");
  }
  const int nx = static_cast<int>(std::lround((sc.x.hi - sc.x.lo) / sc.x.step));
  for (int k = 0; k <= nx; ++k) {
    const double v = sc.x.lo + k * sc.x.step;
    const double x = sc.px(v);
    line(x, b.top + b.height, x, b.top + b.height + 5, "#000000", 1, "");
    text(x, b.top + b.height + 18, tick_label(v, sc.x.step), "middle");
  }
  text(b.left + b.width / 2, b.top + b.height + 34, "frame", "middle");
  // Rotated, left of the tick labels, where it cannot collide with them.
  const double lx = b.left - 58, ly = b.top + b.height / 2;
  text(lx, ly, p.ylabel, "middle", fmt::format(" transform=\"rotate(-90 {:.2f} {:.2f})\"", lx, ly));
}

// Solid marks as one band per run of consecutive frames (drawn under the traces), a frame wide each
// side of its centre (at least the mark's width): 125 flagged frames of 139 shade the panel in a
// few bands with the traces on top, instead of a wall of lines. data-frames holds
// the run (1-based, "3-9" or "12").
void SvgPlot::band_marks(const Scale& sc, const FrameMarks& m) {
  const PanelBox& b = sc.box;
  const double half = std::max(m.size, sc.px(2) - sc.px(1)) / 2;
  for (const auto& [first, last] : frame_runs(m.frames)) {
    if (!sc.shown(first) || !sc.shown(last)) continue;
    const double x0 = std::max(b.left, sc.px(first + 1) - half);
    const double x1 = std::min(b.left + b.width, sc.px(last + 1) + half);
    const std::string range =
        first == last ? std::to_string(first + 1) : fmt::format("{}-{}", first + 1, last + 1);
    fmt::format_to(std::back_inserter(out_),
                   "<rect{} data-frames=\"{}\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" "
                   "height=\"{:.2f}\" fill=\"{}\" "
                   "shape-rendering=\"crispEdges\"/>\n",
                   class_attr(m.css_class), range, x0, b.top, x1 - x0, b.height, m.colour);
  }
}

std::vector<std::pair<int, int>> frame_runs(const std::vector<int>& frames) {
  std::vector<std::pair<int, int>> runs;
  for (const int f : frames) {
    if (!runs.empty() && f == runs.back().second + 1)
      runs.back().second = f;
    else
      runs.push_back({f, f});
  }
  return runs;
}

// Drawn before the series, so that the traces stay readable over the marks.
void SvgPlot::marks(const Scale& sc, const PlotPanel& p) {
  const PanelBox& b = sc.box;
  // Crisp edges keep a marker's colour exact on screen rather than blended into its
  // neighbours, so a marker reads as a marker at any zoom.
  for (const auto& m : p.lines) {
    if (m.dash.empty()) {
      band_marks(sc, m);
      continue;
    }
    for (int f : m.frames) {
      if (!sc.shown(f)) continue;
      line(sc.px(f + 1), b.top, sc.px(f + 1), b.top + b.height, m.colour, m.size, m.dash,
           class_attr(m.css_class) + " shape-rendering=\"crispEdges\"");
    }
  }
  for (const auto& r : p.references) {
    const double y = sc.py(r.y);
    line(b.left, y, b.left + b.width, y, r.colour, 1, r.dash);
  }
}

// One polyline per stretch of finite values: a NaN (FD's first frame) breaks the line rather
// than being drawn as zero.
void SvgPlot::series(const Scale& sc, const PlotPanel& p) {
  for (const auto& s : p.series) {
    std::string pts;
    const auto flush = [&] {
      if (!pts.empty()) {
        fmt::format_to(std::back_inserter(out_),
                       "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" "
                       "stroke-linejoin=\"round\" points=\"{}\"/>\n",
                       s.colour, pts);
      }
      pts.clear();
    };
    for (std::size_t n = 0; n < s.y.size(); ++n) {
      if (!std::isfinite(s.y[n])) {
        flush();
        continue;
      }
      fmt::format_to(std::back_inserter(pts), "{}{:.2f},{:.2f}", pts.empty() ? "" : " ",
                     sc.px(static_cast<double>(n + 1)), sc.py(s.y[n]));
    }
    flush();
  }
}

void SvgPlot::dots(const Scale& sc, const PlotPanel& p) {
  if (p.series.empty()) return;
  const std::vector<double>& y = p.series.front().y;
  for (int f : p.dots.frames) {
    if (!sc.shown(f) || f >= static_cast<int>(y.size()) || !std::isfinite(y[f])) continue;
    circle(p.dots.css_class, sc.px(f + 1), sc.py(y[f]), p.dots.size, p.dots.colour);
  }
}

// Right of the panel, outside it, so that no entry hides a trace.
void SvgPlot::legend(const PanelBox& box, const PlotPanel& p) {
  double y = box.top + 12;
  const double x = box.left + box.width + 15;
  const auto entry = [&](const std::string& label) {
    text(x + 28, y, label, "start");
    y += 18;
  };
  for (const auto& s : p.series) {
    line(x, y - 4, x + 22, y - 4, s.colour, 2, "");
    entry(s.name);
  }
  for (const auto& r : p.references) {
    if (r.legend.empty()) continue;
    line(x, y - 4, x + 22, y - 4, r.colour, 1, r.dash);
    entry(r.legend);
  }
  if (!p.dots.frames.empty() && !p.dots.legend.empty()) {
    circle("", x + 11, y - 4, p.dots.size, p.dots.colour);
    entry(p.dots.legend);
  }
  for (const auto& m : p.lines) {
    if (m.frames.empty() || m.legend.empty()) continue;
    // A short upright stroke, like the marks themselves.
    line(x + 11, y - 11, x + 11, y + 2, m.colour, m.size, m.dash);
    entry(m.legend);
  }
}

void SvgPlot::rect(const PanelBox& box, std::string_view style) {
  fmt::format_to(std::back_inserter(out_),
                 "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" {}/>\n",
                 box.left, box.top, box.width, box.height, style);
}

void SvgPlot::circle(std::string_view css_class, double cx, double cy, double r,
                     std::string_view fill) {
  fmt::format_to(std::back_inserter(out_),
                 "<circle{} cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"{:.1f}\" fill=\"{}\"/>\n",
                 class_attr(css_class), cx, cy, r, fill);
}

void SvgPlot::line(double x1, double y1, double x2, double y2, std::string_view colour,
                   double width, std::string_view dash, std::string_view extra) {
  fmt::format_to(std::back_inserter(out_),
                 "<line x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"{}\" "
                 "stroke-width=\"{:.1f}\"",
                 x1, y1, x2, y2, colour, width);
  if (!dash.empty()) fmt::format_to(std::back_inserter(out_), " stroke-dasharray=\"{}\"", dash);
  fmt::format_to(std::back_inserter(out_), "{}/>\n", extra);
}

void SvgPlot::text(double x, double y, std::string_view s, std::string_view anchor,
                   std::string_view extra) {
  fmt::format_to(std::back_inserter(out_),
                 "<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"{}\"{}>{}</text>\n", x, y, anchor,
                 extra, text::xml_escape(s));
}

}  // namespace realign
