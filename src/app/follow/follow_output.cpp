#include "realign/app/follow/follow_output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace realign {
namespace {

constexpr std::size_t kSparkWidth = 60;

std::string number_or_na(double v, int decimals) {
  return std::isnan(v) ? std::string("n/a") : fmt::format("{:.{}f}", v, decimals);
}

}  // namespace

std::string follow_header() {
  return "frame\ttrans_x\ttrans_y\ttrans_z\trot_x\trot_y\trot_z\tframewise_displacement\trmsd\t"
         "latency_ms\tflagged";
}

std::string follow_line(const FrameLine& l) {
  // 1e-6 mm and 1e-9 rad: below what the fit resolves, so replays compare exactly enough.
  return fmt::format("{}\t{:.6f}\t{:.6f}\t{:.6f}\t{:.9f}\t{:.9f}\t{:.9f}\t{}\t{}\t{:.2f}\t{}",
                     l.frame, l.rp[0], l.rp[1], l.rp[2], l.rp[3], l.rp[4], l.rp[5],
                     number_or_na(l.fd, 6), number_or_na(l.rmsd, 6), l.latency_ms,
                     l.flagged ? 1 : 0);
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

LineWriter::LineWriter(std::FILE* out, bool live, double fd_threshold_mm)
    : out_(out), live_(live), threshold_(fd_threshold_mm) {}

LineWriter::~LineWriter() {
  if (live_ && frames_ > 0) std::fprintf(out_, "\r\033[2K%s\n", status().c_str());
  std::fflush(out_);
}

void LineWriter::header() {
  std::fprintf(out_, "%s\n", follow_header().c_str());
  std::fflush(out_);
}

void LineWriter::write(const FrameLine& line) {
  ++frames_;
  if (line.flagged) ++flagged_;
  last_fd_ = std::isnan(line.fd) ? 0.0 : line.fd;
  last_latency_ms_ = line.latency_ms;
  recent_.push_back(last_fd_);
  if (recent_.size() > kSparkWidth) recent_.erase(recent_.begin());
  // On a terminal the status line is cleared, the line printed and the status redrawn.
  if (live_) std::fputs("\r\033[2K", out_);
  std::fprintf(out_, "%s\n", follow_line(line).c_str());
  if (live_) std::fputs(status().c_str(), out_);
  std::fflush(out_);
}

std::string LineWriter::status() const {
  // The sparkline's top is twice the threshold, so a flagged frame stands above the middle.
  return fmt::format("frame {}  FD {:.2f} mm  {}  {} above {:g} mm  latency {:.0f} ms", frames_,
                     last_fd_, sparkline(recent_, 2.0 * threshold_), flagged_, threshold_,
                     last_latency_ms_);
}

}  // namespace realign
