#include "realign/report/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <locale>

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

std::string f2(double v) { return text::fixed(v, 2); }

std::string class_attr(const std::string& c) {
  return c.empty() ? std::string() : " class=\"" + text::xml_escape(c) + "\"";
}

}  // namespace

SvgPlot::SvgPlot() { out_.imbue(std::locale::classic()); }

void SvgPlot::begin(double width, double height, bool standalone) {
  const std::string w = text::fixed(width, 0), h = text::fixed(height, 0);
  if (standalone) out_ << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << w
       << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << " " << h
       << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  out_ << "<rect x=\"0\" y=\"0\" width=\"" << w << "\" height=\"" << h << "\" fill=\"#ffffff\"/>\n";
}

void SvgPlot::end() { out_ << "</svg>\n"; }

void SvgPlot::panel(const PanelBox& fr, const PlotPanel& p, int frames) {
  const double xmax = std::max(frames, 1);
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
  const Axis ya = make_axis(lo, hi, 5);
  const Axis xa = frame_axis(xmax);
  const auto px = [&](double x) { return fr.left + (x - xa.lo) / (xa.hi - xa.lo) * fr.width; };
  const auto py = [&](double y) {
    return fr.top + fr.height - (y - ya.lo) / (ya.hi - ya.lo) * fr.height;
  };
  const auto in_range = [&](int f) { return f >= 0 && f + 1 <= xmax; };

  out_ << "<g>\n";
  out_ << "<rect x=\"" << f2(fr.left) << "\" y=\"" << f2(fr.top) << "\" width=\"" << f2(fr.width)
       << "\" height=\"" << f2(fr.height) << "\" fill=\"#ffffff\"/>\n";
  if (!p.title.empty())
    text(fr.left, fr.top - 10, p.title, "start", " font-size=\"13\" font-weight=\"bold\"");

  // Gridlines and tick labels.
  const int ny = static_cast<int>(std::lround((ya.hi - ya.lo) / ya.step));
  for (int k = 0; k <= ny; ++k) {
    const double v = ya.lo + k * ya.step;
    const double y = py(v);
    line(fr.left, y, fr.left + fr.width, y, "#dddddd", 1, "");
    line(fr.left - 5, y, fr.left, y, "#000000", 1, "");
    text(fr.left - 8, y + 4, tick_label(v, ya.step), "end");
  }
  const int nx = static_cast<int>(std::lround((xa.hi - xa.lo) / xa.step));
  for (int k = 0; k <= nx; ++k) {
    const double v = xa.lo + k * xa.step;
    const double x = px(v);
    line(x, fr.top + fr.height, x, fr.top + fr.height + 5, "#000000", 1, "");
    text(x, fr.top + fr.height + 18, tick_label(v, xa.step), "middle");
  }
  text(fr.left + fr.width / 2, fr.top + fr.height + 34, "frame", "middle");
  // Rotated y label to the left of the tick labels.
  const double lx = fr.left - 58, ly = fr.top + fr.height / 2;
  text(lx, ly, p.ylabel, "middle", " transform=\"rotate(-90 " + f2(lx) + " " + f2(ly) + ")\"");

  // Crisp edges keep a marker's colour exact on screen rather than blended into its
  // neighbours, so a marker reads as a marker at any zoom.
  for (const auto& m : p.lines) {
    for (int f : m.frames) {
      if (!in_range(f)) continue;
      line(px(f + 1), fr.top, px(f + 1), fr.top + fr.height, m.colour, m.size, m.dash,
           class_attr(m.css_class) + " shape-rendering=\"crispEdges\"");
    }
  }
  for (const auto& r : p.references) {
    const double y = py(r.y);
    line(fr.left, y, fr.left + fr.width, y, r.colour, 1, r.dash);
  }

  // One polyline per stretch of finite values: a NaN (FD's first frame) breaks the line
  // rather than being drawn as zero.
  for (const auto& s : p.series) {
    std::string pts;
    std::size_t count = 0;
    const auto flush = [&] {
      if (count) {
        out_ << "<polyline fill=\"none\" stroke=\"" << s.colour
             << "\" stroke-width=\"1.5\" stroke-linejoin=\"round\" points=\"" << pts << "\"/>\n";
      }
      pts.clear();
      count = 0;
    };
    for (std::size_t n = 0; n < s.y.size(); ++n) {
      if (!std::isfinite(s.y[n])) {
        flush();
        continue;
      }
      if (count) pts += ' ';
      pts += f2(px(static_cast<double>(n + 1))) + "," + f2(py(s.y[n]));
      ++count;
    }
    flush();
  }
  if (!p.series.empty()) {
    const std::vector<double>& y = p.series.front().y;
    for (int f : p.dots.frames) {
      if (!in_range(f) || f >= static_cast<int>(y.size()) || !std::isfinite(y[f])) continue;
      out_ << "<circle" << class_attr(p.dots.css_class) << " cx=\"" << f2(px(f + 1)) << "\" cy=\""
           << f2(py(y[f])) << "\" r=\"" << text::fixed(p.dots.size, 1) << "\" fill=\""
           << p.dots.colour << "\"/>\n";
    }
  }

  // The border goes on top so gridlines at the axis limits do not hide it.
  out_ << "<rect x=\"" << f2(fr.left) << "\" y=\"" << f2(fr.top) << "\" width=\"" << f2(fr.width)
       << "\" height=\"" << f2(fr.height) << "\" fill=\"none\" stroke=\"#000000\" "
       << "stroke-width=\"1\"/>\n";

  // Legend to the right of the panel.
  double ly2 = fr.top + 12;
  const double lx2 = fr.left + fr.width + 15;
  const auto entry = [&](const std::string& label) {
    text(lx2 + 28, ly2, label, "start");
    ly2 += 18;
  };
  for (const auto& s : p.series) {
    line(lx2, ly2 - 4, lx2 + 22, ly2 - 4, s.colour, 2, "");
    entry(s.name);
  }
  for (const auto& r : p.references) {
    if (r.legend.empty()) continue;
    line(lx2, ly2 - 4, lx2 + 22, ly2 - 4, r.colour, 1, r.dash);
    entry(r.legend);
  }
  if (!p.dots.frames.empty() && !p.dots.legend.empty()) {
    out_ << "<circle cx=\"" << f2(lx2 + 11) << "\" cy=\"" << f2(ly2 - 4) << "\" r=\""
         << text::fixed(p.dots.size, 1) << "\" fill=\"" << p.dots.colour << "\"/>\n";
    entry(p.dots.legend);
  }
  for (const auto& m : p.lines) {
    if (m.frames.empty() || m.legend.empty()) continue;
    // A short upright stroke, like the marks themselves.
    line(lx2 + 11, ly2 - 11, lx2 + 11, ly2 + 2, m.colour, m.size, m.dash);
    entry(m.legend);
  }
  out_ << "</g>\n";
}

void SvgPlot::line(double x1, double y1, double x2, double y2, std::string_view colour,
                   double width, std::string_view dash, std::string_view extra) {
  out_ << "<line x1=\"" << f2(x1) << "\" y1=\"" << f2(y1) << "\" x2=\"" << f2(x2) << "\" y2=\""
       << f2(y2) << "\" stroke=\"" << colour << "\" stroke-width=\"" << text::fixed(width, 1)
       << "\"";
  if (!dash.empty()) out_ << " stroke-dasharray=\"" << dash << "\"";
  out_ << extra << "/>\n";
}

void SvgPlot::text(double x, double y, std::string_view s, std::string_view anchor,
                   std::string_view extra) {
  out_ << "<text x=\"" << f2(x) << "\" y=\"" << f2(y) << "\" text-anchor=\"" << anchor << "\""
       << extra << ">" << text::xml_escape(s) << "</text>\n";
}

}  // namespace realign
