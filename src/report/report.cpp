#include "realign/report/report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <utility>

#include "realign/core/good_time.hpp"
#include "realign/core/metrics.hpp"
#include "realign/core/rigid.hpp"
#include "realign/io/text_io.hpp"
#include "realign/report/png.hpp"
#include "realign/report/svg_plot.hpp"

namespace realign {
namespace {

constexpr double kPi = 3.14159265358979323846;

// For each world axis (R, A, S), the voxel axis closest to it and whether the voxel index
// runs against it. Columns are compared as directions, so voxel sizes do not bias the match.
struct AxisMatch {
  std::array<int, 3> voxel_axis{0, 1, 2};
  std::array<bool, 3> reversed{false, false, false};
};

AxisMatch match_axes(const Grid& grid) {
  Eigen::Matrix3d dir = grid.vox2world.topLeftCorner<3, 3>();
  for (int v = 0; v < 3; ++v) {
    const double n = dir.col(v).norm();
    if (n > 0) dir.col(v) /= n;
  }
  AxisMatch m;
  std::array<bool, 3> world_done{}, voxel_done{};
  for (int round = 0; round < 3; ++round) {
    int bw = -1, bv = -1;
    double best = -1.0;
    for (int w = 0; w < 3; ++w) {
      for (int v = 0; v < 3; ++v) {
        if (world_done[w] || voxel_done[v] || std::abs(dir(w, v)) <= best) continue;
        best = std::abs(dir(w, v));
        bw = w;
        bv = v;
      }
    }
    world_done[bw] = voxel_done[bv] = true;
    m.voxel_axis[bw] = bv;
    m.reversed[bw] = dir(bw, bv) < 0;
  }
  return m;
}

struct View {
  const char* plane;
  int across, up, through;  // world axes shown left to right, bottom to top, and cut
  bool across_ascending;    // the world coordinate grows to the right
  const char *left, *right, *top, *bottom;
};

SliceImage cut(const Grid& grid, const std::vector<float>& volume, const AxisMatch& m,
               const View& view, float lo, float hi) {
  const Vec3 size_mm = grid.voxel_size_mm();
  const int va = m.voxel_axis[view.across], vu = m.voxel_axis[view.up];
  const int vt = m.voxel_axis[view.through];
  SliceImage s;
  s.plane = view.plane;
  s.width = grid.dim[va];
  s.height = grid.dim[vu];
  s.width_mm = s.width * size_mm[va];
  s.height_mm = s.height * size_mm[vu];
  s.left = view.left;
  s.right = view.right;
  s.top = view.top;
  s.bottom = view.bottom;
  s.slices = grid.dim[vt];
  s.slice = (s.slices - 1) / 2;
  s.pixels.resize(static_cast<std::size_t>(s.width) * s.height);
  const double range = static_cast<double>(hi) - lo;
  std::array<int, 3> idx{};
  idx[vt] = s.slice;
  for (int row = 0; row < s.height; ++row) {
    // Row 0 is the top: the highest world coordinate along `up`.
    const int up_pos = s.height - 1 - row;
    idx[vu] = m.reversed[view.up] ? s.height - 1 - up_pos : up_pos;
    for (int col = 0; col < s.width; ++col) {
      const int across_pos = view.across_ascending ? col : s.width - 1 - col;
      idx[va] = m.reversed[view.across] ? s.width - 1 - across_pos : across_pos;
      const std::size_t v =
          (static_cast<std::size_t>(idx[2]) * grid.dim[1] + idx[1]) * grid.dim[0] + idx[0];
      const double x = volume[v];
      const double g = std::isnan(x) ? 0.0 : std::clamp((x - lo) / range, 0.0, 1.0) * 255.0;
      s.pixels[static_cast<std::size_t>(row) * s.width + col] =
          static_cast<std::uint8_t>(std::lround(g));
    }
  }
  return s;
}

// 1-based, runs of consecutive frames as ranges: "3-9, 12".
std::string frame_list(const std::vector<int>& frames) {
  if (frames.empty()) return "none";
  std::string s;
  for (const auto& [first, last] : frame_runs(frames)) {
    if (!s.empty()) s += ", ";
    s += first == last ? std::to_string(first + 1) : fmt::format("{}-{}", first + 1, last + 1);
  }
  return s;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// The numbers of the summary table, kept apart from their formatting.
struct Summary {
  double max_fd = std::numeric_limits<double>::quiet_NaN();
  double mean_fd = std::numeric_limits<double>::quiet_NaN();
  int max_fd_frame = -1;
  std::vector<int> over;  // 0-based frames with FD above the threshold
  double max_trans = 0, max_rot_deg = 0, max_disp = 0;
  int max_trans_frame = 0, max_trans_axis = 0, max_rot_frame = 0, max_rot_axis = 0;
  int max_disp_frame = 0;
  long total_iter = 0;
  int max_iter = 0, max_iter_frame = 0;
};

Summary summarise(const QcReport& q) {
  const MotionRecord& r = *q.motion;
  Summary s;
  double sum = 0;
  int count = 0;
  for (std::size_t n = 0; n < r.fd.size(); ++n) {
    const double v = r.fd[n];
    if (!std::isfinite(v)) continue;
    sum += v;
    ++count;
    if (s.max_fd_frame < 0 || v > s.max_fd) {
      s.max_fd = v;
      s.max_fd_frame = static_cast<int>(n);
    }
  }
  if (count) s.mean_fd = sum / count;
  s.over = frames_over_threshold(r);
  const Vec3 centre = q.motion->grid.centre_mm();
  for (std::size_t n = 0; n < r.rp.size(); ++n) {
    const int f = static_cast<int>(n);
    for (int k = 0; k < 3; ++k) {
      if (std::abs(r.rp[n][k]) > s.max_trans) {
        s.max_trans = std::abs(r.rp[n][k]);
        s.max_trans_frame = f;
        s.max_trans_axis = k;
      }
      const double deg = std::abs(r.rp[n][3 + k]) * 180.0 / kPi;
      if (deg > s.max_rot_deg) {
        s.max_rot_deg = deg;
        s.max_rot_frame = f;
        s.max_rot_axis = k;
      }
    }
    const double d = max_sphere_displacement(rigid_matrix(r.rp[n]), centre, r.fd_radius_mm);
    if (d > s.max_disp) {
      s.max_disp = d;
      s.max_disp_frame = f;
    }
  }
  for (std::size_t n = 0; n < q.motion->iterations.size(); ++n) {
    s.total_iter += q.motion->iterations[n];
    if (q.motion->iterations[n] > s.max_iter) {
      s.max_iter = q.motion->iterations[n];
      s.max_iter_frame = static_cast<int>(n);
    }
  }
  return s;
}

class Html {
 public:
  std::string out;

  template <typename... Args>
  void add(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(out), f, std::forward<Args>(args)...);
  }
  // A summary row; the id lets readers (and tests) find a value without parsing prose.
  void row(const char* id, const std::string& label, const std::string& value, bool flag = false) {
    add("<tr id=\"{}\"{}><th>{}</th><td>{}</td></tr>\n", id, flag ? " class=\"flag\"" : "",
        text::xml_escape(label), text::xml_escape(value));
  }
};

// Whether the run's motion stays within what a head can do, with the numbers that say so.
std::string plausibility(const MotionRecord& r) {
  const MotionExtent e = motion_extent(r.rp);
  if (!e.implausible()) {
    return fmt::format(
        "yes (every frame's translation within {:.6g} mm and rotation within {:.6g}\u00b0 of "
        "frame 1)",
        kImplausibleTranslationMm, kImplausibleRotationDeg);
  }
  return fmt::format(
      "NO: a translation of {:.3f} mm (its length; frame {}), a rotation of {:.3f}\u00b0 (its "
      "angle; frame {}) from frame 1, beyond {:.6g} mm or {:.6g}\u00b0: check the estimate and "
      "the data",
      e.translation_mm, e.translation_frame + 1, e.rotation_deg, e.rotation_frame + 1,
      kImplausibleTranslationMm, kImplausibleRotationDeg);
}

// The rows about the input and how it was registered.
void run_rows(Html& h, const QcReport& q) {
  const MotionRecord& r = *q.motion;
  const Grid& g = r.grid;
  const Vec3 vs = g.voxel_size_mm();
  h.row("input", "Input", r.input_name.empty() ? "(unnamed)" : r.input_name);
  h.row("grid", "Grid",
        fmt::format("{} \u00d7 {} \u00d7 {} voxels of {:.4g} \u00d7 {:.4g} \u00d7 {:.4g} mm",
                    g.dim[0], g.dim[1], g.dim[2], vs[0], vs[1], vs[2]));
  h.row("frames", "Frames", fmt::format("{}", r.rp.size()));
  h.row("tr", "Repetition time (TR)", r.tr_s > 0 ? fmt::format("{:.6g} s", r.tr_s) : "unknown");
  h.row("reference", "Reference", r.reference.empty() ? "unknown" : r.reference);
}

// One of several runs of a session, each relative to its own first frame: where that frame
// sits relative to the session's first run.
void offset_row(Html& h, const MotionRecord& r) {
  if (r.offset_from.empty()) return;
  const RigidParams& o = r.offset;
  const double disp = max_sphere_displacement(rigid_matrix(o), r.grid.centre_mm(), r.fd_radius_mm);
  h.row("offset", "Offset from the session's first run",
        fmt::format("{:.3f} mm at most within {:.6g} mm of the centre (translation {:.3f}, {:.3f}, "
                    "{:.3f} mm; rotation {:.3f}, {:.3f}, {:.3f}\u00b0): frame 1 from {}'s frame "
                    "1, whose space every run is resliced into",
                    disp, r.fd_radius_mm, o[0], o[1], o[2], o[3] * 180.0 / M_PI,
                    o[4] * 180.0 / M_PI, o[5] * 180.0 / M_PI, r.offset_from));
}

// FIRMM's good time: minutes of data at or below each --good-fd threshold.
void good_time_row(Html& h, const MotionRecord& r, const std::string& fd_name) {
  const std::vector<GoodTime> good = good_time(r.censor_fd(), r.nonsteady, r.tr_s, r.good_fd_mm);
  if (good.empty()) return;
  std::vector<std::string> parts;
  for (const GoodTime& g : good)
    parts.push_back(std::isnan(g.minutes)
                        ? fmt::format("\u2264 {:.6g} mm: {} frames ({:.1f}%)", g.threshold_mm,
                                      g.good_frames, 100.0 * g.fraction())
                        : fmt::format("\u2264 {:.6g} mm: {:.2f} min ({} frames, {:.1f}%)",
                                      g.threshold_mm, g.minutes, g.good_frames,
                                      100.0 * g.fraction()));
  std::string value = fmt::format("{}", fmt::join(parts, "; "));
  value += fmt::format(" of {} frames{}", good[0].frames,
                       r.nonsteady > 0 ? " after the non-steady-state ones" : "");
  if (std::isnan(good[0].minutes)) value += " (TR unknown: frames only)";
  h.row("good-time", fmt::format("Good time ({} at or below)", fd_name), value);
}

void motion_rows(Html& h, const MotionRecord& r, const Summary& s) {
  static const char* axis[3] = {"x", "y", "z"};
  static const char* rot[3] = {"pitch", "roll", "yaw"};
  const auto at_frame = [](int f) { return fmt::format(" (frame {})", f + 1); };
  h.row(
      "max-fd", "Maximum FD",
      s.max_fd_frame < 0 ? "n/a" : fmt::format("{:.3f} mm{}", s.max_fd, at_frame(s.max_fd_frame)));
  h.row("mean-fd", "Mean FD",
        std::isfinite(s.mean_fd) ? fmt::format("{:.3f} mm", s.mean_fd) : "n/a");
  if (r.fd_filter.active())
    h.row("fd-filter", "Breathing filter",
          fmt::format("--fd-filter {} (breaths per minute): the parameters notch-filtered "
                      "(causal IIR) before FD; the filtered FD flags the frames and counts good "
                      "time, FD above is unfiltered",
                      r.fd_filter.text()));
  const std::size_t frames = r.rp.size();
  const double pct = frames > 0 ? 100.0 * s.over.size() / frames : 0.0;
  const std::string fd_name = r.fd_filter.active() ? "filtered FD" : "FD";
  h.row("n-over", fmt::format("Frames with {} > {:.6g} mm", fd_name, r.fd_threshold_mm),
        fmt::format("{} ({:.1f}% of frames){}", s.over.size(), pct,
                    mostly_moving(r.censor_fd(), r.fd_threshold_mm)
                        ? ": most of the run moved, check it before use"
                        : ""),
        !s.over.empty());
  h.row("over", "Those frames", frame_list(s.over), !s.over.empty());
  good_time_row(h, r, fd_name);
  h.row("max-trans", "Maximum |translation| (along one axis)",
        fmt::format("{:.3f} mm ({}, frame {})", s.max_trans, axis[s.max_trans_axis],
                    s.max_trans_frame + 1));
  h.row("max-rot", "Maximum |rotation| (about one axis)",
        fmt::format("{:.3f}\u00b0 ({}, frame {})", s.max_rot_deg, rot[s.max_rot_axis],
                    s.max_rot_frame + 1));
  h.row("max-disp",
        fmt::format("Largest displacement within {:.6g} mm of the volume centre", r.fd_radius_mm),
        fmt::format("{:.3f} mm{}", s.max_disp, at_frame(s.max_disp_frame)));
  if (!r.iterations.empty()) {
    h.row("iterations", "Gauss-Newton iterations (final pass)",
          fmt::format("{} in all, at most {} for one frame{}", s.total_iter, s.max_iter,
                      at_frame(s.max_iter_frame)));
  }
  h.row("unconverged", "Frames that did not converge", frame_list(r.unconverged),
        !r.unconverged.empty());
  h.row("nonsteady", "Non-steady-state frames",
        r.nonsteady == 0
            ? "none"
            : fmt::format("{} ({}): brighter, kept out of a mean reference",
                          r.nonsteady == 1 ? std::string("1") : fmt::format("1-{}", r.nonsteady),
                          r.nonsteady_given ? "--dummy-scans" : "detected"),
        r.nonsteady > 0);
  h.row("plausible", "Motion a head can make", plausibility(r), motion_extent(r.rp).implausible());
  offset_row(h, r);
}

void summary_table(Html& h, const QcReport& q, const Summary& s) {
  h.out += "<table class=\"summary\">\n";
  run_rows(h, q);
  motion_rows(h, *q.motion, s);
  if (q.unseen_brain_fraction >= 0)
    h.row("unseen", "Brain some frame could not see",
          fmt::format("{:.1f}% of the brain mask's voxels: 0 in every frame of the series",
                      100.0 * q.unseen_brain_fraction),
          q.unseen_brain_fraction > 0.05);
  h.row("version", "realign version", REALIGN_VERSION);
  h.row("created", "Created", q.created.empty() ? utc_now() : q.created);
  h.out += "</table>\n";
}

void motion_plots(Html& h, const MotionRecord& r) {
  const std::vector<PlotPanel> panels = motion_panels(r, MotionPlotKind::report);
  const double width = 1000, left = 90, right = 170, top = 34, ph = 150, gap = 82;
  const double height = top + panels.size() * (ph + gap) - 30;
  SvgPlot plot;
  plot.begin(width, height, false);
  for (std::size_t k = 0; k < panels.size(); ++k) {
    plot.panel({left, top + k * (ph + gap), width - left - right, ph}, panels[k],
               static_cast<int>(r.rp.size()));
  }
  plot.end();
  h.out += plot.str();
}

constexpr double kLargestSidePx = 280.0;

void slice_row(Html& h, const std::array<SliceImage, 3>& slices, double px_per_mm) {
  h.out += "<div class=\"slices\">\n";
  for (const SliceImage& s : slices) {
    const int w = static_cast<int>(std::lround(s.width_mm * px_per_mm));
    const int ht = static_cast<int>(std::lround(s.height_mm * px_per_mm));
    h.add(
        "<figure class=\"view\"><div class=\"frame\"><span class=\"t\">{}</span>"
        "<span class=\"l\">{}</span><img class=\"{}\" width=\"{}\" height=\"{}\" "
        "alt=\"{} slice\" src=\"data:image/png;base64,{}\"/><span class=\"r\">{}</span>"
        "<span class=\"b\">{}</span></div><figcaption>{}, voxel slice {} of {}</figcaption>"
        "</figure>\n",
        s.top, s.left, s.plane, w, ht, s.plane,
        base64_encode(encode_png_gray8(upscale_nearest(s, w, ht), w, ht)), s.right, s.bottom,
        s.plane, s.slice + 1, s.slices);
  }
  h.out += "</div>\n";
}

// After minus before, mid-grey where they agree, at +-1/4 of the pictures' window: what
// realignment moved shows as light and dark edges.
void difference_row(Html& h, const QcReport& q, float window, double px_per_mm) {
  std::vector<float> diff(q.mean_after.size());
  for (std::size_t v = 0; v < diff.size(); ++v) diff[v] = q.mean_after[v] - q.mean_before[v];
  const float d = window / 4;
  h.add(
      "<h3>Difference: after minus before</h3>\n<p class=\"note\" id=\"difference\">Mid-grey "
      "where the means agree; white where the mean after realignment is brighter by {:.5g} or "
      "more, black where it is darker by as much (or has no value).</p>\n",
      static_cast<double>(d));
  slice_row(h, centre_slices(q.motion->grid, diff, -d, d), px_per_mm);
}

void mean_images(Html& h, const QcReport& q) {
  const auto [lo, hi] = robust_window(q.mean_before);
  const std::array<SliceImage, 3> before = centre_slices(q.motion->grid, q.mean_before, lo, hi);
  double extent = 1.0;
  for (const SliceImage& s : before) extent = std::max({extent, s.width_mm, s.height_mm});
  // One scale for every picture, so that the three planes keep their relative sizes; the
  // largest side 280 px, three pictures to a row.
  const double px_per_mm = kLargestSidePx / extent;

  h.add(
      "<p class=\"note\">Slices through the middle of the volume, neurological convention "
      "(the subject's right on the right; letters mark the anatomical directions), shown "
      "on the voxel grid with each voxel axis along the nearest world axis and the true "
      "voxel proportions. Grey levels span the 1st to 99th percentile of the nonzero "
      "voxels of the mean before realignment ({:.5g} to {:.5g})",
      static_cast<double>(lo), static_cast<double>(hi));
  if (!q.mean_after.empty())
    h.out +=
        ", the same for both rows. A sharper mean after realignment shows that motion was "
        "corrected; blurred edges or ghosts that remain point to motion the rigid model "
        "cannot follow";
  h.out += ".</p>\n";
  h.out += "<h3>Before realignment: mean of the input frames</h3>\n";
  slice_row(h, before, px_per_mm);
  if (q.mean_after.empty()) {
    h.out +=
        "<p class=\"note\" id=\"no-after\">The frames were not resliced (--no-reslice), "
        "so there is no mean after realignment.</p>\n";
  } else {
    h.out += "<h3>After realignment: mean of the resliced frames</h3>\n";
    slice_row(h, centre_slices(q.motion->grid, q.mean_after, lo, hi), px_per_mm);
    difference_row(h, q, hi - lo, px_per_mm);
  }
}

const char* kStyle = R"(
body { font-family: Helvetica, Arial, sans-serif; color: #222222; background: #ffffff; margin: 0; }
main { width: 1000px; margin: 0 auto; padding: 12px 16px 32px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 17px; border-bottom: 1px solid #cccccc; padding-bottom: 3px; margin: 26px 0 10px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
.sub { color: #555555; margin: 0 0 8px; }
.note { color: #444444; font-size: 13px; line-height: 1.4; }
table.summary { border-collapse: collapse; font-size: 14px; }
table.summary th { text-align: left; font-weight: normal; color: #555555; padding: 3px 28px 3px 0; vertical-align: top; }
table.summary td { padding: 3px 0; }
table.summary tr { border-bottom: 1px solid #eeeeee; }
table.summary tr.flag td { color: #b33c00; font-weight: bold; }
svg { display: block; }
.slices { display: flex; gap: 20px; align-items: flex-start; }
figure.view { margin: 0; }
.frame { display: grid; grid-template-columns: 16px auto 16px; grid-template-rows: 16px auto 16px; align-items: center; justify-items: center; font-size: 12px; color: #444444; }
.frame img { grid-column: 2; grid-row: 2; display: block; image-rendering: pixelated; }
.frame .t { grid-column: 2; grid-row: 1; }
.frame .l { grid-column: 1; grid-row: 2; }
.frame .r { grid-column: 3; grid-row: 2; }
.frame .b { grid-column: 2; grid-row: 3; }
figcaption { text-align: center; font-size: 12px; color: #555555; }
footer { margin-top: 24px; font-size: 12px; color: #777777; }
)";

}  // namespace

std::vector<std::uint8_t> upscale_nearest(const SliceImage& s, int width, int height) {
  if (width <= 0 || height <= 0) throw std::invalid_argument("upscale_nearest: empty picture");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(width) * height);
  for (int row = 0; row < height; ++row) {
    const long sr = (2L * row + 1) * s.height / (2L * height);
    for (int col = 0; col < width; ++col) {
      const long sc = (2L * col + 1) * s.width / (2L * width);
      out[static_cast<std::size_t>(row) * width + col] =
          s.pixels[static_cast<std::size_t>(sr) * s.width + sc];
    }
  }
  return out;
}

std::pair<float, float> robust_window(const std::vector<float>& volume) {
  std::vector<float> v;
  for (float x : volume)
    if (std::isfinite(x) && x != 0.0f) v.push_back(x);
  if (v.empty()) return {0.0f, 1.0f};
  const auto at = [&](double p) {
    const auto k = static_cast<std::size_t>(p * (v.size() - 1));
    std::nth_element(v.begin(), v.begin() + k, v.end());
    return v[k];
  };
  float lo = at(0.01), hi = at(0.99);
  if (!(hi > lo)) {
    // A constant image: show it as bright if positive, rather than as all black.
    if (lo > 0) {
      lo = 0.0f;
    } else {
      hi = lo + 1.0f;
    }
  }
  return {lo, hi};
}

std::array<SliceImage, 3> centre_slices(const Grid& grid, const std::vector<float>& volume,
                                        float lo, float hi) {
  if (volume.size() != grid.voxels())
    throw std::invalid_argument("centre_slices: volume does not match its grid");
  const AxisMatch m = match_axes(grid);
  static const View views[3] = {{"axial", 0, 1, 2, true, "L", "R", "A", "P"},
                                {"coronal", 0, 2, 1, true, "L", "R", "S", "I"},
                                {"sagittal", 1, 2, 0, false, "A", "P", "S", "I"}};
  return {cut(grid, volume, m, views[0], lo, hi), cut(grid, volume, m, views[1], lo, hi),
          cut(grid, volume, m, views[2], lo, hi)};
}

void write_qc_report(const std::string& path, const QcReport& q) {
  if (!q.motion) throw std::invalid_argument("write_qc_report: no motion");
  if (q.mean_before.size() != q.motion->grid.voxels() ||
      (!q.mean_after.empty() && q.mean_after.size() != q.motion->grid.voxels()))
    throw std::invalid_argument("write_qc_report: a mean image does not match the grid");
  const MotionRecord& r = *q.motion;
  const Summary s = summarise(q);
  const std::string name = r.input_name.empty() ? "(unnamed input)" : r.input_name;

  Html h;
  h.add(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<title>realign QC: {0}</title>\n<style>{1}</style>\n</head>\n<body>\n<main>\n"
      "<h1>Motion correction QC report</h1>\n<p class=\"sub\">{0} \u2014 realign {2}</p>\n",
      text::xml_escape(name), kStyle, REALIGN_VERSION);
  h.out += "<h2>Summary</h2>\n";
  summary_table(h, q, s);
  h.add(
      "<h2>Motion over time</h2>\n<p class=\"note\">Parameters of each frame relative to "
      "frame 1{}, in world (RAS) millimetres and degrees; FD, rmsd and DVARS compare each "
      "frame with the previous one. Frames with FD above {:.6g} mm are shaded orange "
      "in every panel (a band per run of consecutive frames)",
      r.origin_run.empty() ? std::string()
                           : " of " + text::xml_escape(r.origin_run) + " (the subject's first run)",
      r.fd_threshold_mm);
  if (!r.unconverged.empty()) h.out += ", frames that did not converge by dotted purple lines";
  h.out += ".</p>\n";
  motion_plots(h, r);
  h.out += "<h2>Mean image</h2>\n";
  mean_images(h, q);
  h.add(
      "<footer>Written by realign {}. The numbers behind the plots are in the confounds TSV "
      "beside this file.</footer>\n</main>\n</body>\n</html>\n",
      REALIGN_VERSION);

  std::ofstream f = text::open_for_write(path);
  f << h.out;
  text::finish_write(f, path);
}

}  // namespace realign
