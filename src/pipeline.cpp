#include "realign/pipeline.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>

#include "realign/distribute.hpp"
#include "realign/memory.hpp"
#include "realign/metrics.hpp"
#include "realign/nifti_io.hpp"
#include "realign/nonsteady.hpp"
#include "realign/output_set.hpp"
#include "realign/outputs.hpp"
#include "realign/progress.hpp"
#include "realign/reference.hpp"
#include "realign/report.hpp"
#include "realign/reslice.hpp"
#include "realign/sampling.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

struct OutputPaths {
  std::string image, mean, rp, tsv, json, xfm, plot, par, report;
};

OutputPaths output_paths(const Options& opt) {
  const auto [stem, ext] = split_image_path(opt.output);
  if (ext.empty()) throw OutputError(opt.output, "output must end in .nii or .nii.gz");
  OutputPaths p;
  p.image = opt.output;
  p.mean = stem + "_mean" + ext;
  p.rp = stem + "_rp.txt";
  p.tsv = stem + "_confounds.tsv";
  p.json = stem + "_confounds.json";
  p.xfm = stem + "_xfm.txt";
  p.plot = stem + "_motion.svg";
  p.par = stem + ".par";
  p.report = stem + "_report.html";
  return p;
}

void check_paths(const Options& opt, const OutputPaths& p) {
  const fs::path dir = fs::path(opt.output).parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::is_directory(dir, ec))
    throw OutputError(opt.output, "output directory does not exist");
  for (const std::string& out :
       {p.image, p.mean, p.rp, p.tsv, p.json, p.xfm, p.plot, p.par, p.report})
    if (same_file(out, opt.input)) throw OutputError(out, "output would overwrite the input");
}

// What the reference is, decided once on rank 0.
struct ReferenceChoice {
  enum Kind { Mean, Frame, File } kind = Mean;
  int frame = 0;        // 0-based, for Frame (and the first pass of Mean)
  bool median = false;  // Frame, to be chosen as the one closest to the run's median
};

ReferenceChoice parse_reference(const std::string& ref, int frames, const std::string& input) {
  ReferenceChoice c;
  if (ref == "mean") return c;
  if (ref == "first" || ref == "median") {
    c.kind = ReferenceChoice::Frame;
    c.median = ref == "median";
    return c;
  }
  char* end = nullptr;
  const long n = std::strtol(ref.c_str(), &end, 10);
  if (end && *end == 0 && !ref.empty()) {
    if (n < 1 || n > frames)
      throw InputError(input, "--ref " + ref + " is not a frame of this series (1-" +
                                  std::to_string(frames) + ")");
    c.kind = ReferenceChoice::Frame;
    c.frame = static_cast<int>(n - 1);
    return c;
  }
  c.kind = ReferenceChoice::File;
  return c;
}

// The reference's sample points, values and Jacobian, identical on every rank.
FrameFitter make_fitter(SampleSet points, const Grid& ref_grid, const EstimateOptions& est,
                        bool select, const Options& opt) {
  const std::vector<int> params = fitted_parameters(ref_grid);
  std::vector<double> jac = rigid_jacobian(points, ref_grid.vox2world, params);
  if (select) select_by_quality(points, jac, static_cast<int>(params.size()), est.quality);
  FrameFitter fitter(std::move(points), std::move(jac), params, ref_grid, est);
  if (opt.split == Split::Points && mpi_size() > 1) {
    const auto [b, e] = block_range(static_cast<int>(fitter.chunks()), mpi_size(), mpi_rank());
    fitter.set_chunk_range(b, e, [](std::vector<double>& v) { allreduce_sum(v); });
  }
  return fitter;
}

// For the log and the report: which reference, and which frame it came down to.
std::string describe_reference(const ReferenceChoice& c, const std::string& ref) {
  switch (c.kind) {
    case ReferenceChoice::Mean:
      return fmt::format(
          "mean of the frames (two passes, as SPM: every frame to frame {}, then every frame "
          "to the mean)",
          c.frame + 1);
    case ReferenceChoice::Frame:
      return fmt::format(
          "frame {}{}", c.frame + 1,
          c.median ? " (closest to the run's median)" : (ref == "first" ? " (first)" : ""));
    case ReferenceChoice::File:
      break;
  }
  return "file " + fs::path(ref).filename().string();
}

void load_all(const std::function<void(int, float*)>& load, int frames, std::size_t nv,
              float* out) {
  for (int f = 0; f < frames; ++f) load(f, out + nv * f);
}

void check_memory(const Options& opt, const Grid& grid, int frames, std::uint64_t file_bytes,
                  int ranks_here) {
  MemoryPlan plan;
  plan.file_bytes = file_bytes;
  plan.series_bytes = static_cast<std::uint64_t>(grid.voxels()) * frames * 4;
  plan.ranks = mpi_size();
  plan.ranks_here = ranks_here;
  plan.every_rank_holds_series = opt.split == Split::Points;
  const double need_mb = estimate_node_bytes(plan) / (1024.0 * 1024.0);
  const double have_mb =
      opt.max_memory_mb > 0 ? opt.max_memory_mb : available_bytes() / (1024.0 * 1024.0);
  spdlog::debug("memory: about {:.0f} MB needed on this node, {:.0f} MB available", need_mb,
                have_mb);
  if (have_mb > 0 && need_mb > have_mb)
    throw InputError(opt.input,
                     fmt::format("needs about {:.0f} MB of memory, {:.0f} MB {} "
                                 "(use fewer ranks per node, or --max-memory)",
                                 need_mb, have_mb,
                                 opt.max_memory_mb > 0 ? "allowed by --max-memory" : "available"));
}

// A warning (shown even with -q) when the run moved further than a head in a coil can.
void warn_if_implausible(const std::vector<RigidParams>& rp, const std::string& input) {
  const MotionExtent e = motion_extent(rp);
  if (!e.implausible()) return;
  spdlog::warn(
      "{}: implausible motion: {:.1f} mm (frame {}) and {:.1f} degrees (frame {}) from frame 1, "
      "beyond what a head in a coil can do ({:g} mm, {:g} degrees): check the estimate and "
      "whether the frames belong to one acquisition",
      input, e.translation_mm, e.translation_frame + 1, e.rotation_deg, e.rotation_frame + 1,
      kImplausibleTranslationMm, kImplausibleRotationDeg);
}

// The non-steady-state frames at the start of the run: --dummy-scans, or detected from the
// global means of the first frames. At least two frames are left to realign.
int nonsteady_frames(const Options& opt, const SeriesFile& file) {
  const int frames = file.frames();
  if (opt.dummy_scans >= frames - 1)
    throw UsageError(
        fmt::format("--dummy-scans {}: {} has {} frames", opt.dummy_scans, opt.input, frames));
  if (opt.dummy_scans >= 0) return opt.dummy_scans;
  std::vector<float> frame(file.grid().voxels());
  std::vector<double> means;
  for (int f = 0; f < std::min(frames, kNonsteadyWindow); ++f) {
    file.read_frames(f, f + 1, frame.data());
    double sum = 0.0;
    for (float v : frame) sum += v;
    means.push_back(sum / static_cast<double>(frame.size()));
  }
  const int n = std::min(count_nonsteady_frames(means), frames - 2);
  if (n > 0) {
    double steady = 0.0;
    for (std::size_t f = n; f < means.size(); ++f) steady += means[f];
    steady /= static_cast<double>(means.size() - n);
    spdlog::info(
        "frames 1-{} are non-steady-state (frame 1 {:+.0f}% brighter than the steady "
        "state): kept out of the reference; --dummy-scans overrides",
        n, 100.0 * (means[0] / steady - 1.0));
  }
  return n;
}

// Nothing can be aligned to an image without structure; a constant (or all-NaN, hence
// all-zero) reference would otherwise "converge" at once to a meaningless identity.
void check_not_constant(const std::vector<float>& v, const std::string& file,
                        const std::string& what) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  if (lo == v.end() || *lo == *hi)
    throw InputError(file, what + " is constant (every voxel " +
                               (lo == v.end() ? std::string("missing") : fmt::format("{:g}", *lo)) +
                               ", NaN/Inf count as 0): nothing to align to");
}

// Fits this rank's frames [fb, fe) (every frame with --split points) to the reference.
std::vector<FrameFit> fit_frames(const Options& opt, const Grid& grid,
                                 const std::vector<float>& ref_volume, const ReferenceChoice& refc,
                                 int frames, int nonsteady, int fb, int fe,
                                 const std::function<float*(int)>& local_frame) {
  const int rank = mpi_rank();
  const auto t_est = Clock::now();
  const EstimateOptions& est = opt.estimate;
  SampleSet points = sample_grid(grid, est.sep_mm, est.fwhm_mm);
  evaluate_reference(points, smoothed_coefficients(ref_volume.data(), grid, est));
  FrameFitter fitter = make_fitter(std::move(points), grid, est, frames > 2, opt);
  spdlog::debug("{} sample points after quality selection, {:.3f} s; {} OpenMP threads",
                fitter.points().size(), since(t_est), omp_get_max_threads());

  const bool two_pass = refc.kind == ReferenceChoice::Mean;
  // Smoothed coefficients of this rank's frames, kept for the second pass.
  std::vector<PaddedCoefficients> coef(fe - fb);
  for (int f = fb; f < fe; ++f) coef[f - fb] = smoothed_coefficients(local_frame(f), grid, est);

  spdlog::debug("smoothed {} frames, {:.3f} s", fe - fb, since(t_est));
  std::vector<FrameFit> fits(fe - fb);
  // The first pass leaves the reference frame itself at the identity (it is the target).
  const int skip = refc.kind == ReferenceChoice::File ? -1 : refc.frame;
  // Progress counts this rank's frames; a rank with a block holds about 1/size of them.
  const double scale = opt.split == Split::Points ? 1.0 : mpi_size();
  {
    Progress progress(two_pass ? "estimating, pass 1 of 2" : "estimating", fe - fb, scale);
    for (int f = fb; f < fe; ++f) {
      if (f == skip)
        fits[f - fb].converged = true;
      else
        fits[f - fb] = fitter.fit(coef[f - fb], grid, Mat4::Identity());
      progress.step();
    }
  }
  spdlog::debug("pass 1 done, {:.3f} s", since(t_est));
  if (two_pass) {
    // Register to the mean: average the moved frames at the sample points, then fit every
    // frame again (from where pass one left it) to that mean.
    SampleSet mean_points = fitter.points();
    MeanAtPoints acc;
    acc.reset(mean_points);
    const bool accumulate_here = opt.split == Split::Frames || rank == 0;
    if (accumulate_here) {
      // Non-steady-state frames (another contrast) stay out of the mean.
      for (int f = std::max(fb, nonsteady); f < fe; ++f) {
        if (f == skip)
          acc.add_reference(mean_points);
        else
          acc.add_frame(mean_points, coef[f - fb], grid, fitter, fits[f - fb]);
      }
    }
    spdlog::debug("mean accumulated, {:.3f} s", since(t_est));
    for (double* b : acc.buffers()) allreduce_sum(b, mean_points.size());
    acc.finish(mean_points);
    FrameFitter mean_fitter = make_fitter(std::move(mean_points), grid, est, false, opt);
    spdlog::debug("mean reference ready, {:.3f} s", since(t_est));
    Progress progress("estimating, pass 2 of 2", fe - fb, scale);
    for (int f = fb; f < fe; ++f) {
      fits[f - fb] = mean_fitter.fit(coef[f - fb], grid, fits[f - fb].correction);
      progress.step();
    }
  }
  coef.clear();
  coef.shrink_to_fit();
  {
    long total_iter = 0;
    for (const FrameFit& f : fits) total_iter += f.iterations;
    spdlog::debug("estimation done, {:.3f} s, {} iterations in the last pass", since(t_est),
                  total_iter);
  }

  return fits;
}

}  // namespace

RunResult run_realign(const Options& opt) {
  RunResult result;
  const int rank = mpi_rank(), size = mpi_size();
  if (opt.threads > 0) omp_set_num_threads(opt.threads);
  const auto t_start = Clock::now();

  // ---- Rank 0 opens and checks everything before any rank commits to work.
  Series series;
  NiftiHeader header;
  OutputPaths paths;
  ReferenceChoice refc;
  std::vector<float> ref_volume;
  std::unique_ptr<SeriesFile> file;
  std::size_t nonfinite = 0;
  const bool applying = !opt.apply_xfm.empty();
  std::vector<Mat4> given_xfm;
  int nonsteady = 0;  // frames at the start before the steady state
  std::string error;
  int error_status = kExitOk;
  const int ranks_here = ranks_on_root_node();
  if (rank == 0) {
    try {
      paths = output_paths(opt);
      check_paths(opt, paths);
      // Sized from the header alone, before the file's bytes are read.
      const NiftiInfo info = read_nifti_header(opt.input);
      check_memory(opt, info.grid, info.frames,
                   info.image_bytes() + (info.gzip ? info.stored_bytes : 0), ranks_here);
      file = std::make_unique<SeriesFile>(opt.input);
      spdlog::debug("opened {:.3f} s", since(t_start));
      header = file->header();
      series.grid = file->grid();
      series.frames = file->frames();
      series.tr_s = file->tr_s();
      if (applying) {
        given_xfm = read_xfm(opt.apply_xfm);
        if (static_cast<int>(given_xfm.size()) != series.frames)
          throw InputError(opt.apply_xfm, fmt::format("holds {} transforms, {} has {} frames",
                                                      given_xfm.size(), opt.input, series.frames));
        refc.kind = ReferenceChoice::Frame;
        ref_volume.resize(series.grid.voxels());
        file->read_frames(0, 1, ref_volume.data());
      } else if (series.frames < 2) {
        throw InputError(opt.input, "is a 3D image or has one frame; realign needs a 4D series");
      }
      if (!applying) {
        refc = parse_reference(opt.reference, series.frames, opt.input);
        nonsteady = nonsteady_frames(opt, *file);
        // The first pass of register-to-mean aligns to the first steady-state frame.
        if (refc.kind == ReferenceChoice::Mean) refc.frame = nonsteady;
      }
      if (refc.median) refc.frame = nonsteady + median_frame(*file, 3, nonsteady);
      if (applying) {
        spdlog::info("applying {} transforms from {}", given_xfm.size(), opt.apply_xfm);
      } else if (refc.kind == ReferenceChoice::File) {
        Volume ref = read_volume(opt.reference);
        if (!ref.grid.same_as(series.grid, 1e-3))
          throw InputError(opt.reference, "reference is on a different grid from the input");
        ref_volume = std::move(ref.data);
        check_not_constant(ref_volume, opt.reference, "the reference");
      } else {
        ref_volume.resize(series.grid.voxels());
        file->read_frames(refc.frame, refc.frame + 1, ref_volume.data());
        check_not_constant(
            ref_volume, opt.input,
            fmt::format("frame {}, the reference{},", refc.frame + 1,
                        refc.kind == ReferenceChoice::Mean ? " of the first pass" : ""));
      }
      if (!applying) spdlog::info("reference: {}", describe_reference(refc, opt.reference));
    } catch (const std::exception& e) {
      error = e.what();
      error_status = exit_status_of(e);
    }
  }
  error = broadcast_status(error, &error_status);
  if (!error.empty()) throw RunError(error, error_status);
  int frames = series.frames, kind = refc.kind, ref_frame = refc.frame;
  broadcast(nonsteady);
  result.nonsteady = nonsteady;
  broadcast(series.grid);
  broadcast(frames);
  broadcast(kind);
  broadcast(ref_frame);
  broadcast(series.tr_s);
  broadcast(ref_volume);
  if (applying) {
    // Rank 0's numbers plus zeros from the others: every rank gets them exactly.
    std::vector<double> m(16 * static_cast<std::size_t>(frames), 0.0);
    if (rank == 0)
      for (int f = 0; f < frames; ++f) Eigen::Map<Mat4>(m.data() + 16 * f) = given_xfm[f];
    allreduce_sum(m);
    given_xfm.resize(frames);
    for (int f = 0; f < frames; ++f) given_xfm[f] = Eigen::Map<const Mat4>(m.data() + 16 * f);
  }
  refc.kind = static_cast<ReferenceChoice::Kind>(kind);
  refc.frame = ref_frame;
  series.frames = frames;
  const Grid grid = series.grid;
  result.grid = grid;
  const std::size_t nv = grid.voxels();
  // Rank 0 converts each frame just before it leaves, so it never holds the whole series
  // beside the file's bytes.
  auto load = [&](int f, float* out) { nonfinite += file->read_frames(f, f + 1, out); };
  if (opt.split == Split::Points) {
    series.data.resize(nv * frames);
    if (rank == 0) load_all(load, frames, nv, series.data.data());
    broadcast(series.data);
  } else {
    const auto [b, e] = block_range(frames, size, rank);
    series.data.resize(nv * (e - b));
    scatter_frames(frames, nv, load, series.data.data());
  }
  file.reset();
  {
    // With a separate reference file the series itself may still be empty of structure.
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (float v : series.data) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const double span = max_over_ranks(hi) + max_over_ranks(-lo);
    std::string empty;
    int why = kExitOk;
    if (rank == 0 && !(span > 0) && !applying) {
      why = kExitInput;
      empty = opt.input + ": " +
              (nonfinite == nv * frames ? std::string("every voxel is NaN or Inf")
                                        : std::string("every voxel has the same value")) +
              ": nothing to realign";
    }
    empty = broadcast_status(empty, &why);
    if (!empty.empty()) throw RunError(empty, why);
  }
  if (nonfinite) spdlog::warn("{}: {} NaN/Inf voxels treated as missing (0)", opt.input, nonfinite);
  // This rank's block [rb, re) reports, reslices and sends its frames; it fits them too,
  // or every frame [fb, fe) when points are split (and then holds every frame).
  const auto [rb, re] = block_range(frames, size, rank);
  const bool all_frames_here = opt.split == Split::Points;
  const int fb = all_frames_here ? 0 : rb, fe = all_frames_here ? frames : re;
  auto local_frame = [&, fb = fb](int f) { return series.frame(f - fb); };
  result.seconds_read = since(t_start);
  spdlog::info("{}: {}x{}x{} voxels, {} frames, TR {} s", opt.input, grid.dim[0], grid.dim[1],
               grid.dim[2], frames, series.tr_s);

  // ---- Estimation, or the transforms given to `realign apply`.
  const auto t_est = Clock::now();
  // DVARS counts the voxels where the reference shows the head.
  const std::vector<std::uint8_t> brain = brain_mask(ref_volume);
  std::vector<Mat4> corrections;
  if (applying) {
    corrections = given_xfm;
  } else {
    const std::vector<FrameFit> fits =
        fit_frames(opt, grid, ref_volume, refc, frames, nonsteady, fb, fe, local_frame);
    // ---- Every rank learns every frame's correction (in frame order).
    std::vector<Mat4> mine;
    std::vector<int> iters, bad;
    for (int f = rb; f < re; ++f) {
      const FrameFit& fit = fits[f - fb];
      mine.push_back(fit.correction);
      iters.push_back(fit.iterations);
      bad.push_back(fit.overlap_failed ? 2 : (fit.converged ? 0 : 1));
    }
    corrections = allgather_frames(mine, frames);
    result.iterations = allgather_frames(iters, frames);
    const std::vector<int> status = allgather_frames(bad, frames);
    for (int f = 0; f < frames; ++f) {
      if (status[f] == 0) continue;
      result.unconverged.push_back(f);
      if (rank == 0)
        spdlog::warn("{}: frame {} {}", opt.input, f + 1,
                     status[f] == 2 ? "lost overlap with the reference (insufficient overlap)"
                                    : "did not converge within --max-iter iterations");
    }
  }
  ref_volume = {};
  // Parameters relative to frame 1 (SPM's rp); reslicing into frame 1's space for the
  // mean and first-frame references, into the reference's own space for a reference
  // file, and exactly as given for `apply`.
  const bool xfm_as_is = applying || refc.kind == ReferenceChoice::File;
  const Mat4 first_inv = corrections[0].inverse();
  for (int f = 0; f < frames; ++f) {
    // Frame 1 is the origin of the parameters by definition: exactly zero, not rounding.
    const Mat4 rel = f == 0 ? Mat4::Identity() : Mat4(first_inv * corrections[f]);
    result.rp.push_back(rigid_params(rel));
    result.xfm.push_back(xfm_as_is ? corrections[f] : rel);
  }
  result.seconds_estimate = since(t_est);
  if (rank == 0 && !applying) warn_if_implausible(result.rp, opt.input);

  // ---- Reslicing, each rank its own block of frames, in place. Rank 0 writes its frames
  // as they are done and then takes the others' in order (their sends start as each
  // frame is ready), so writing overlaps reslicing.
  const auto t_res = Clock::now();
  const float fill = opt.datatype == OutputType::Float32 && opt.reslice
                         ? std::numeric_limits<float>::quiet_NaN()
                         : 0.0f;
  std::vector<RowIntervals> visible(frames);
  RowIntervals common;
  for (int f = 0; f < frames; ++f) {
    const Mat4 map =
        opt.reslice ? reference_to_frame_voxels(result.xfm[f], grid, grid) : Mat4::Identity();
    visible[f] = visible_rows(grid.dim, grid.dim, map);
    if (f == 0)
      common = visible[f];
    else
      common.intersect(visible[f]);
  }
  MeanImage mean;
  mean.reset(nv);
  // The report's mean before realignment: each rank sums its own frames before they are
  // resliced in place.
  // The mean before realignment, for the report (`apply` writes none).
  const bool want_report = opt.report && !applying;
  std::vector<double> input_sum(want_report ? nv : 0, 0.0);
  std::vector<float> work(nv);
  double reslice_seconds = 0.0;  // this rank's own reslicing, without waiting or writing
  auto reslice_own = [&](int f) {
    const auto t = Clock::now();
    float* frame = local_frame(f);
    if (want_report)
      for (std::size_t v = 0; v < nv; ++v) input_sum[v] += frame[v];
    if (opt.reslice) {
      std::copy(frame, frame + nv, work.begin());
      bspline_coefficients(work.data(), grid.dim, opt.reslice_degree);
      reslice_frame(pad_coefficients(work.data(), grid.dim, opt.reslice_degree),
                    reference_to_frame_voxels(result.xfm[f], grid, grid), visible[f], fill, frame);
    }
    mean.add(frame, visible[f]);
    if (opt.reslice && opt.mask) common.apply(frame, fill);
    reslice_seconds += since(t);
    return frame;
  };
  auto finish_mean = [&]() {
    allreduce_sum(mean.sum);
    std::vector<double> counts(mean.count.begin(), mean.count.end());
    allreduce_sum(counts);
    std::copy(counts.begin(), counts.end(), mean.count.begin());
    std::vector<float> m = mean.result(fill);
    if (opt.reslice && opt.mask) common.apply(m.data(), fill);
    return m;
  };
  auto finish_input_mean = [&]() {
    std::vector<float> m;
    if (!want_report) return m;
    allreduce_sum(input_sum);
    m.resize(nv);
    for (std::size_t v = 0; v < nv; ++v) m[v] = static_cast<float>(input_sum[v] / frames);
    return m;
  };

  // How the output stores a frame, decided by rank 0 (it has the header) and known to all,
  // so each rank encodes (converts, compresses) its own frames.
  FrameFormat format;
  if (rank == 0) format = frame_format(header, opt.datatype, opt.output);
  {
    int fields[3] = {format.datatype, format.bytes_per_voxel, format.gzip ? 1 : 0};
    double scale[2] = {format.slope, format.inter};
    for (int& v : fields) broadcast(v);
    for (double& v : scale) broadcast(v);
    format = {fields[0], fields[1], static_cast<float>(scale[0]), static_cast<float>(scale[1]),
              fields[2] != 0};
  }
  // Float frames go out as they are; any other format is encoded where the frame is.
  const bool plain = format.datatype == 16 && !format.gzip;

  // Reslice this rank's block, DVARS within it, and send (rank 0 writes) each frame at once.
  std::vector<double> dvars_mine(re - rb, std::numeric_limits<double>::quiet_NaN());
  FrameSender sender;
  FrameEncoder encoder(format, nv);
  std::deque<std::vector<char>> encoded;  // kept until their sends complete
  auto outs = rank == 0 ? std::make_unique<OutputSet>() : nullptr;
  std::unique_ptr<NiftiWriter> writer;
  auto handle_own = [&](int f) {
    const float* frame = reslice_own(f);
    if (f > rb) dvars_mine[f - rb] = frame_dvars(local_frame(f - 1), frame, nv, brain);
    if (rank == 0) {
      if (writer) writer->write_frame(frame);
    } else if (opt.reslice) {
      if (plain) {
        sender.send(frame, nv, f);
      } else {
        encoded.push_back(encoder.encode(frame));
        sender.send_bytes(encoded.back(), f);
      }
    }
  };
  // A block's first DVARS needs the previous block's last frame.
  auto exchange_boundary = [&]() {
    // Tags above the frame count keep these apart from the frames going to rank 0.
    const bool next_has_frames = rank + 1 < size && block_range(frames, size, rank + 1).second > re;
    if (next_has_frames && re > rb) sender.send(local_frame(re - 1), nv, frames + re - 1, rank + 1);
    if (rank > 0 && re > rb) {
      std::vector<float> before(nv);
      receive_frame(before.data(), nv, frames + rb - 1, rank - 1);
      dvars_mine[0] = frame_dvars(before.data(), local_frame(rb), nv, brain);
    }
  };

  if (rank != 0) {
    for (int f = rb; f < re; ++f) handle_own(f);
    exchange_boundary();
    sender.wait_all();
    allgather_frames(dvars_mine, frames);
    finish_mean();
    finish_input_mean();
    series.data = {};
    max_over_ranks(reslice_seconds);
    result.peak_memory_mb = sum_peak_memory_mb();
    return result;
  }
  try {
    if (opt.reslice)
      writer = std::make_unique<NiftiWriter>(outs->temp_for(paths.image), header, grid, frames,
                                             opt.datatype);
    // Rank 0 writes every frame, so its count is the whole job's.
    Progress progress(opt.reslice ? "reslicing and writing" : "measuring",
                      opt.reslice ? frames : re - rb);
    for (int f = rb; f < re; ++f) {
      handle_own(f);
      progress.step();
    }
    exchange_boundary();
    // Then every other rank's frames, in order, as they arrive.
    std::vector<float> incoming(plain ? nv : 0);
    for (int owner = 1; owner < size && opt.reslice; ++owner) {
      const auto [ob_, oe_] = block_range(frames, size, owner);
      for (int f = ob_; f < oe_; ++f) {
        if (plain) {
          receive_frame(incoming.data(), nv, f, owner);
          writer->write_frame(incoming.data());
        } else {
          writer->write_encoded(receive_bytes(f, owner));
        }
        progress.step();
      }
    }
    if (writer) writer->close();
    sender.wait_all();
    const std::vector<double> dvars = allgather_frames(dvars_mine, frames);
    const std::vector<float> mean_image = finish_mean();
    const std::vector<float> input_mean = finish_input_mean();
    if (opt.reslice)
      write_image(outs->temp_for(paths.mean), header, grid, 1, mean_image.data(), opt.datatype);

    // `apply` writes only the images: the parameters are the caller's own.
    if (!applying) {
      MotionReport report;
      report.rp = result.rp;
      report.xfm = result.xfm;
      report.fd = framewise_displacement(result.rp, opt.fd_radius_mm);
      report.rmsd = relative_rms(result.xfm, grid.centre_mm(), 80.0);
      report.dvars = dvars;
      report.unconverged = result.unconverged;
      report.nonsteady = result.nonsteady;
      report.nonsteady_given = opt.dummy_scans >= 0;
      report.fd_radius_mm = opt.fd_radius_mm;
      report.fd_threshold_mm = opt.fd_threshold_mm;
      report.tr_s = series.tr_s;
      report.input_name = fs::path(opt.input).filename().string();
      write_rp(outs->temp_for(paths.rp), result.rp);
      if (opt.write_par) write_par(outs->temp_for(paths.par), result.rp);
      write_confounds(outs->temp_for(paths.tsv), outs->temp_for(paths.json), report);
      write_xfm(outs->temp_for(paths.xfm), result.xfm);
      write_motion_plot(outs->temp_for(paths.plot), report);
      if (opt.report) {
        QcReport qc;
        qc.motion = &report;
        qc.iterations = result.iterations;
        qc.reference = describe_reference(refc, opt.reference);
        qc.grid = grid;
        qc.mean_before = input_mean;
        if (opt.reslice) qc.mean_after = mean_image;
        write_qc_report(outs->temp_for(paths.report), qc);
      }
    }
    outs->commit();
    result.outputs = outs->finals();
  } catch (const std::exception& e) {
    const std::string message = outs->with_final_names(e.what());
    const int status = exit_status_of(e);
    outs.reset();  // removes the temporaries before anything else happens
    if (size > 1) abort_all(message, status);
    throw RunError(message, status);
  }
  result.seconds_total = since(t_start);
  // Reslicing is the slowest rank's own work; writing is the rest of the time after
  // estimation (rank 0 writes while the ranks reslice).
  result.seconds_reslice = max_over_ranks(reslice_seconds);
  result.seconds_write = std::max(0.0, since(t_res) - result.seconds_reslice);
  result.series_mb = static_cast<double>(nv) * frames * sizeof(float) / (1024.0 * 1024.0);
  result.peak_memory_mb = sum_peak_memory_mb();
  return result;
}

}  // namespace realign
