// What `realign follow` shows as it goes: one TSV line per volume on stdout, flushed at
// once for pipes and neurofeedback software, and on a terminal a live view below them.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "realign/core/rigid.hpp"

namespace realign {

struct FrameLine {
  int frame = 0;  // 1-based
  RigidParams rp{};
  double fd = 0.0, rmsd = 0.0;  // NaN for frame 1, written n/a
  double latency_ms = 0.0;
  bool flagged = false;
};

// The header line, without its newline.
std::string follow_header();
// One line, without its newline: mm and rad in the rp convention.
std::string follow_line(const FrameLine& line);

// Writes the lines to `out` and, when `live`, keeps a status line below them on the
// terminal: the current FD, a sparkline of the recent FDs and the frames above threshold.
class LineWriter {
 public:
  LineWriter(std::FILE* out, bool live, double fd_threshold_mm);
  ~LineWriter();  // leaves the terminal's last line clean
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;
  void header();
  void write(const FrameLine& line);

 private:
  std::string status() const;

  std::FILE* out_;
  bool live_;
  double threshold_;
  std::vector<double> recent_;  // the last FDs, for the sparkline
  int frames_ = 0, flagged_ = 0;
  double last_fd_ = 0.0, last_latency_ms_ = 0.0;
};

// A text sparkline of values from 0 to `top` (clipped), one block character each.
std::string sparkline(const std::vector<double>& values, double top);

}  // namespace realign
