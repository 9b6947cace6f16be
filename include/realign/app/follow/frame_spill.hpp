// The volumes `realign follow` has seen, kept on disk rather than in memory so that a long
// run's memory stays flat; read back once at the end for the batch outputs.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace realign {

class FrameSpill {
 public:
  FrameSpill() = default;
  // An unnamed file in `dir` (removed by the system however the process ends).
  FrameSpill(const std::string& dir, std::size_t voxels);
  ~FrameSpill();
  FrameSpill(const FrameSpill&) = delete;
  FrameSpill& operator=(const FrameSpill&) = delete;

  bool active() const { return fd_ >= 0; }
  void append(const float* volume);  // throws OutputError (disk full)
  int frames() const { return frames_; }
  std::vector<float> read_all() const;
  // A path that opens the spill again (it has no name of its own), for a FrameFile of
  // float32 frames from byte 0.
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  std::string dir_;
  std::size_t voxels_ = 0;
  int fd_ = -1;
  int frames_ = 0;
};

}  // namespace realign
