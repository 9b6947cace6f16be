#include "realign/app/follow/follow_output.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace realign {
namespace {

constexpr std::size_t kSparkWidth = 60;

std::string number_or_na(double v, int decimals) {
  return std::isnan(v) ? std::string("n/a") : fmt::format("{:.{}f}", v, decimals);
}

// "a | b | c" of the values, each formatted by `one`.
template <class One>
std::string bars(const std::vector<GoodTime>& good, One one) {
  std::vector<std::string> parts;
  for (const GoodTime& g : good) parts.push_back(one(g));
  return fmt::format("{}", fmt::join(parts, " | "));
}

}  // namespace

std::vector<std::pair<std::string, std::string>> line_fields(const FrameLine& l, bool filtered) {
  // 1e-6 mm and 1e-9 rad: below what the fit resolves, so replays compare exactly enough.
  std::vector<std::pair<std::string, std::string>> f = {
      {"frame", fmt::format("{}", l.frame)},
      {"trans_x", fmt::format("{:.6f}", l.rp[0])},
      {"trans_y", fmt::format("{:.6f}", l.rp[1])},
      {"trans_z", fmt::format("{:.6f}", l.rp[2])},
      {"rot_x", fmt::format("{:.9f}", l.rp[3])},
      {"rot_y", fmt::format("{:.9f}", l.rp[4])},
      {"rot_z", fmt::format("{:.9f}", l.rp[5])},
      {"framewise_displacement", number_or_na(l.fd, 6)},
      {"rmsd", number_or_na(l.rmsd, 6)},
      {"latency_ms", fmt::format("{:.2f}", l.latency_ms)},
      {"flagged", l.flagged ? "1" : "0"}};
  if (filtered) f.emplace_back("framewise_displacement_filtered", number_or_na(l.fd_filtered, 6));
  return f;
}

std::string follow_header(bool filtered) {
  std::vector<std::string> names;
  for (const auto& [name, value] : line_fields(FrameLine{}, filtered)) names.push_back(name);
  return fmt::format("{}", fmt::join(names, "\t"));
}

std::string follow_line(const FrameLine& l, bool filtered) {
  std::vector<std::string> values;
  for (const auto& [name, value] : line_fields(l, filtered)) values.push_back(value);
  return fmt::format("{}", fmt::join(values, "\t"));
}

std::string follow_json(const FrameLine& l, bool filtered, const std::string& file) {
  std::string s = "{";
  for (const auto& [name, value] : line_fields(l, filtered))
    s += fmt::format("\"{}\":{},", name, value == "n/a" ? "null" : value);
  // A file name need not be valid UTF-8; such bytes become U+FFFD, as in the sidecars.
  return s + "\"file\":" +
         nlohmann::json(file).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "}";
}

std::string sparkline(const std::vector<double>& values, double top) {
  static const char* const kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::string s;
  for (double v : values) {
    const double x = std::isnan(v) || top <= 0 ? 0.0 : std::clamp(v / top, 0.0, 1.0);
    s += kBlocks[std::min(7, static_cast<int>(x * 7.999))];
  }
  return s;
}

std::string good_time_status(const std::vector<GoodTime>& good, double criterion_minutes,
                             bool filtered) {
  if (good.empty()) return {};
  const char* fd = filtered ? "filtered FD" : "FD";
  const std::string thresholds =
      bars(good, [](const GoodTime& g) { return fmt::format("{:g}", g.threshold_mm); });
  if (std::isnan(good[0].minutes))  // no TR: frames
    return fmt::format("good frames {} of {} at {} \u2264 {} mm",
                       bars(good, [](const GoodTime& g) { return std::to_string(g.good_frames); }),
                       good[0].frames, fd, thresholds);
  std::string s =
      fmt::format("good time {} min at {} \u2264 {} mm",
                  bars(good, [](const GoodTime& g) { return fmt::format("{:.1f}", g.minutes); }),
                  fd, thresholds);
  if (criterion_minutes > 0)
    s += fmt::format(
        "; {:g} min in {} min more", criterion_minutes, bars(good, [](const GoodTime& g) {
          return std::isinf(g.further_minutes) ? std::string("never")
                                               : fmt::format("{:.1f}", g.further_minutes);
        }));
  return s;
}

LineWriter::LineWriter(std::FILE* out, bool live, const LiveView& view)
    : out_(out), live_(live), view_(view) {}

LineWriter::~LineWriter() {
  if (live_ && drawn_) std::fputs("\n", out_);
  std::fflush(out_);
}

void LineWriter::header() {
  std::fprintf(out_, "%s\n", follow_header(view_.filtered).c_str());
  std::fflush(out_);
}

void LineWriter::write(const FrameLine& line, const std::vector<GoodTime>& good) {
  ++frames_;
  if (line.flagged) ++flagged_;
  const double fd = view_.filtered ? line.fd_filtered : line.fd;
  last_fd_ = std::isnan(fd) ? 0.0 : fd;
  last_latency_ms_ = line.latency_ms;
  recent_.push_back(last_fd_);
  if (recent_.size() > kSparkWidth) recent_.erase(recent_.begin());
  // On a terminal the status is cleared (from the start of its first line to the end of
  // the screen), the line printed and the status drawn again below it.
  if (live_ && drawn_) {
    std::fputs("\r", out_);
    if (!good_.empty()) std::fputs("\033[1A", out_);
    std::fputs("\033[J", out_);
  }
  good_ = good;
  std::fprintf(out_, "%s\n", follow_line(line, view_.filtered).c_str());
  if (live_) {
    std::fputs(status().c_str(), out_);
    drawn_ = true;
  }
  std::fflush(out_);
}

std::string LineWriter::status() const {
  // The sparkline's top is twice the threshold, so a flagged frame stands above the middle.
  std::string s = fmt::format("frame {}  {} {:.2f} mm  {}  {} above {:g} mm  latency {:.0f} ms",
                              frames_, view_.filtered ? "filtered FD" : "FD", last_fd_,
                              sparkline(recent_, 2.0 * view_.fd_threshold_mm), flagged_,
                              view_.fd_threshold_mm, last_latency_ms_);
  if (!good_.empty()) s += "\n" + good_time_status(good_, view_.criterion_minutes, view_.filtered);
  return s;
}

}  // namespace realign
