#include "realign/app/reslice_stream.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>

#include "realign/app/distribute.hpp"
#include "realign/app/progress.hpp"
#include "realign/core/dvars_null.hpp"
#include "realign/core/estimate.hpp"
#include "realign/core/metrics.hpp"
#include "realign/core/reslice.hpp"

namespace realign {
namespace {

// One rank's share of the reslicing: its frames, where each frame can see (and what every
// frame can see, the mask), the running mean and DVARS of its block.
class Reslicer {
 public:
  Reslicer(const RunPlan& plan, const std::vector<Mat4>& xfm, LocalFrames& local,
           const Options& opt)
      : xfm_(xfm),
        local_(local),
        opt_(opt),
        nv_(local.grid.voxels()),
        fill_(opt.datatype == OutputType::Float32 ? std::numeric_limits<float>::quiet_NaN() : 0.0f),
        brain_(plan.reference_volume.empty() ? std::vector<std::uint8_t>{}
                                             : brain_mask(plan.reference_volume)),
        dvars_(local.own_end - local.own_begin, std::numeric_limits<double>::quiet_NaN()),
        null_(brain_, plan.reference_volume.empty() ? 0 : nv_, peak(plan.reference_volume),
              local.frames),
        work_(nv_) {
    const Grid& g = local.grid;
    for (int f = 0; f < local.frames; ++f) {
      visible_.push_back(visible_rows(g.dim, g.dim, reference_to_frame_voxels(xfm[f], g, g)));
      if (f == 0)
        common_ = visible_[0];
      else
        common_.intersect(visible_[f]);
    }
    mean_.reset(nv_);
  }

  // Reslices frame f in place, adds it to the mean, masks it and measures its DVARS.
  const float* frame(int f) {
    const auto t = std::chrono::steady_clock::now();
    float* v = local_.frame(f);
    const Grid& g = local_.grid;
    std::copy(v, v + nv_, work_.begin());
    bspline_coefficients(work_.data(), g.dim, opt_.reslice_degree);
    // With the mask, what lies outside the voxels every frame sees becomes fill, in the
    // series and in the mean alike: those voxels are not worth interpolating.
    const RowIntervals& kept = opt_.mask ? common_ : visible_[f];
    reslice_frame(pad_coefficients(work_.data(), g.dim, opt_.reslice_degree),
                  reference_to_frame_voxels(xfm_[f], g, g), kept, fill_, v);
    mean_.add(v, kept);
    null_.add_frame(f, v);
    if (f > local_.own_begin) {
      dvars_[f - local_.own_begin] = dvars(local_.frame(f - 1), v);
      null_.add_pair(local_.frame(f - 1), v);
    }
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    return v;
  }

  // A block's first DVARS needs the previous block's last frame (tags above the frame
  // count keep these apart from the frames going to rank 0).
  void exchange_boundary(FrameSender& sender) {
    const int rank = mpi_rank(), size = mpi_size(), rb = local_.own_begin, re = local_.own_end;
    const bool next_has_frames =
        rank + 1 < size && block_range(local_.frames, size, rank + 1).second > re;
    if (next_has_frames && re > rb)
      sender.send(local_.frame(re - 1), nv_, local_.frames + re - 1, rank + 1);
    if (rank > 0 && re > rb) {
      std::vector<float> before(nv_);
      receive_frame(before.data(), nv_, local_.frames + rb - 1, rank - 1);
      dvars_[0] = dvars(before.data(), local_.frame(rb));
      null_.add_pair(before.data(), local_.frame(rb));
    }
  }

  ResliceOutcome finish() {
    ResliceOutcome out;
    out.dvars = allgather_frames(dvars_, local_.frames);
    allreduce_sum(null_.sums());
    out.std_dvars = standardised_dvars(out.dvars, null_.expected_dvars());
    allreduce_sum(mean_.sum);
    std::vector<double> counts(mean_.count.begin(), mean_.count.end());
    allreduce_sum(counts);
    std::copy(counts.begin(), counts.end(), mean_.count.begin());
    out.mean_after = mean_.result(fill_);
    if (opt_.mask) common_.apply(out.mean_after.data(), fill_);
    out.seconds = seconds_;
    return out;
  }

 private:
  // The grid of the std_dvars sums: the reference's largest magnitude.
  static double peak(const std::vector<float>& reference) {
    double p = 0.0;
    for (const float v : reference)
      if (std::isfinite(v)) p = std::max(p, std::fabs(static_cast<double>(v)));
    return p;
  }

  double dvars(const float* prev, const float* cur) const {
    return frame_dvars(prev, cur, nv_, brain_);
  }

  const std::vector<Mat4>& xfm_;
  LocalFrames& local_;
  const Options& opt_;
  std::size_t nv_;
  float fill_;
  std::vector<std::uint8_t> brain_;
  std::vector<double> dvars_;
  DvarsNull null_;  // the denominator of std_dvars
  std::vector<float> work_;
  std::vector<RowIntervals> visible_;
  RowIntervals common_;
  MeanImage mean_;
  double seconds_ = 0.0;
};

// Rank 0: every other rank's frames, in order, as they arrive.
void write_others(const LocalFrames& local, bool plain, NiftiWriter& writer, Progress& progress) {
  const std::size_t nv = local.grid.voxels();
  std::vector<float> incoming(plain ? nv : 0);
  for (int owner = 1; owner < mpi_size(); ++owner) {
    const auto [b, e] = block_range(local.frames, mpi_size(), owner);
    for (int f = b; f < e; ++f) {
      if (plain) {
        receive_frame(incoming.data(), nv, f, owner);
        writer.write_frame(incoming.data());
      } else {
        writer.write_encoded(receive_bytes(f, owner));
      }
      progress.step();
    }
  }
}

}  // namespace

ResliceOutcome reslice_and_stream(const RunPlan& plan, const std::vector<Mat4>& xfm,
                                  LocalFrames& local, const Options& opt, NiftiWriter* writer) {
  Reslicer reslicer(plan, xfm, local, opt);
  // Float frames go out as they are; any other format is encoded where the frame is.
  const bool plain = plan.format.plain_floats();
  FrameSender sender;
  FrameEncoder encoder(plan.format, local.grid.voxels());
  std::deque<std::vector<char>> encoded;  // kept until their sends complete
  // Rank 0 writes every frame, so its count is the whole job's.
  Progress progress("reslicing and writing", local.frames);
  for (int f = local.own_begin; f < local.own_end; ++f) {
    const float* frame = reslicer.frame(f);
    if (writer) {
      writer->write_frame(frame);
      progress.step();
    } else if (plain) {
      sender.send(frame, local.grid.voxels(), f);
    } else {
      encoded.push_back(encoder.encode(frame));
      sender.send_bytes(encoded.back(), f);
    }
  }
  reslicer.exchange_boundary(sender);
  if (writer) {
    write_others(local, plain, *writer, progress);
    writer->close();
  }
  sender.wait_all();
  return reslicer.finish();
}

std::vector<float> input_mean(const LocalFrames& local) {
  const std::size_t nv = local.grid.voxels();
  std::vector<double> sum(nv, 0.0);
  for (int f = local.own_begin; f < local.own_end; ++f) {
    const float* v = local.frame(f);
    for (std::size_t i = 0; i < nv; ++i) sum[i] += v[i];
  }
  allreduce_sum(sum);
  std::vector<float> mean(nv);
  for (std::size_t i = 0; i < nv; ++i) mean[i] = static_cast<float>(sum[i] / local.frames);
  return mean;
}

}  // namespace realign
