#include "realign/app/platform/progress.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace realign {
namespace {

enum class Mode { Off, Bar, Lines };
Mode g_mode = Mode::Off;

}  // namespace

void Progress::configure(bool rank_zero) {
  if (!rank_zero || !spdlog::should_log(spdlog::level::info))
    g_mode = Mode::Off;
  else
    g_mode = isatty(STDERR_FILENO) ? Mode::Bar : Mode::Lines;
}

Progress::Progress(std::string stage, int total, double scale)
    : stage_(std::move(stage)),
      total_(std::max(total, 0)),
      scale_(scale),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  if (g_mode == Mode::Bar && total_ > 0) draw(false);
}

Progress::~Progress() {
  if (g_mode == Mode::Bar && total_ > 0) {
    draw(true);
    std::fputc('\n', stderr);
  }
}

void Progress::step() {
  if (g_mode == Mode::Off || total_ <= 0) return;
  ++done_;
  if (g_mode == Mode::Lines) {
    // A quarter is worth a line in a batch log only when it took a while; the end always is.
    const int quarter = 4 * done_ / total_;
    const auto now = std::chrono::steady_clock::now();
    if (quarter > last_quarter_ &&
        (done_ == total_ || now - last_draw_ >= std::chrono::seconds(2))) {
      last_quarter_ = quarter;
      last_draw_ = now;
      spdlog::info("{}: {}% ({:.1f} s)", stage_, 25 * quarter,
                   std::chrono::duration<double>(now - start_).count());
    }
    return;
  }
  // Redrawing costs a write per frame; a few per second is enough for the eye.
  const auto now = std::chrono::steady_clock::now();
  if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(false);
}

void Progress::draw(bool final) {
  constexpr int kWidth = 30;
  const double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
  const int filled = static_cast<int>(fraction * kWidth + 0.5);
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  const long frames = static_cast<long>(done_ * scale_ + 0.5);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\rrealign: %-22s [%s] %3d%% ~%ld frames %.1f s%s", stage_.c_str(),
               bar.c_str(), static_cast<int>(fraction * 100 + 0.5), frames, seconds,
               final ? "" : " ");
  std::fflush(stderr);
}

}  // namespace realign
