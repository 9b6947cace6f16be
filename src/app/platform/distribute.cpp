#include "realign/app/platform/distribute.hpp"

#include <mpi.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "realign/io/errors.hpp"

namespace realign {
namespace {

bool mpi_active() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

// The MPI type of the element types sent here.
template <typename T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, double>)
    return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, float>)
    return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, int>)
    return MPI_INT;
  else if constexpr (std::is_same_v<T, char>)
    return MPI_CHAR;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return MPI_INT64_T;
  else
    static_assert(sizeof(T) == 0, "no MPI type for this element type");
}

// Element-wise sum of v[0..n) over all ranks, in place, result on all ranks.
template <typename T>
void sum_in_place(T* v, std::size_t n) {
  if (mpi_size() > 1)
    MPI_Allreduce(MPI_IN_PLACE, v, static_cast<int>(n), mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD);
}

// Every rank learns every frame's values: each owner contributes its frames' values at
// their places and zeros elsewhere; a sum then assembles the whole without rounding, since
// x + 0 == x exactly.
template <typename T>
std::vector<T> assemble(const std::vector<T>& mine, const FrameSet& own, int frames_total,
                        int per_frame) {
  std::vector<T> all(static_cast<std::size_t>(frames_total) * per_frame, T(0));
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const int f = own.at(static_cast<int>(i / per_frame));
    all[static_cast<std::size_t>(f) * per_frame + i % per_frame] = mine[i];
  }
  sum_in_place(all.data(), all.size());
  return all;
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv, const MpiStart& how) {
  if (!how.start) return;
  if (!how.pml.empty()) setenv("OMPI_MCA_pml", how.pml.c_str(), 0);
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  // Errors in MPI calls end the job with a message rather than hanging a peer.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  if (mpi_active()) MPI_Finalize();
}

int mpi_rank() {
  if (!mpi_active()) return 0;
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int mpi_size() {
  if (!mpi_active()) return 1;
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

int ranks_on_root_node() {
  if (mpi_size() == 1) return 1;
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int here = 1;
  MPI_Comm_size(node, &here);
  MPI_Comm_free(&node);
  MPI_Bcast(&here, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return here;
}

std::pair<int, int> block_range(int n, int size, int rank) {
  const int base = n / size, extra = n % size;
  const int begin = rank * base + std::min(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

FrameSet dealt_frames(int n, int size, int rank) { return {rank, size, n}; }

std::string broadcast_status(const std::string& error_on_root, int* status) {
  if (mpi_size() == 1) return error_on_root;
  int head[2] = {static_cast<int>(error_on_root.size()), *status};
  MPI_Bcast(head, 2, MPI_INT, 0, MPI_COMM_WORLD);
  const int len = head[0];
  *status = head[1];
  std::string msg = error_on_root;
  msg.resize(len);
  if (len > 0) MPI_Bcast(msg.data(), len, MPI_CHAR, 0, MPI_COMM_WORLD);
  return msg;
}

void on_root(const std::function<void()>& rank0) {
  std::string error;
  int status = kExitOk;
  if (mpi_rank() == 0) {
    try {
      rank0();
    } catch (const std::exception& e) {
      error = e.what();
      status = exit_status_of(e);
    }
  }
  error = broadcast_status(error, &status);
  if (!error.empty()) throw RunError(error, status);
}

template <typename T>
static void bcast_vector(std::vector<T>& v) {
  if (mpi_size() == 1) return;
  unsigned long long n = v.size();
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  v.resize(n);
  const std::size_t chunk = 1u << 28;
  for (std::size_t off = 0; off < n; off += chunk) {
    const int count = static_cast<int>(std::min<std::size_t>(chunk, n - off));
    MPI_Bcast(v.data() + off, count, mpi_type<T>(), 0, MPI_COMM_WORLD);
  }
}

void broadcast(std::vector<float>& v) { bcast_vector(v); }
void broadcast(std::vector<double>& v) { bcast_vector(v); }
void broadcast(std::vector<char>& v) { bcast_vector(v); }

void broadcast(int& v) {
  if (mpi_size() > 1) MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
}

void allreduce_sum(double* v, std::size_t n) { sum_in_place(v, n); }
void allreduce_sum(std::vector<double>& v) { sum_in_place(v.data(), v.size()); }
void allreduce_sum(std::vector<std::int64_t>& v) { sum_in_place(v.data(), v.size()); }

bool on_every_rank(bool ok) {
  if (mpi_size() == 1) return ok;
  int v = ok ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return v != 0;
}

void send_doubles(const std::vector<double>& v, int to, int tag) {
  MPI_Send(v.data(), static_cast<int>(v.size()), MPI_DOUBLE, to, tag, MPI_COMM_WORLD);
}

void receive_doubles(std::vector<double>& v, int from, int tag) {
  MPI_Status status;
  MPI_Probe(from, tag, MPI_COMM_WORLD, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_DOUBLE, &count);
  v.resize(static_cast<std::size_t>(count));
  MPI_Recv(v.data(), count, MPI_DOUBLE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

std::vector<Mat4> allgather_frames(const std::vector<Mat4>& mine, const FrameSet& own,
                                   int frames_total) {
  std::vector<double> flat;
  for (const Mat4& m : mine) flat.insert(flat.end(), m.data(), m.data() + 16);
  const std::vector<double> all = assemble(flat, own, frames_total, 16);
  std::vector<Mat4> out(frames_total);
  for (int f = 0; f < frames_total; ++f) out[f] = Eigen::Map<const Mat4>(&all[16 * f]);
  return out;
}

std::vector<double> allgather_frames(const std::vector<double>& mine, const FrameSet& own,
                                     int frames_total) {
  return assemble(mine, own, frames_total, 1);
}

std::vector<int> allgather_frames(const std::vector<int>& mine, const FrameSet& own,
                                  int frames_total) {
  return assemble(mine, own, frames_total, 1);
}

void FrameSender::send(const float* data, std::size_t n, int tag, int to) {
  requests_.emplace_back();
  MPI_Isend(data, static_cast<int>(n), MPI_FLOAT, to, tag, MPI_COMM_WORLD, &requests_.back());
}

void FrameSender::send_bytes(const std::vector<char>& data, int tag) {
  requests_.emplace_back();
  MPI_Isend(data.data(), static_cast<int>(data.size()), MPI_BYTE, 0, tag, MPI_COMM_WORLD,
            &requests_.back());
}

std::vector<char> receive_bytes(int tag, int from) {
  MPI_Status status;
  MPI_Probe(from, tag, MPI_COMM_WORLD, &status);
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::vector<char> bytes(static_cast<std::size_t>(count));
  MPI_Recv(bytes.data(), count, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return bytes;
}

void FrameSender::wait_all() {
  if (!requests_.empty())
    MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  requests_.clear();
}

void receive_frame(float* data, std::size_t n, int tag, int from) {
  MPI_Recv(data, static_cast<int>(n), MPI_FLOAT, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

double max_over_ranks(double v) {
  if (mpi_size() == 1) return v;
  double out = v;
  MPI_Reduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  return out;
}

double sum_peak_memory_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double mb = usage.ru_maxrss / 1024.0;  // Linux reports kilobytes
  if (mpi_size() > 1) {
    double total = 0.0;
    MPI_Reduce(&mb, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    mb = total;
  }
  return mb;
}

void abort_all(const std::string& message, int code) {
  spdlog::error("{}", message);
  spdlog::default_logger()->flush();
  if (mpi_active() && mpi_size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace realign
