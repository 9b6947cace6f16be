// Progress of a long stage, told to the person waiting: a bar redrawn in place when stderr
// is a terminal, plain log lines (the end, and quarters that took a while) otherwise, as in
// batch logs, and nothing with -q or on ranks other than 0.
#pragma once

#include <chrono>
#include <string>

namespace realign {

class Progress {
 public:
  // `total` steps; `scale` turns this rank's steps into the whole job's (a rank counts
  // its own block of frames, about 1/size of them).
  Progress(std::string stage, int total, double scale = 1.0);
  ~Progress();  // ends the bar's line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void step();

  // Decided once from the rank, the log level and whether stderr is a terminal.
  static void configure(bool rank_zero);

 private:
  void draw(bool final);
  std::string stage_;
  int total_, done_ = 0, last_quarter_ = 0;
  double scale_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace realign
