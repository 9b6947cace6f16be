#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "realign/core/motion_record.hpp"
#include "realign/report/motion_plot.hpp"
#include "report/sample_record.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

using testing::count_of;
using testing::sample_record;
using testing::slurp;

constexpr double kPi = 3.14159265358979323846;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// One SVG element as written: its attributes, and its text for <text>.
struct Element {
  std::map<std::string, std::string> attr;
  std::string text;
};

// The `tag` elements of an SVG fragment, in document order.
std::vector<Element> elements(const std::string& svg, const std::string& tag) {
  const std::regex element(tag == "text" ? "<text([^>]*)>([^<]*)</text>"
                                         : "<" + tag + "((?:\\s[^>]*)?)/>");
  const std::regex attribute("([a-zA-Z_:][a-zA-Z0-9_:-]*)=\"([^\"]*)\"");
  std::vector<Element> out;
  for (std::sregex_iterator m(svg.begin(), svg.end(), element), end; m != end; ++m) {
    Element e;
    const std::string attrs = (*m)[1];
    for (std::sregex_iterator a(attrs.begin(), attrs.end(), attribute); a != end; ++a)
      e.attr[(*a)[1]] = (*a)[2];
    if (tag == "text") e.text = (*m)[2];
    out.push_back(std::move(e));
  }
  return out;
}

// The contents of each <g>...</g>: one per panel.
std::vector<std::string> groups(const std::string& svg) {
  std::vector<std::string> out;
  for (std::size_t p = svg.find("<g>"); p != std::string::npos; p = svg.find("<g>", p + 1)) {
    const std::size_t close = svg.find("</g>", p);
    if (close == std::string::npos) break;
    out.push_back(svg.substr(p + 3, close - p - 3));
  }
  return out;
}

struct Box {
  double left = 0, top = 0, right = 0, bottom = 0;
  bool contains(double x, double y) const {
    return x >= left - 1e-6 && x <= right + 1e-6 && y >= top - 1e-6 && y <= bottom + 1e-6;
  }
};

// The panel's frame: its one unfilled, stroked rectangle.
Box border(const std::string& group) {
  for (const Element& r : elements(group, "rect")) {
    if (r.attr.count("stroke") == 0 || r.attr.at("fill") != "none") continue;
    const double x = std::stod(r.attr.at("x")), y = std::stod(r.attr.at("y"));
    return {x, y, x + std::stod(r.attr.at("width")), y + std::stod(r.attr.at("height"))};
  }
  ADD_FAILURE() << "a panel without a border";
  return {};
}

std::vector<std::pair<double, double>> points(const Element& polyline) {
  std::vector<std::pair<double, double>> out;
  std::istringstream in(polyline.attr.at("points"));
  double x, y;
  char comma;
  while (in >> x >> comma >> y) out.emplace_back(x, y);
  return out;
}

bool has_text(const std::string& svg, const std::string& s) {
  for (const Element& t : elements(svg, "text"))
    if (t.text == s) return true;
  return false;
}

TEST(MotionPlot, StandaloneSvg) {
  const std::string dir = testing::temp_dir("motion-plot");
  const std::string path = dir + "/motion.svg";
  MotionRecord r = sample_record();
  r.unconverged = {2};
  write_motion_plot(path, r);
  const std::string s = slurp(path);

  EXPECT_TRUE(s.rfind("<?xml", 0) == 0 || s.rfind("<svg", 0) == 0);
  EXPECT_NE(s.find("</svg>"), std::string::npos);
  EXPECT_GE(count_of(s, "<polyline"), 7u);
  // Every polyline is a self-closed element with no stray '<' inside it.
  for (std::size_t p = s.find("<polyline"); p != std::string::npos;
       p = s.find("<polyline", p + 1)) {
    const std::size_t close = s.find("/>", p);
    ASSERT_NE(close, std::string::npos);
    EXPECT_EQ(s.find('<', p + 1) > close, true);
  }
  EXPECT_EQ(count_of(s, "<text"), count_of(s, "</text>"));
  EXPECT_EQ(count_of(s, "<g>"), count_of(s, "</g>"));
  // Three panels with their units, degrees for rotations, and the escaped title.
  EXPECT_NE(s.find("translation (mm)"), std::string::npos);
  EXPECT_NE(s.find("rotation (degrees)"), std::string::npos);
  EXPECT_NE(s.find("FD (mm"), std::string::npos);
  EXPECT_NE(s.find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(s.find("sub-01 &quot;run\\1&quot; &lt;bold&gt;&amp;.nii"), std::string::npos);
  EXPECT_EQ(s.find("<bold>"), std::string::npos);
  EXPECT_NE(s.find("unconverged"), std::string::npos);
  EXPECT_EQ(s.find("nan"), std::string::npos);
  EXPECT_EQ(s.find("inf"), std::string::npos);
  // No external resources.
  EXPECT_EQ(s.find("href"), std::string::npos);
}

// What a plot must show however short the run: three panels with their axes and legends,
// a line per series that has values (none for an empty run; FD's first frame has none), every
// point inside its panel, and no NaN or infinity written anywhere.
void check_short_run(const MotionRecord& r, const std::string& path) {
  const int n = static_cast<int>(r.rp.size());
  SCOPED_TRACE(std::to_string(n) + " frames");
  write_motion_plot(path, r);
  const std::string s = slurp(path);
  EXPECT_EQ(s.rfind("<?xml", 0), 0u);
  ASSERT_GE(s.size(), 7u);
  EXPECT_EQ(s.substr(s.size() - 7), "</svg>\n");
  EXPECT_EQ(s.find("nan"), std::string::npos);
  EXPECT_EQ(s.find("inf"), std::string::npos);
  EXPECT_NE(s.find(std::to_string(n) + " frames"), std::string::npos);

  const auto panels = groups(s);
  ASSERT_EQ(panels.size(), 3u);
  const std::vector<std::string> ylabels = {"translation (mm)", "rotation (degrees)",
                                            "FD (mm, radius 50 mm)"};
  const std::vector<std::vector<std::string>> legends = {
      {"x", "y", "z"}, {"pitch", "roll", "yaw"}, {"FD", "0.5 mm"}};
  // Lines per panel: one per series with values; FD has a value from frame 2 on.
  const std::size_t lines[3] = {n > 0 ? 3u : 0u, n > 0 ? 3u : 0u, n > 1 ? 1u : 0u};
  for (int k = 0; k < 3; ++k) {
    SCOPED_TRACE("panel " + std::to_string(k));
    const std::string& g = panels[k];
    const Box box = border(g);
    EXPECT_GT(box.right - box.left, 100);
    EXPECT_GT(box.bottom - box.top, 100);
    EXPECT_TRUE(has_text(g, ylabels[k]));
    EXPECT_TRUE(has_text(g, "frame"));
    for (const auto& name : legends[k]) EXPECT_TRUE(has_text(g, name)) << name;
    // Tick labels: frames 0 to at least the last frame along x, values around 0 along y.
    std::vector<double> x_ticks, y_ticks;
    for (const Element& t : elements(g, "text")) {
      const std::string& anchor = t.attr.at("text-anchor");
      if (anchor == "end") y_ticks.push_back(std::stod(t.text));
      if (anchor == "middle" && std::stod(t.attr.at("y")) > box.bottom && t.text != "frame")
        x_ticks.push_back(std::stod(t.text));
    }
    ASSERT_GE(x_ticks.size(), 2u);
    EXPECT_EQ(x_ticks.front(), 0.0);
    EXPECT_GE(x_ticks.back(), std::max(n, 1));
    ASSERT_GE(y_ticks.size(), 2u);
    EXPECT_LE(*std::min_element(y_ticks.begin(), y_ticks.end()), 0.0);
    EXPECT_GE(*std::max_element(y_ticks.begin(), y_ticks.end()), k == 2 ? 0.5 : 0.0);

    const auto polylines = elements(g, "polyline");
    ASSERT_EQ(polylines.size(), lines[k]);
    for (const Element& line : polylines) {
      const auto pts = points(line);
      EXPECT_EQ(pts.size(), k == 2 ? 1u : static_cast<std::size_t>(n));
      for (const auto& [x, y] : pts) EXPECT_TRUE(box.contains(x, y)) << x << "," << y;
      for (std::size_t i = 1; i < pts.size(); ++i) EXPECT_GT(pts[i].first, pts[i - 1].first);
    }
  }
  // The FD threshold: a dashed horizontal line across the FD panel.
  const Box fd = border(panels[2]);
  int thresholds = 0;
  for (const Element& l : elements(panels[2], "line")) {
    if (l.attr.count("stroke-dasharray") == 0 || l.attr.at("y1") != l.attr.at("y2")) continue;
    if (std::abs(std::stod(l.attr.at("x2")) - std::stod(l.attr.at("x1")) - (fd.right - fd.left)) >
        1e-6)
      continue;
    EXPECT_TRUE(fd.contains(fd.left, std::stod(l.attr.at("y1"))));
    ++thresholds;
  }
  EXPECT_EQ(thresholds, 1);
}

TEST(MotionPlot, DegenerateRuns) {
  const std::string dir = testing::temp_dir("motion-plot");
  MotionRecord none;
  check_short_run(none, dir + "/none.svg");

  MotionRecord one;
  one.rp = {RigidParams{0, 0, 0, 0, 0, 0}};
  one.fd = {kNaN};
  check_short_run(one, dir + "/one.svg");

  MotionRecord two;
  two.rp = {RigidParams{0, 0, 0, 0, 0, 0}, RigidParams{0.3, -0.2, 0.1, 0.01, -0.02, 0.005}};
  two.fd = {kNaN, 0.3 + 0.2 + 0.1 + 50 * (0.01 + 0.02 + 0.005)};
  check_short_run(two, dir + "/two.svg");
}

TEST(MotionPanels, TheSameSeriesForThePlotAndTheReport) {
  MotionRecord r = sample_record();
  r.unconverged = {1};
  r.fd_threshold_mm = 1.0;  // frames 2 and 3 (0-based 1, 2) are above it
  for (const MotionPlotKind kind : {MotionPlotKind::standalone, MotionPlotKind::report}) {
    const bool report = kind == MotionPlotKind::report;
    SCOPED_TRACE(report ? "report" : "standalone");
    const std::vector<PlotPanel> panels = motion_panels(r, kind);
    // The report adds rmsd and DVARS, which the record has.
    ASSERT_EQ(panels.size(), report ? 5u : 3u);
    for (int k = 0; k < 3; ++k) {
      ASSERT_EQ(panels[0].series.size(), 3u);
      ASSERT_EQ(panels[1].series.size(), 3u);
      for (std::size_t t = 0; t < r.rp.size(); ++t) {
        EXPECT_EQ(panels[0].series[k].y.at(t), r.rp[t][k]);
        EXPECT_NEAR(panels[1].series[k].y.at(t), r.rp[t][3 + k] / kPi * 180, 1e-12);
      }
    }
    ASSERT_EQ(panels[2].series.size(), 1u);
    ASSERT_EQ(panels[2].series[0].y.size(), r.fd.size());
    for (std::size_t t = 1; t < r.fd.size(); ++t) EXPECT_EQ(panels[2].series[0].y[t], r.fd[t]);
    ASSERT_EQ(panels[2].references.size(), 1u);
    EXPECT_EQ(panels[2].references[0].y, 1.0);
    if (report) {
      EXPECT_EQ(panels[3].series.at(0).y.at(2), r.rmsd[2]);
      EXPECT_EQ(panels[4].series.at(0).y.at(2), r.dvars[2]);
      EXPECT_EQ(panels[2].dots.frames, (std::vector<int>{1, 2}));
    } else {
      EXPECT_TRUE(panels[2].dots.frames.empty());
    }
    // Every panel marks the unconverged frame; the report also the frames above threshold.
    for (const PlotPanel& p : panels) {
      std::vector<std::vector<int>> marked;
      for (const FrameMarks& m : p.lines) marked.push_back(m.frames);
      if (report) {
        EXPECT_EQ(marked, (std::vector<std::vector<int>>{{1, 2}, {1}}));
      } else {
        EXPECT_EQ(marked, (std::vector<std::vector<int>>{{1}}));
      }
    }
  }
  r.rmsd.clear();
  r.dvars.clear();
  EXPECT_EQ(motion_panels(r, MotionPlotKind::report).size(), 3u);
}

TEST(MotionPlot, UnwritablePathThrows) {
  const std::string bad = testing::temp_dir("motion-plot") + "/no-such-dir/motion.svg";
  EXPECT_THROW(write_motion_plot(bad, sample_record()), std::runtime_error);
}

}  // namespace
}  // namespace realign
