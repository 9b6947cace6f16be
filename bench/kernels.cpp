// Google Benchmark of the compute kernels on one 64x64x34 frame of a synthetic head (the
// shape of decnef_sub-1_run-2): smoothing, B-spline coefficients, one Gauss-Newton
// iteration of estimation, a frame's share of the mean and of the receive field, and
// reslicing. One OpenMP thread unless OMP_NUM_THREADS says otherwise. Speed only:
// correctness is the test suite's.
#include <benchmark/benchmark.h>

#include <vector>

#include "phantom.hpp"
#include "realign/core/estimate.hpp"
// scripts/bench.sh builds this file against an older version too, from before the field.
#if __has_include("realign/core/receive_field.hpp")
#include "realign/core/receive_field.hpp"
#define REALIGN_BENCH_RECEIVE_FIELD 1
#endif
#include "realign/core/reslice.hpp"
#include "realign/core/sampling.hpp"
#include "realign/core/smooth.hpp"

namespace realign {
namespace {

// Frames 0 (the reference) and 1 (moved) of a phantom, made once.
const Phantom& phantom() {
  static const Phantom p = [] {
    PhantomSpec spec;
    spec.frames = 2;
    return make_phantom(spec);
  }();
  return p;
}

void BM_smoothing(benchmark::State& state) {
  const Series& s = phantom().series;
  std::vector<float> out(s.grid.voxels());
  for (auto _ : state) {
    gaussian_smooth(s.frame(1), out.data(), s.grid.dim, s.grid.voxel_size_mm(), 5.0);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_smoothing)->Unit(benchmark::kMicrosecond);

// Degree 3 is estimation's, degree 4 reslicing's.
void BM_coefficients(benchmark::State& state) {
  const Series& s = phantom().series;
  std::vector<float> c(s.grid.voxels());
  for (auto _ : state) {
    std::copy(s.frame(1), s.frame(1) + c.size(), c.begin());
    bspline_coefficients(c.data(), s.grid.dim, static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(c.data());
  }
}
BENCHMARK(BM_coefficients)->Arg(3)->Arg(4)->Unit(benchmark::kMicrosecond);

// What estimation does per frame before fitting: smoothing, coefficients, padding.
void BM_smoothed_coefficients(benchmark::State& state) {
  const Series& s = phantom().series;
  for (auto _ : state) benchmark::DoNotOptimize(smoothed_coefficients(s.frame(1), s.grid, {}));
}
BENCHMARK(BM_smoothed_coefficients)->Unit(benchmark::kMicrosecond);

// The fitter of frames against frame 0 at its sample points, as a run makes it.
FrameFitter fitter_against_frame0(const EstimateOptions& opt) {
  const Series& s = phantom().series;
  SampleSet points = sample_grid(s.grid, opt.sep_mm, opt.fwhm_mm);
  evaluate_reference(points, smoothed_coefficients(s.frame(0), s.grid, opt));
  const std::vector<int> params = fitted_parameters(s.grid);
  std::vector<double> jac = rigid_jacobian(points, s.grid.vox2world, params);
  select_by_quality(points, jac, static_cast<int>(params.size()), opt.quality);
  return FrameFitter(std::move(points), std::move(jac), params, s.grid, opt);
}

// One Gauss-Newton iteration of frame 1 against frame 0, default options (plain) and
// robust with the linear intensity model.
void BM_estimation_iteration(benchmark::State& state) {
  const Series& s = phantom().series;
  EstimateOptions opt;
  opt.max_iter = 1;
  if (state.range(0) == 1) {
    opt.robust = true;
    opt.intensity = IntensityModel::Linear;
  }
  const FrameFitter fitter = fitter_against_frame0(opt);
  const PaddedCoefficients frame = smoothed_coefficients(s.frame(1), s.grid, opt);
  for (auto _ : state) benchmark::DoNotOptimize(fitter.fit(frame, s.grid, Mat4::Identity()));
  state.counters["points"] = static_cast<double>(fitter.points().size());
}
BENCHMARK(BM_estimation_iteration)
    ->ArgName("robust_linear")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);

// Adding frame 1, as fitted, to the mean at the sample points (what each fitted frame costs
// a pass besides its fit), default options.
void BM_mean_at_points(benchmark::State& state) {
  const Series& s = phantom().series;
  const EstimateOptions opt;
  const FrameFitter fitter = fitter_against_frame0(opt);
  const PaddedCoefficients frame = smoothed_coefficients(s.frame(1), s.grid, opt);
  const FrameFit fit = fitter.fit(frame, s.grid, Mat4::Identity());
  SampleSet mean = fitter.points();
  MeanAtPoints acc;
  acc.reset(mean);
  for (auto _ : state) {
    acc.add_frame(mean, frame, s.grid, fitter, fit);
    benchmark::DoNotOptimize(acc.sum.data());
  }
  state.counters["points"] = static_cast<double>(mean.size());
}
BENCHMARK(BM_mean_at_points)->Unit(benchmark::kMicrosecond);

#ifdef REALIGN_BENCH_RECEIVE_FIELD
// Frame 1's share of the receive field's normal equations (--intensity coil, the default),
// as pass 1 takes it from each fitted frame.
void BM_receive_field_sums(benchmark::State& state) {
  const Series& s = phantom().series;
  const EstimateOptions opt;
  const FrameFitter fitter = fitter_against_frame0(opt);
  const PaddedCoefficients frame = smoothed_coefficients(s.frame(1), s.grid, opt);
  const FrameFit fit = fitter.fit(frame, s.grid, Mat4::Identity());
  const ReceiveFieldBasis basis(s.grid.dim);
  for (auto _ : state)
    benchmark::DoNotOptimize(receive_field_sums(fitter, basis, frame, s.grid, fit));
}
BENCHMARK(BM_receive_field_sums)->Unit(benchmark::kMicrosecond);
#endif

// Reslicing one frame at the phantom's motion of frame 1, degree 4 (the default),
// without (the kernel alone) and with its coefficients.
void BM_reslice_frame(benchmark::State& state) {
  const Series& s = phantom().series;
  const int degree = 4;
  std::vector<float> c(s.frame(1), s.frame(1) + s.grid.voxels()), out(c.size());
  bspline_coefficients(c.data(), s.grid.dim, degree);
  const PaddedCoefficients coef = pad_coefficients(c.data(), s.grid.dim, degree);
  const Mat4 m = reference_to_frame_voxels(rigid_matrix(phantom().truth[1]), s.grid, s.grid);
  const RowIntervals visible = visible_rows(s.grid.dim, s.grid.dim, m);
  for (auto _ : state) {
    if (state.range(0) == 1) {
      std::copy(s.frame(1), s.frame(1) + c.size(), c.begin());
      bspline_coefficients(c.data(), s.grid.dim, degree);
      reslice_frame(pad_coefficients(c.data(), s.grid.dim, degree), m, visible, 0.0f, out.data());
    } else {
      reslice_frame(coef, m, visible, 0.0f, out.data());
    }
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_reslice_frame)
    ->ArgName("with_coefficients")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace realign

BENCHMARK_MAIN();
