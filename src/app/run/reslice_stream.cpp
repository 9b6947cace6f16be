#include "realign/app/run/reslice_stream.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "realign/app/platform/distribute.hpp"
#include "realign/app/platform/progress.hpp"
#include "realign/app/run/frame_slots.hpp"
#include "realign/core/dvars_null.hpp"
#include "realign/core/estimate.hpp"
#include "realign/core/metrics.hpp"
#include "realign/core/nearest.hpp"
#include "realign/core/reslice.hpp"

namespace realign {
namespace {

// Frames a rank may have resliced and sent while rank 0 has not yet taken them: bounds
// its memory, while letting it run ahead of rank 0 a little.
constexpr int kInFlight = 3;

// What every rank needs to reslice any frame: the transforms, the frames' shared field of
// view (the mask) and a frame of work space for the B-spline coefficients.
class FrameReslicer {
 public:
  FrameReslicer(const std::vector<Mat4>& xfm, const LocalFrames& local, const RunOptions& opt)
      : xfm_(xfm), local_(local), opt_(opt), fill_(fill_value(opt)), work_(local.grid.voxels()) {
    common_ = seen_by_every_frame(xfm, local.grid);
  }

  // Where frame f can see: the voxels it is resliced into and adds to the mean.
  RowIntervals visible(int f) const {
    const Grid& g = local_.grid;
    return visible_rows(g.dim, g.dim, reference_to_frame_voxels(xfm_[f], g, g));
  }

  // What frame f is resliced into and adds to the mean: with the mask, only the voxels every
  // frame sees (the rest becomes fill in the series and the mean alike, not worth
  // interpolating), but for BIDS derivatives, whose head-motion reference is the mean where
  // any frame sees (masked afterwards, the series and its mean keep their bytes).
  RowIntervals kept(int f) const { return opt_.mask && !opt_.bids() ? common_ : visible(f); }

  // Frame f read afresh and resliced into `out` where kept(f), fill elsewhere.
  void reslice(int f, float* out) {
    const auto t = std::chrono::steady_clock::now();
    reslice(f, out, work_);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
  // The same in the caller's work space (a frame of it), from any thread.
  void reslice(int f, float* out, std::vector<float>& work) const {
    const Grid& g = local_.grid;
    work.resize(g.voxels());
    local_.read(f, work.data());
    bspline_coefficients(work.data(), g.dim, opt_.reslice_degree);
    reslice_frame(pad_coefficients(work.data(), g.dim, opt_.reslice_degree),
                  reference_to_frame_voxels(xfm_[f], g, g), kept(f), fill_, out);
  }

  // Voxels outside the field of view every frame shares become `fill` (with --mask).
  void mask(float* frame) const {
    if (opt_.mask) common_.apply(frame, fill_);
  }

  // A resliced frame as the file stores it (masked, converted, compressed for .nii.gz), as
  // a rank or a thread sends it on; `masked` is work space.
  const std::vector<char>& encode(const std::vector<float>& frame, std::vector<float>& masked,
                                  FrameEncoder& encoder) const {
    masked.assign(frame.begin(), frame.end());
    mask(masked.data());
    return encoder.encode(masked.data());
  }

  float fill() const { return fill_; }
  double seconds = 0.0;

 private:
  const std::vector<Mat4>& xfm_;
  const LocalFrames& local_;
  const RunOptions& opt_;
  float fill_;
  std::vector<float> work_;
  RowIntervals common_;
};

// Rank 0: every frame, in order, as the ranks finish them. The mean image is summed per
// block of block_range, each block in frame order, and the blocks are added over ranks
// as before frames were dealt out in turn, so that it keeps its bytes for any number of
// ranks. DVARS compares each masked frame with the one before, and the sums of std_dvars'
// denominator are taken on the way.
class Collector {
 public:
  Collector(const RunPlan& plan, const LocalFrames& local, FrameReslicer& reslicer,
            NiftiWriter& writer)
      : local_(local),
        reslicer_(reslicer),
        writer_(writer),
        nv_(local.grid.voxels()),
        brain_(plan.reference_volume.empty() ? std::vector<std::uint8_t>{}
                                             : brain_mask(plan.reference_volume)),
        means_(mpi_size()),
        dvars_(local.frames, std::numeric_limits<double>::quiet_NaN()),
        null_(brain_, plan.reference_volume.empty() ? 0 : nv_, peak(plan.reference_volume),
              local.frames),
        prev_(nv_),
        cur_(nv_) {
    for (int r = 0; r < mpi_size(); ++r) {
      means_[r].reset(nv_);
      block_end_.push_back(block_range(local.frames, mpi_size(), r).second);
    }
  }

  float* next_frame() { return cur_.data(); }

  // The frame in next_frame() is frame f, unmasked; `encoded` its masked frame as the
  // output stores it, or null to have the writer encode it.
  void take(int f, const std::vector<char>* encoded) {
    int block = 0;
    while (f >= block_end_[block]) ++block;
    means_[block].add(cur_.data(), reslicer_.kept(f));
    reslicer_.mask(cur_.data());
    null_.add_frame(f, cur_.data());  // and its product with frame f - 1, taken just before
    if (f > 0) dvars_[f] = frame_dvars(prev_.data(), cur_.data(), nv_, brain_);
    if (encoded)
      writer_.write_encoded(*encoded);
    else
      writer_.write_frame(cur_.data());
    std::swap(prev_, cur_);
  }

  std::vector<double>& dvars() { return dvars_; }
  std::vector<MeanImage>& means() { return means_; }
  double expected_dvars() const { return null_.expected_dvars(); }

 private:
  // The grid of the std_dvars sums: the reference's largest magnitude.
  static double peak(const std::vector<float>& reference) {
    double p = 0.0;
    for (const float v : reference)
      if (std::isfinite(v)) p = std::max(p, std::fabs(static_cast<double>(v)));
    return p;
  }

  const LocalFrames& local_;
  FrameReslicer& reslicer_;
  NiftiWriter& writer_;
  std::size_t nv_;
  std::vector<std::uint8_t> brain_;
  std::vector<MeanImage> means_;
  std::vector<int> block_end_;
  std::vector<double> dvars_;
  DvarsNull null_;  // the denominator of std_dvars
  std::vector<float> prev_, cur_;
};

// Who reslices frame f. Rank 0 also takes in every frame (mean, std_dvars' sums, DVARS,
// the file), which costs it a part t of what reslicing a frame costs a rank: its share
// of the frames is what leaves it as busy as the others, (1 - (size - 1) t) / size, none
// once that is below zero; its frames are spread evenly (rank 0 takes f when
// floor(f * share) steps up) and the rest are dealt out in turn. Measured on decnef's
// grid (main 66ee43a): taking in 0.64 ms a frame, reslicing 1.73 ms, so t = 3/8; with a
// .nii.gz output every rank also compresses the frames it reslices (1.26 ms), so t = 1/5.
// The outputs do not depend on this.
int reslicer_of(int f, int size, bool compressed) {
  if (size == 1) return 0;
  const long t_num = compressed ? 1 : 3, t_den = compressed ? 5 : 8;
  const long num = std::max(0L, t_den - (size - 1) * t_num), den = t_den * size;  // share
  const long before = f * num / den;  // rank 0's frames below f
  if ((f + 1) * num / den > before) return 0;
  return 1 + static_cast<int>((f - before) % (size - 1));
}

// Rank 0: its own frames resliced, the others' received, all taken in order.
void collect(const LocalFrames& local, bool plain, bool compressed, FrameReslicer& reslicer,
             Collector& collector) {
  const int size = mpi_size();
  Progress progress("reslicing and writing", local.frames);
  std::vector<char> bytes;
  for (int f = 0; f < local.frames; ++f) {
    const int owner = reslicer_of(f, size, compressed);
    if (owner == 0) {
      reslicer.reslice(f, collector.next_frame());
    } else {
      receive_frame(collector.next_frame(), local.grid.voxels(), f, owner);
      if (!plain) bytes = receive_bytes(local.frames + f, owner);
    }
    collector.take(f, owner == 0 || plain ? nullptr : &bytes);
    progress.step();
  }
}

// The threads' parts when one process plays the ranks: thread t reslices the frames
// reslicer_of gives rank t (and encodes them, as a rank does), thread 0 also takes every
// frame in order.
struct ThreadParts {
  const RunPlan& plan;
  const LocalFrames& local;
  FrameReslicer& reslicer;
  FrameSlots slots;
  int team = 1;
  std::vector<double> seconds;  // each thread's own reslicing

  int owner(int f) const { return reslicer_of(f, team, plan.format.gzip); }

  void reslice(int t, int f, float* out, std::vector<float>& work) {
    const auto start = std::chrono::steady_clock::now();
    reslicer.reslice(f, out, work);
    seconds[t] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // Thread t > 0: its frames into its ring, until they are done or the run stops.
  void produce(int t) {
    const std::size_t nv = local.grid.voxels();
    const bool plain = plan.format.plain_floats();
    FrameEncoder encoder(plan.format, nv);
    std::vector<float> work, masked;
    for (int f = 0; f < local.frames; ++f) {
      if (owner(f) != t) continue;
      FrameSlot* s = slots.claim(t - 1);
      if (!s) return;
      s->frame.resize(nv);
      reslice(t, f, s->frame.data(), work);
      if (!plain) s->encoded = reslicer.encode(s->frame, masked, encoder);
      slots.fill(t - 1, f);
    }
  }

  // Thread 0: every frame in order, its own resliced, the others' taken from their rings.
  void take_all(Collector& collector) {
    Progress progress("reslicing and writing", local.frames);
    const bool plain = plan.format.plain_floats();
    std::vector<float> work;
    for (int f = 0; f < local.frames; ++f) {
      const int t = owner(f);
      if (t == 0) {
        reslice(0, f, collector.next_frame(), work);
        collector.take(f, nullptr);
      } else {
        FrameSlot* s = slots.take(t - 1);
        if (!s) return;
        std::copy(s->frame.begin(), s->frame.end(), collector.next_frame());
        collector.take(f, plain ? nullptr : &s->encoded);
        slots.release(t - 1);
      }
      progress.step();
    }
  }
};

// One process: the OpenMP threads take the ranks' parts, each on whole frames (the
// parallel loops inside a frame's reslicing run on one thread when nested), so taking
// in and writing overlap reslicing as they do over ranks. The first error stops every
// thread and is thrown once they have. The bytes are those of any other dealing.
void collect_on_threads(const RunPlan& plan, const LocalFrames& local, FrameReslicer& reslicer,
                        Collector& collector) {
  const int threads = omp_get_max_threads();
  ThreadParts parts{plan,     local,
                    reslicer, FrameSlots(threads - 1, kInFlight),
                    1,        std::vector<double>(threads, 0.0)};
#pragma omp parallel num_threads(threads)
  {
#pragma omp single
    parts.team = omp_get_num_threads();  // OMP_DYNAMIC may give fewer; the rest idle
    const int t = omp_get_thread_num();
    try {
      if (t == 0)
        parts.take_all(collector);
      else
        parts.produce(t);
    } catch (...) {
      parts.slots.stop(std::current_exception());
    }
  }
  if (parts.slots.error()) std::rethrow_exception(parts.slots.error());
  reslicer.seconds = *std::max_element(parts.seconds.begin(), parts.seconds.end());
}

// A frame on its way to rank 0: the resliced frame (for the mean and DVARS) and, unless
// the output stores plain floats, the frame masked and encoded as the file holds it (so
// that compression runs on every rank).
struct InFlight {
  std::vector<float> frame;
  std::vector<char> encoded;
  FrameSender sender;
};

// Every rank but 0: its frames, each sent as soon as it is resliced.
void send_own(const RunPlan& plan, const LocalFrames& local, FrameReslicer& reslicer) {
  const std::size_t nv = local.grid.voxels();
  const bool plain = plan.format.plain_floats();
  FrameEncoder encoder(plan.format, nv);
  std::vector<float> masked;
  std::vector<InFlight> slots(kInFlight);
  int n = 0;
  for (int f = 0; f < local.frames; ++f) {
    if (reslicer_of(f, mpi_size(), plan.format.gzip) != mpi_rank()) continue;
    InFlight& s = slots[n++ % kInFlight];
    s.sender.wait_all();  // rank 0 has taken the frame this slot held
    s.frame.resize(nv);
    reslicer.reslice(f, s.frame.data());
    s.sender.send(s.frame.data(), nv, f);
    if (plain) continue;
    s.encoded = reslicer.encode(s.frame, masked, encoder);
    s.sender.send_bytes(s.encoded, local.frames + f);
  }
  for (InFlight& s : slots) s.sender.wait_all();
}

// Each rank gets its block's sums from rank 0 and they are added over ranks, as each rank
// once summed its own block; then the mean where any frame saw the voxel (`seen`), and that
// mean masked as the series is.
std::vector<float> finish_mean(std::vector<MeanImage>& means, std::size_t nv,
                               const FrameReslicer& reslicer, std::vector<float>& seen) {
  const int tag_sum = 1 << 20, tag_count = tag_sum + 1;
  MeanImage mine;
  std::vector<double> counts;
  if (mpi_rank() == 0) {
    for (int r = 1; r < mpi_size(); ++r) {
      send_doubles(means[r].sum, r, tag_sum);
      send_doubles(std::vector<double>(means[r].count.begin(), means[r].count.end()), r, tag_count);
    }
    mine = std::move(means[0]);
    counts.assign(mine.count.begin(), mine.count.end());
  } else {
    mine.reset(nv);
    receive_doubles(mine.sum, 0, tag_sum);
    receive_doubles(counts, 0, tag_count);
  }
  allreduce_sum(mine.sum);
  allreduce_sum(counts);
  std::copy(counts.begin(), counts.end(), mine.count.begin());
  std::vector<float> mean = mine.result(reslicer.fill());
  seen = mine.result(0.0f);
  reslicer.mask(mean.data());
  return mean;
}

}  // namespace

float fill_value(const RunOptions& opt) {
  return opt.datatype == OutputType::Float32 && !opt.bids()
             ? std::numeric_limits<float>::quiet_NaN()
             : 0.0f;
}

RowIntervals seen_by_every_frame(const std::vector<Mat4>& xfm, const Grid& grid) {
  RowIntervals common;
  for (std::size_t f = 0; f < xfm.size(); ++f) {
    const RowIntervals seen =
        visible_rows(grid.dim, grid.dim, reference_to_frame_voxels(xfm[f], grid, grid));
    if (f == 0)
      common = seen;
    else
      common.intersect(seen);
  }
  return common;
}

ResliceOutcome reslice_and_stream(const RunPlan& plan, const std::vector<Mat4>& xfm,
                                  const LocalFrames& local, const RunOptions& opt,
                                  NiftiWriter* writer) {
  FrameReslicer reslicer(xfm, local, opt);
  ResliceOutcome out;
  std::vector<MeanImage> means;
  if (writer) {
    Collector collector(plan, local, reslicer, *writer);
    if (mpi_size() == 1 && omp_get_max_threads() > 1)
      collect_on_threads(plan, local, reslicer, collector);
    else
      collect(local, plan.format.plain_floats(), plan.format.gzip, reslicer, collector);
    writer->close();
    out.dvars = std::move(collector.dvars());
    out.std_dvars = standardised_dvars(out.dvars, collector.expected_dvars());
    means = std::move(collector.means());
  } else {
    send_own(plan, local, reslicer);
  }
  broadcast(out.dvars);
  broadcast(out.std_dvars);
  out.mean_after = finish_mean(means, local.grid.voxels(), reslicer, out.mean_seen);
  out.seconds = reslicer.seconds;
  return out;
}

std::vector<float> realigned_mean(const std::vector<Mat4>& xfm, const LocalFrames& local,
                                  const RunOptions& opt, int first) {
  RunOptions unmasked = opt;
  unmasked.mask = false;  // every voxel from the frames that see it
  FrameReslicer reslicer(xfm, local, unmasked);
  const std::size_t nv = local.grid.voxels();
  // Every value rounded to a multiple of a power of two about 2^-30 of the
  // largest value of frame 1: the sums are then exact, hence the same in any order of ranks.
  std::vector<float> frame(nv);
  local.read(0, frame.data());
  double peak = 0.0;
  for (const float v : frame) peak = std::max(peak, std::fabs(static_cast<double>(v)));
  int e = 0;
  std::frexp(peak > 0 ? peak : 1.0, &e);
  const double quantum = std::ldexp(1.0, e - 30);
  std::vector<double> sum(nv, 0.0), count(nv, 0.0);
  const auto [begin, end] = block_range(local.frames, mpi_size(), mpi_rank());
  for (int f = std::max(begin, first); f < end; ++f) {
    reslicer.reslice(f, frame.data());
    const RowIntervals seen = reslicer.visible(f);
    const int nx = local.grid.dim[0];
    for (std::size_t r = 0; r < seen.lo.size(); ++r)
      for (int i = std::max(seen.lo[r], 0); i <= std::min(seen.hi[r], nx - 1); ++i) {
        const std::size_t at = r * nx + i;
        sum[at] += nearest_integer(frame[at] / quantum) * quantum;
        count[at] += 1.0;
      }
  }
  allreduce_sum(sum);
  allreduce_sum(count);
  std::vector<float> mean(nv, 0.0f);  // 0 where no frame sees: as a reference file's NaN
  for (std::size_t i = 0; i < nv; ++i)
    if (count[i] > 0) mean[i] = static_cast<float>(sum[i] / count[i]);
  return mean;
}

std::vector<float> input_mean(const LocalFrames& local) {
  const std::size_t nv = local.grid.voxels();
  std::vector<double> sum = local.input_sum;
  sum.resize(nv, 0.0);
  allreduce_sum(sum);
  std::vector<float> mean(nv);
  for (std::size_t i = 0; i < nv; ++i) mean[i] = static_cast<float>(sum[i] / local.frames);
  return mean;
}

}  // namespace realign
