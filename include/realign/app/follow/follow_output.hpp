// What `realign follow` shows as it goes: one TSV line per volume on stdout, flushed at
// once for pipes and neurofeedback software, the same fields as a JSON object for --send,
// and on a terminal a live view below the lines.
#pragma once

#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "realign/core/good_time.hpp"
#include "realign/core/rigid.hpp"

namespace realign {

struct FrameLine {
  int frame = 0;  // 1-based
  RigidParams rp{};
  double fd = 0.0, rmsd = 0.0;  // NaN for frame 1, written n/a
  // With --fd-filter: FD of the filtered parameters (NaN for frame 1); the column is
  // written only then, last, so that the columns before it keep their places.
  double fd_filtered = std::numeric_limits<double>::quiet_NaN();
  double latency_ms = 0.0;
  bool flagged = false;
};

// A line's fields as the header names them, each formatted once: the TSV line and the JSON
// object are made from these, so that they carry the same digits. NaN is "n/a".
std::vector<std::pair<std::string, std::string>> line_fields(const FrameLine& line, bool filtered);

// The header line, without its newline (`filtered`: with --fd-filter's column).
std::string follow_header(bool filtered = false);
// One line, without its newline: mm and rad in the rp convention.
std::string follow_line(const FrameLine& line, bool filtered = false);
// The same fields as one JSON object (numbers with the line's digits, n/a as null), then
// "file": the volume's file name; without a newline.
std::string follow_json(const FrameLine& line, bool filtered, const std::string& file);

// What the live view shows besides the lines.
struct LiveView {
  double fd_threshold_mm = 0.5;
  bool filtered = false;           // the FD shown and flagged is the filtered one
  double criterion_minutes = 0.0;  // > 0: the further scan time is shown
};

// Writes the lines to `out` and, when `live`, keeps a status below them on the terminal:
// the current FD, a sparkline of the recent FDs and the frames above threshold, and a
// second line with the good time at each threshold (and the further scan time a
// criterion needs).
class LineWriter {
 public:
  LineWriter(std::FILE* out, bool live, const LiveView& view);
  ~LineWriter();  // leaves the status on the terminal, and the cursor under it
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;
  void header();
  // `good`: the good time so far, for the status (ignored without a live view).
  void write(const FrameLine& line, const std::vector<GoodTime>& good = {});
  // The status as it stands (one or two lines, no newline at the end).
  std::string status() const;

 private:
  std::FILE* out_;
  bool live_;
  LiveView view_;
  std::vector<double> recent_;  // the last FDs, for the sparkline
  std::vector<GoodTime> good_;
  int frames_ = 0, flagged_ = 0;
  double last_fd_ = 0.0, last_latency_ms_ = 0.0;
  bool drawn_ = false;  // a status is on the terminal
};

// A text sparkline of values from 0 to `top` (clipped), one block character each.
std::string sparkline(const std::vector<double>& values, double top);

// The good time for the status: "good time 3.1 | 3.6 | 3.9 min at FD ≤ 0.2 | 0.3 | 0.4 mm"
// and, with a criterion, "; 12.5 min in 35.2 | 28.0 | 26.1 min more" ("never" while no frame
// is good); frames instead of minutes when the TR is unknown.
std::string good_time_status(const std::vector<GoodTime>& good, double criterion_minutes,
                             bool filtered);

}  // namespace realign
