#include "realign/app/run/local_frames.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "realign/app/platform/distribute.hpp"

namespace realign {

// What one reading of the block finds: the range of values, NaN/Inf voxels, and the sum
// behind the mean before realignment (when the report shows it).
struct InputSurvey {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  double nonfinite = 0.0;
  std::vector<double> sum;
};

namespace {
using Survey = InputSurvey;

// The smallest and largest of v[0..n) joined to s. The values are finite (reading made
// NaN/Inf 0), so four-wide min/max find the same range as a scalar loop, which the
// compiler does not vectorise (std::min's order of operands matters to it for NaN).
void widen_range(const float* v, std::size_t n, Survey& s) {
  std::size_t i = 0;
#if defined(__SSE2__)
  __m128 lo = _mm_set1_ps(s.lo), hi = _mm_set1_ps(s.hi);
  for (; i + 4 <= n; i += 4) {
    const __m128 x = _mm_loadu_ps(v + i);
    lo = _mm_min_ps(lo, x);
    hi = _mm_max_ps(hi, x);
  }
  float l[4], h[4];
  _mm_storeu_ps(l, lo);
  _mm_storeu_ps(h, hi);
  s.lo = std::min({l[0], l[1], l[2], l[3]});
  s.hi = std::max({h[0], h[1], h[2], h[3]});
#endif
  for (; i < n; ++i) {
    s.lo = std::min(s.lo, v[i]);
    s.hi = std::max(s.hi, v[i]);
  }
}

// One frame into the survey (frames in order: the sum's bits depend on it).
void survey_frame(const float* frame, std::size_t nv, std::size_t nonfinite, Survey& s) {
  s.nonfinite += static_cast<double>(nonfinite);
  widen_range(frame, nv, s);
  if (!s.sum.empty())
    for (std::size_t i = 0; i < nv; ++i) s.sum[i] += frame[i];
}

Survey survey_block(const LocalFrames& local, bool sum) {
  Survey s;
  const std::size_t nv = local.grid.voxels();
  std::vector<float> frame(nv);
  if (sum) s.sum.assign(nv, 0.0);
  for (int f = local.block_begin; f < local.block_end; ++f)
    survey_frame(frame.data(), nv, local.file->read(f, frame.data()), s);
  allreduce_sum(&s.nonfinite, 1);
  return s;
}

// The same survey of every frame, taken as the file inflates them.
std::shared_ptr<Survey> watch_frames(const LocalFrames& local, bool sum) {
  auto s = std::make_shared<Survey>();
  const std::size_t nv = local.grid.voxels();
  if (sum) s->sum.assign(nv, 0.0);
  local.file->watch([s, nv](int, const float* frame, std::size_t nonfinite) {
    survey_frame(frame, nv, nonfinite, *s);
  });
  return s;
}

// With a separate reference file the series itself may still be empty of structure.
void refuse_constant_series(const LocalFrames& local, const Survey& s, bool applying,
                            const std::string& input) {
  const double span = max_over_ranks(s.hi) + max_over_ranks(-s.lo);
  std::string empty;
  int why = kExitOk;
  if (mpi_rank() == 0 && !(span > 0) && !applying) {
    why = kExitInput;
    empty = input + ": " +
            (s.nonfinite == static_cast<double>(local.grid.voxels()) * local.frames
                 ? std::string("every voxel is NaN or Inf")
                 : std::string("every voxel has the same value")) +
            ": nothing to realign";
  }
  empty = broadcast_status(empty, &why);
  if (!empty.empty()) throw RunError(empty, why);
}

// The survey's outcome: a series without structure refused, NaN/Inf voxels warned about,
// the sum kept for the mean before realignment.
void tell_survey(LocalFrames& local, Survey& s, bool applying, const std::string& input) {
  refuse_constant_series(local, s, applying, input);
  if (s.nonfinite > 0)
    spdlog::warn("{}: {:.0f} NaN/Inf voxels treated as missing (0)", input, s.nonfinite);
  local.input_sum = std::move(s.sum);
}

}  // namespace

LocalFrames frames_of(const RunPlan& plan, Split split, int size, int rank) {
  LocalFrames local;
  local.grid = plan.input.grid;
  local.frames = plan.input.frames;
  local.file = plan.frames.get();
  const auto [b, e] = block_range(local.frames, size, rank);
  local.block_begin = b;
  local.block_end = e;
  local.own = dealt_frames(local.frames, size, rank);
  local.fit = split == Split::Points ? dealt_frames(local.frames, 1, 0) : local.own;
  return local;
}

LocalFrames distribute_frames(const RunPlan& plan, const RunOptions& opt) {
  LocalFrames local = frames_of(plan, opt.split, mpi_size(), mpi_rank());
  const bool sum = opt.report && !plan.applying();
  if (local.file->inflates() && mpi_size() == 1) {
    local.pending = watch_frames(local, sum);
    // A series without structure has a reference frame without it, which choosing the
    // reference refused; `apply` refuses none.
    const bool checked =
        plan.applying() || (!plan.common && plan.reference.kind != ReferenceChoice::File);
    if (!checked) finish_reading(local, plan, opt);
  } else {
    Survey s = survey_block(local, sum);
    tell_survey(local, s, plan.applying(), opt.input);
  }
  spdlog::info("{}: {}x{}x{} voxels, {} frames, TR {} s", opt.input, local.grid.dim[0],
               local.grid.dim[1], local.grid.dim[2], local.frames, plan.input.tr_s);
  return local;
}

void finish_reading(LocalFrames& local, const RunPlan& plan, const RunOptions& opt) {
  if (!local.pending) return;
  local.file->finish();
  const std::shared_ptr<InputSurvey> s = std::move(local.pending);
  tell_survey(local, *s, plan.applying(), opt.input);
}

}  // namespace realign
