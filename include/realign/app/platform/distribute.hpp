// The MPI layer: who holds which frames, and moving data between ranks. The maths never
// calls MPI directly; it receives reductions through these functions.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "realign/app/platform/mpi_start.hpp"
#include "realign/core/volume.hpp"

namespace realign {

// Initialises MPI on construction as `how` says (thread level FUNNELED: only the main
// thread talks to MPI, OpenMP threads compute) and finalises on destruction. Without
// MPI_Init every function below acts for one rank.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv, const MpiStart& how);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

// Rank of this process and the number of ranks (0 and 1 without MPI_Init).
int mpi_rank();
int mpi_size();

// How many ranks share rank 0's node, and so its memory (collective; known to all).
int ranks_on_root_node();

// Contiguous block [begin, end) of n items for `rank` of `size`; the first n % size
// ranks get one extra.
std::pair<int, int> block_range(int n, int size, int rank);

// Frames first, first + step, ... below end: a rank's share when frames are dealt out in
// turn, which spreads the slow frames (a run's moving stretches) over every rank.
struct FrameSet {
  int first = 0, step = 1, end = 0;
  int count() const { return first < end ? (end - first + step - 1) / step : 0; }
  int at(int i) const { return first + i * step; }
  int index_of(int f) const { return (f - first) / step; }
  bool has(int f) const { return f >= first && f < end && (f - first) % step == 0; }
};

// Rank `rank` of `size` gets frames rank, rank + size, ... of n.
FrameSet dealt_frames(int n, int size, int rank);

// Rank 0 tells every rank whether to go on; others get rank 0's message and exit status.
// Returns the message ("" to go on).
std::string broadcast_status(const std::string& error_on_root, int* status);

// Collective: runs `rank0` on rank 0 only; when it throws, every rank throws RunError with
// its message and exit status (exit_status_of), so that all stop alike. The decisions
// rank 0 makes before the ranks commit to work go through here.
void on_root(const std::function<void()>& rank0);

// Broadcasts from rank 0 (vectors are resized on the other ranks).
void broadcast(std::vector<float>& v);
void broadcast(std::vector<double>& v);
void broadcast(std::vector<char>& v);
void broadcast(int& v);

// Element-wise sum over all ranks, result on all ranks.
void allreduce_sum(std::vector<double>& v);
void allreduce_sum(double* v, std::size_t n);
// Integers add exactly, so this sum is the same in any order.
void allreduce_sum(std::vector<std::int64_t>& v);

// Whether `ok` holds on every rank (collective; known to all).
bool on_every_rank(bool ok);

// Doubles from rank `from` to rank `to` (blocking; the receiver's vector is resized).
void send_doubles(const std::vector<double>& v, int to, int tag);
void receive_doubles(std::vector<double>& v, int from, int tag);

// Gathers per-frame values from their owners onto every rank, in frame order: `mine` holds
// one value (or matrix) per frame of `own`, in order; the owners' sets partition the frames.
std::vector<Mat4> allgather_frames(const std::vector<Mat4>& mine, const FrameSet& own,
                                   int frames_total);
std::vector<int> allgather_frames(const std::vector<int>& mine, const FrameSet& own,
                                  int frames_total);
std::vector<double> allgather_frames(const std::vector<double>& mine, const FrameSet& own,
                                     int frames_total);

// Frames on their way to rank 0 (tags tell the frames apart): each send starts as soon as
// its frame is ready and the data must stay untouched until wait_all().
class FrameSender {
 public:
  void send(const float* data, std::size_t n, int tag, int to = 0);
  void send_bytes(const std::vector<char>& data, int tag);
  void wait_all();
  ~FrameSender() { wait_all(); }

 private:
  std::vector<MPI_Request> requests_;
};
void receive_frame(float* data, std::size_t n, int tag, int from);
// A message of bytes whose length the receiver does not know in advance.
std::vector<char> receive_bytes(int tag, int from);

// The largest value over all ranks (collective; valid on rank 0).
double max_over_ranks(double v);

// Peak resident memory of this process, summed over all ranks (collective; the sum is
// valid on rank 0).
double sum_peak_memory_mb();

// Ends every rank with the message; used when one rank cannot continue.
[[noreturn]] void abort_all(const std::string& message, int code);

}  // namespace realign
