#include "realign/report/dataset_index.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "realign/core/metrics.hpp"
#include "realign/io/text_io.hpp"

namespace realign {
namespace {

using text::xml_escape;

const char* kIndexStyle = R"(
body { font-family: Helvetica, Arial, sans-serif; color: #222222; background: #ffffff; margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 12px 16px 32px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 17px; border-bottom: 1px solid #cccccc; padding-bottom: 3px; margin: 26px 0 10px; }
.sub, .note { color: #555555; font-size: 13px; line-height: 1.4; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eeeeee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.runs th { cursor: pointer; user-select: none; background: #f4f4f4; }
table.runs th.asc::after { content: " \25B2"; }
table.runs th.desc::after { content: " \25BC"; }
tr.flag { background: #fff1e6; }
td.over { color: #b33c00; font-weight: bold; }
tr.failed td { color: #a00000; }
footer { margin-top: 24px; font-size: 12px; color: #777777; }
)";

// Click a header to sort by its column (numbers by data-v), again to reverse.
const char* kSortScript = R"(
document.querySelectorAll('table.runs th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var asc = !th.classList.contains('asc');
    th.parentNode.querySelectorAll('th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
    th.classList.add(asc ? 'asc' : 'desc');
    var key = function (tr) {
      var td = tr.cells[col];
      return td.hasAttribute('data-v') ? parseFloat(td.getAttribute('data-v')) : td.textContent;
    };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
)";

std::string number_cell(double v, const std::string& shown, bool over) {
  return fmt::format("<td class=\"n{}\" data-v=\"{}\">{}</td>", over ? " over" : "", text::gen10(v),
                     shown);
}

std::string text_cell(const std::string& s) { return "<td>" + xml_escape(s) + "</td>"; }

std::string run_row(const IndexRun& r, const IndexLimits& limits) {
  const RunMotionSummary& m = r.motion;
  const RunFlags f = flag_run(m, limits);
  const std::string name =
      r.report_href.empty()
          ? xml_escape(r.name)
          : fmt::format("<a href=\"{}\">{}</a>", xml_escape(r.report_href), xml_escape(r.name));
  const double pct = m.frames > 0 ? 100.0 * m.frames_over / m.frames : 0.0;
  std::string row = fmt::format("<tr{}><td>{}</td>", f.any() ? " class=\"flag\"" : "", name);
  row += text_cell(r.subject) + text_cell(r.session) + text_cell(r.task) + text_cell(r.run);
  row += number_cell(m.frames, std::to_string(m.frames), false);
  row += number_cell(m.mean_fd_mm, text::fixed(m.mean_fd_mm, 3), f.mean_fd);
  row += number_cell(m.max_fd_mm, text::fixed(m.max_fd_mm, 3), f.max_fd);
  row += number_cell(m.frames_over, fmt::format("{} ({:.0f}%)", m.frames_over, pct), f.over);
  row += number_cell(m.max_displacement_mm, text::fixed(m.max_displacement_mm, 2), f.displacement);
  return row + "</tr>\n";
}

std::string runs_table(const std::vector<IndexRun>& runs, const IndexLimits& limits) {
  std::string t =
      "<table class=\"runs\"><thead><tr><th>run</th><th>subject</th><th>session</th>"
      "<th>task</th><th>run</th><th>frames</th><th>mean FD (mm)</th><th>max FD (mm)</th>"
      "<th>frames above FD threshold</th><th>max displacement (mm)</th></tr></thead>\n<tbody>\n";
  for (const IndexRun& r : runs)
    if (!r.failed) t += run_row(r, limits);
  return t + "</tbody></table>\n";
}

std::string failed_table(const std::vector<IndexRun>& runs) {
  std::string t;
  for (const IndexRun& r : runs)
    if (r.failed) t += "<tr class=\"failed\">" + text_cell(r.name) + text_cell(r.error) + "</tr>\n";
  if (t.empty()) return "<p class=\"note\">None.</p>\n";
  return "<table class=\"failed\"><thead><tr><th>run</th><th>error</th></tr></thead>\n<tbody>\n" +
         t + "</tbody></table>\n";
}

}  // namespace

RunMotionSummary summarise_motion(const MotionRecord& r) {
  RunMotionSummary s;
  s.frames = static_cast<int>(r.rp.size());
  s.tr_s = r.tr_s;
  s.fd_threshold_mm = r.fd_threshold_mm;
  const std::vector<double> fd = r.fd.empty() ? framewise_displacement(r.rp, r.fd_radius_mm) : r.fd;
  int counted = 0;
  for (double v : fd) {
    if (!std::isfinite(v)) continue;
    s.mean_fd_mm += v;
    s.max_fd_mm = std::max(s.max_fd_mm, v);
    ++counted;
  }
  if (counted > 0) s.mean_fd_mm /= counted;
  // The frames the run's own report flags: by the filtered FD when it asked for a filter.
  for (double v : r.fd_filter.active() ? r.fd_filtered : fd)
    s.frames_over += std::isfinite(v) && v > r.fd_threshold_mm ? 1 : 0;
  const Vec3 centre = r.grid.centre_mm();
  for (const RigidParams& q : r.rp)
    s.max_displacement_mm = std::max(
        s.max_displacement_mm, max_sphere_displacement(rigid_matrix(q), centre, r.fd_radius_mm));
  for (int k = 0; k < 3; ++k)
    s.voxel_mm = std::max(s.voxel_mm, r.grid.vox2world.block<3, 1>(0, k).norm());
  return s;
}

RunFlags flag_run(const RunMotionSummary& m, const IndexLimits& limits) {
  RunFlags f;
  f.mean_fd = m.mean_fd_mm > limits.mean_fd_mm;
  f.max_fd = m.max_fd_mm > limits.max_fd_mm;
  f.over = m.frames > 0 && m.frames_over > limits.over_fraction * m.frames;
  f.displacement =
      m.voxel_mm > 0 && m.max_displacement_mm > limits.displacement_voxels * m.voxel_mm;
  return f;
}

// The runs not done yet, by name.
static std::string not_done_list(const std::vector<std::string>& names) {
  if (names.empty()) return {};
  std::string t = "<h2>Not yet done</h2>\n<ul class=\"not-done\">\n";
  for (const std::string& n : names) t += "<li>" + xml_escape(n) + "</li>\n";
  return t + "</ul>\n";
}

std::string dataset_index_html(const std::vector<IndexRun>& runs, const IndexLimits& limits,
                               const std::string& title, const std::string& created,
                               const std::vector<std::string>& not_done) {
  const auto failed =
      std::count_if(runs.begin(), runs.end(), [](const IndexRun& r) { return r.failed; });
  std::string h = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<title>realign: {0}</title>\n<style>{1}</style>\n</head>\n<body>\n<main>\n"
      "<h1>Motion correction: {0}</h1>\n<p class=\"sub\">{2} runs realigned, {3} failed{6} "
      "\u2014 realign {4}, {5}</p>\n",
      xml_escape(title), kIndexStyle, runs.size() - failed, failed, REALIGN_VERSION,
      xml_escape(created),
      not_done.empty() ? std::string() : fmt::format(", {} not yet done", not_done.size()));
  h += fmt::format(
      "<h2>Runs</h2>\n<p class=\"note\">Click a column to sort. Highlighted: runs with mean FD "
      "above {:g} mm, max FD above {:g} mm, more than {:g}% of frames above the FD threshold, "
      "or a displacement of more than {:g} voxel (the cell that says why in bold). The name "
      "opens the run's report.</p>\n",
      limits.mean_fd_mm, limits.max_fd_mm, 100 * limits.over_fraction, limits.displacement_voxels);
  h += runs_table(runs, limits);
  h += "<h2>Failed runs</h2>\n" + failed_table(runs);
  h += not_done_list(not_done);
  h += fmt::format("<footer>Written by realign {}.</footer>\n</main>\n<script>{}</script>\n",
                   REALIGN_VERSION, kSortScript);
  return h + "</body>\n</html>\n";
}

}  // namespace realign
