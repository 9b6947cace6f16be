#include "realign/report/subject_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <stdexcept>

#include "realign/core/metrics.hpp"
#include "realign/io/text_io.hpp"
#include "realign/report/motion_plot.hpp"
#include "realign/report/svg_plot.hpp"

namespace realign {
namespace {

using text::xml_escape;

const char* kStyle = R"(
body { font-family: Helvetica, Arial, sans-serif; color: #222222; background: #ffffff; margin: 0; }
main { width: 1000px; margin: 0 auto; padding: 12px 16px 32px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 17px; border-bottom: 1px solid #cccccc; padding-bottom: 3px; margin: 26px 0 10px; }
.note { color: #444444; font-size: 13px; line-height: 1.4; }
table.runs { border-collapse: collapse; font-size: 13px; }
table.runs th { text-align: left; color: #555555; font-weight: normal; padding: 3px 14px 3px 0; }
table.runs td { padding: 3px 14px 3px 0; border-top: 1px solid #eeeeee; }
svg { display: block; }
footer { margin-top: 24px; font-size: 12px; color: #777777; }
)";

struct RunSummary {
  double max_fd = 0, mean_fd = 0;
  int over_threshold = 0;
  MotionExtent extent;
};

RunSummary summarise(const MotionRecord& r) {
  RunSummary s;
  int n = 0;
  for (const double fd : r.fd) {
    if (!std::isfinite(fd)) continue;
    s.max_fd = std::max(s.max_fd, fd);
    s.mean_fd += fd;
    ++n;
  }
  if (n > 0) s.mean_fd /= n;
  s.over_threshold = static_cast<int>(frames_over_threshold(r).size());
  s.extent = motion_extent(r.rp);
  return s;
}

std::string link(const SubjectRun& run, const std::string& text) {
  if (run.report_href.empty()) return xml_escape(text);
  return fmt::format("<a href=\"{}\">{}</a>", xml_escape(run.report_href), xml_escape(text));
}

void runs_table(std::string& h, const std::vector<SubjectRun>& runs) {
  h += "<table class=\"runs\">\n<tr><th>run</th><th>frames</th><th>reference</th>"
       "<th>max FD (mm)</th><th>mean FD (mm)</th><th>frames above threshold</th>"
       "<th>largest translation (mm)</th><th>largest rotation (&#176;)</th></tr>\n";
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const MotionRecord& r = *runs[k].motion;
    const RunSummary s = summarise(r);
    fmt::format_to(std::back_inserter(h),
                   "<tr id=\"run-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{:.3f}</td>"
                   "<td>{:.3f}</td><td>{}</td><td>{:.3f}</td><td>{:.3f}</td></tr>\n",
                   k + 1, link(runs[k], r.input_name), r.rp.size(), xml_escape(r.reference),
                   s.max_fd, s.mean_fd, s.over_threshold, s.extent.translation_mm,
                   s.extent.rotation_deg);
  }
  h += "</table>\n";
}

// Translations, rotations and FD, as the run's own report draws them.
void run_plot(std::string& h, const MotionRecord& r) {
  std::vector<PlotPanel> panels = motion_panels(r, MotionPlotKind::report);
  panels.resize(3);
  const double width = 1000, left = 90, right = 170, top = 34, ph = 120, gap = 70;
  SvgPlot plot;
  plot.begin(width, top + 3 * (ph + gap) - 30, false);
  for (std::size_t k = 0; k < panels.size(); ++k)
    plot.panel({left, top + k * (ph + gap), width - left - right, ph}, panels[k],
               static_cast<int>(r.rp.size()));
  plot.end();
  h += plot.str();
}

}  // namespace

void write_subject_report(const std::string& path, const std::vector<SubjectRun>& runs) {
  for (const SubjectRun& run : runs)
    if (!run.motion) throw std::invalid_argument("write_subject_report: a run without motion");
  const std::string first = runs.empty() ? std::string() : runs.front().motion->input_name;
  const std::string runs_word =
      fmt::format("{} {}", runs.size(), runs.size() == 1 ? "run" : "runs");
  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<title>realign QC: {} from {}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n"
      "<h1>Motion correction QC: {} of one subject</h1>\n"
      "<p class=\"note\">Every run is realigned to the reference of the first run, {}; the "
      "parameters of every run are relative to frame 1 of {} (SPM's convention for several "
      "sessions), in world (RAS) millimetres and degrees, so a later run's traces start at its "
      "offset from the first run. FD compares each frame with the previous frame of the same "
      "run. Each run's name links to its own report.</p>\n<h2>Runs</h2>\n",
      runs_word, xml_escape(first), kStyle, runs_word,
      runs.empty() ? std::string() : xml_escape(runs.front().motion->reference), xml_escape(first));
  runs_table(h, runs);
  for (std::size_t k = 0; k < runs.size(); ++k) {
    fmt::format_to(std::back_inserter(h), "<h2>Run {}: {}</h2>\n", k + 1,
                   link(runs[k], runs[k].motion->input_name));
    run_plot(h, *runs[k].motion);
  }
  fmt::format_to(std::back_inserter(h),
                 "<footer>Written by realign {}. The numbers are in each run's confounds TSV."
                 "</footer>\n</main>\n</body>\n</html>\n",
                 REALIGN_VERSION);
  std::ofstream f = text::open_for_write(path);
  f << h;
  text::finish_write(f, path);
}

}  // namespace realign
