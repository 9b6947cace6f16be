#include "realign/app/follow/follow.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "realign/app/follow/follow_output.hpp"
#include "realign/app/follow/frame_spill.hpp"
#include "realign/app/follow/line_sender.hpp"
#include "realign/app/follow/volume_source.hpp"
#include "realign/app/platform/output_set.hpp"
#include "realign/app/run/estimate_motion.hpp"
#include "realign/app/run/input_checks.hpp"
#include "realign/app/run/output_paths.hpp"
#include "realign/app/run/pipeline.hpp"
#include "realign/app/run/reference_choice.hpp"
#include "realign/core/good_time.hpp"
#include "realign/core/metrics.hpp"
#include "realign/core/motion_filter.hpp"
#include "realign/core/nonsteady.hpp"
#include "realign/core/reslice.hpp"
#include "realign/io/frame_file.hpp"
#include "realign/io/text_io.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int sig) { g_stop = sig; }

// SIGINT and SIGTERM end the follow, not the process: the outputs of what was seen are
// still to be written. No SA_RESTART, so that a wait in poll() ends at once.
void catch_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    if (old.sa_handler != SIG_IGN) sigaction(sig, &sa, nullptr);
  }
  // A reader of the lines that goes away (a neurofeedback program that crashed) must not
  // end the follow before the outputs are written: the lines are then lost, nothing else.
  std::signal(SIGPIPE, SIG_IGN);
}

// Milliseconds each volume spent in each stage, from complete on disk to its line.
struct StageTimes {
  double detect = 0, read = 0, estimate = 0, reslice = 0, total = 0;
  double cpu = 0;  // this thread's CPU time for estimate and reslice: the cost without waiting
};

// On a busy machine wall time includes waiting for a CPU; this does not.
double thread_cpu_ms() {
  struct timespec t {};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(v.size() - 1, k)];
}

template <class Get>
std::vector<double> column(const std::vector<StageTimes>& t, Get get) {
  std::vector<double> out;
  for (const StageTimes& s : t) out.push_back(get(s));
  return out;
}

// The run the volumes make: read from the source, written under the output's names.
RunFiles follow_files(const FollowOptions& opt) {
  RunFiles files;
  files.input = opt.source;
  files.output = opt.output;
  files.follow = true;
  return files;
}

// The reference, every volume's fit as it comes, and at the end the batch outputs.
class Follower {
 public:
  Follower(const RunSettings& settings, const FollowOptions& opt)
      : opt_(opt),
        run_(run_options(settings, follow_files(opt))),
        filtered_(settings.fd_filter.active()),
        lines_(stdout, opt.live,
               LiveView{settings.fd_threshold_mm, filtered_, opt.criterion_minutes}),
        from_first_(settings.reference == "first" && opt.reference_volumes <= 1) {
    lines_.header();
    if (!opt.send.empty()) sender_ = std::make_unique<LineSender>(opt.send);
  }

  void add(ArrivedVolume& v);
  int finish(const std::string& why, int status);

 private:
  bool accept(const ArrivedVolume& v);
  void start(const ArrivedVolume& v);
  void make_reference(std::vector<float> volume, std::string words);
  void use_waiting();
  void process(ArrivedVolume& v);
  FrameLine record(const FrameFit& fit);
  std::vector<GoodTime> live_good_time() const;
  void reslice_to(const ArrivedVolume& v, const Mat4& xfm) const;
  void log_latency() const;
  int nonsteady_at_end() const;
  void write_good_time(const std::string& path) const;

  const FollowOptions& opt_;
  const RunOptions run_;  // the run the volumes make, for the outputs at the end
  const bool filtered_;   // --fd-filter: the filtered FD flags frames and counts good time
  LineWriter lines_;
  std::unique_ptr<LineSender> sender_;  // --send
  bool from_first_;
  bool started_ = false;
  NiftiInfo first_;
  std::vector<float> reference_;
  std::string reference_words_;
  std::unique_ptr<FrameFitter> fitter_;
  std::vector<ArrivedVolume> waiting_;  // the first N, for their mean as the reference
  std::vector<Mat4> corrections_;
  std::vector<int> iterations_, unconverged_;
  std::vector<double> means_;  // global means of the first frames (non-steady state)
  Mat4 first_inv_ = Mat4::Identity(), prev_xfm_ = Mat4::Identity();
  RigidParams prev_rp_{}, prev_filtered_{};
  ParamFilter filter_;                 // --fd-filter, started at the first volume
  std::vector<double> censor_fd_;      // per volume: the FD that flags and counts good time
  std::unique_ptr<FrameSpill> spill_;  // the volumes, for the batch outputs at the end
  std::vector<StageTimes> times_;
};

void Follower::add(ArrivedVolume& v) {
  if (!accept(v)) return;
  if (!fitter_) {
    waiting_.push_back(std::move(v));
    if (static_cast<int>(waiting_.size()) >= opt_.reference_volumes) use_waiting();
    return;
  }
  process(v);
}

// The first volume fixes the grid (and the reference, unless it is a file or a mean);
// a later one on another grid is left out.
bool Follower::accept(const ArrivedVolume& v) {
  if (!started_) {
    try {
      check_not_constant(v.volume.data, v.name, "the first volume");
    } catch (const InputError& e) {
      spdlog::warn("{}: skipped, waiting for a volume with structure", e.what());
      return false;
    }
    start(v);
    return true;
  }
  if (v.volume.grid.same_as(first_.grid, 1e-3)) return true;
  const auto& d = v.volume.grid.dim;
  spdlog::warn(
      "{}: on another grid ({}x{}x{} voxels or another position) than the first "
      "volume: skipped",
      v.name, d[0], d[1], d[2]);
  return false;
}

void Follower::start(const ArrivedVolume& v) {
  started_ = true;
  first_ = v.info;
  const Grid& g = first_.grid;
  spdlog::info("{}: {}x{}x{} voxels, TR {} s", v.name, g.dim[0], g.dim[1], g.dim[2], first_.tr_s);
  RunOptions named = run_;
  named.input = v.name;
  check_fd_filter(named, first_.tr_s);
  if (filtered_) filter_ = ParamFilter(notch_biquad(run_.fd_filter, first_.tr_s));
  if (!run_.output.empty()) {
    frame_format(first_.header, run_.datatype, run_.output);  // refuses what cannot be written
    if (run_.reslice || run_.report) {
      const fs::path dir = fs::path(run_.output).parent_path();
      spill_ = std::make_unique<FrameSpill>(dir.empty() ? "." : dir.string(), g.voxels());
    }
  }
  if (from_first_) {
    make_reference(v.volume.data, "frame 1 (first)");
  } else if (run_.reference != "first") {
    Volume r = read_volume(run_.reference);
    if (!r.grid.same_as(g, 1e-3))
      throw InputError(run_.reference, "reference is on a different grid from the volumes");
    check_not_constant(r.data, run_.reference, "the reference");
    make_reference(std::move(r.data), "file " + fs::path(run_.reference).filename().string());
  }
}

// The batch's fitter for a run of more than two frames (quality selection on).
void Follower::make_reference(std::vector<float> volume, std::string words) {
  reference_ = std::move(volume);
  reference_words_ = std::move(words);
  const Grid& g = first_.grid;
  fitter_ = std::make_unique<FrameFitter>(reference_fitter(
      reference_points(reference_.data(), g, run_.estimate), g, true, run_.estimate));
  spdlog::info("reference: {}; {} sample points", reference_words_, fitter_->points().size());
}

// The mean of the volumes waiting becomes the reference; then they are fitted to it.
void Follower::use_waiting() {
  if (waiting_.empty()) return;
  std::vector<double> sum(first_.grid.voxels(), 0.0);
  for (const ArrivedVolume& w : waiting_)
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += w.volume.data[i];
  std::vector<float> mean(sum.size());
  for (std::size_t i = 0; i < sum.size(); ++i)
    mean[i] = static_cast<float>(sum[i] / static_cast<double>(waiting_.size()));
  make_reference(std::move(mean), fmt::format("mean of the first {} volumes", waiting_.size()));
  for (ArrivedVolume& w : waiting_) process(w);
  waiting_.clear();
  waiting_.shrink_to_fit();
}

void Follower::process(ArrivedVolume& v) {
  StageTimes t;
  const double cpu0 = thread_cpu_ms();
  const double t0 = unix_now();
  const Grid& g = first_.grid;
  FrameFit fit;
  fit.converged = true;  // frame 1 as the reference is the identity, as in the batch
  if (!(from_first_ && corrections_.empty()))
    fit = fitter_->fit(smoothed_coefficients(v.volume.data.data(), g, run_.estimate), g,
                       Mat4::Identity());
  FrameLine line = record(fit);
  if (!fit.converged || fit.overlap_failed)
    spdlog::warn("{}: frame {} {}", v.name, line.frame,
                 fit.overlap_failed ? "lost overlap with the reference (insufficient overlap)"
                                    : "did not converge within --max-iter iterations");
  const double t1 = unix_now();
  if (!opt_.reslice_to.empty()) reslice_to(v, prev_xfm_);
  const double t2 = unix_now();
  // The global means of the first volumes tell the non-steady-state ones, which good time
  // leaves out; one pass over the voxels, for the first kNonsteadyWindow volumes only.
  if (static_cast<int>(means_.size()) < kNonsteadyWindow)
    means_.push_back(global_mean(v.volume.data.data(), v.volume.data.size()));
  line.latency_ms = (t2 - v.complete_s) * 1000.0;
  // Counted for every volume, live view or not (a few microseconds), so that the latency
  // measured on a pipe is the terminal's too.
  lines_.write(line, live_good_time());
  if (sender_) sender_->send(follow_json(line, filtered_, v.name));
  t.detect = (v.picked_s - v.complete_s) * 1000.0;
  t.read = (v.read_s - v.picked_s) * 1000.0;
  t.estimate = (t1 - t0) * 1000.0;
  t.reslice = (t2 - t1) * 1000.0;
  t.cpu = thread_cpu_ms() - cpu0;
  t.total = (unix_now() - v.complete_s) * 1000.0;
  times_.push_back(t);
  // After the line: nothing here delays it.
  if (spill_) spill_->append(v.volume.data.data());
}

// As record_motion does for the whole run: parameters relative to frame 1, matrices into
// frame 1's space (or, for a reference file or mean, its own), FD and rmsd to the last.
FrameLine Follower::record(const FrameFit& fit) {
  const int f = static_cast<int>(corrections_.size());
  corrections_.push_back(fit.correction);
  iterations_.push_back(fit.iterations);
  if (!fit.converged || fit.overlap_failed) unconverged_.push_back(f);
  if (f == 0) first_inv_ = fit.correction.inverse();
  const Mat4 rel = f == 0 ? Mat4::Identity() : Mat4(first_inv_ * fit.correction);
  const Mat4 xfm = from_first_ ? rel : fit.correction;
  FrameLine line;
  line.frame = f + 1;
  line.rp = rigid_params(rel);
  line.fd = f == 0 ? kNaN : framewise_displacement({prev_rp_, line.rp}, run_.fd_radius_mm)[1];
  line.rmsd = f == 0 ? kNaN
                     : rms_deviation(xfm, prev_xfm_, first_.grid.centre_mm(),
                                     MotionRecord{}.rmsd_radius_mm);
  if (filtered_) {
    // The batch's filter (measure_fd), one volume at a time: the same numbers.
    const RigidParams p = filter_.next(line.rp);
    line.fd_filtered =
        f == 0 ? kNaN : framewise_displacement({prev_filtered_, p}, run_.fd_radius_mm)[1];
    prev_filtered_ = p;
  }
  censor_fd_.push_back(filtered_ ? line.fd_filtered : line.fd);
  line.flagged = censor_fd_.back() > run_.fd_threshold_mm;
  prev_rp_ = line.rp;
  prev_xfm_ = xfm;
  return line;
}

// Good time so far for the status line: the non-steady-state volumes are --dummy-scans, or
// those the batch's rule finds in the global means seen so far (settled once
// kNonsteadyWindow volumes are in).
std::vector<GoodTime> Follower::live_good_time() const {
  const int n = static_cast<int>(censor_fd_.size());
  const int nonsteady =
      run_.dummy_scans >= 0 ? std::min(run_.dummy_scans, n) : count_nonsteady_frames(means_);
  return good_time(censor_fd_, nonsteady, first_.tr_s, run_.good_fd_mm, opt_.criterion_minutes);
}

// The non-steady-state volumes as the final outputs count them (plan_seen_run).
int Follower::nonsteady_at_end() const {
  RunOptions clamped = run_;
  const int n = static_cast<int>(censor_fd_.size());
  clamped.dummy_scans = std::min(run_.dummy_scans, n - 2);
  return nonsteady_frames(clamped, means_, n).count;
}

// OUTPUT_follow.json: good time per --good-fd threshold, as the last status line shows it
// and as the QC report of the same volumes counts it.
void Follower::write_good_time(const std::string& path) const {
  using Json = nlohmann::ordered_json;
  const int nonsteady = nonsteady_at_end();
  const double tr = first_.tr_s;
  const auto number = [](double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); };
  Json good = Json::array();
  for (const GoodTime& g :
       good_time(censor_fd_, nonsteady, tr, run_.good_fd_mm, opt_.criterion_minutes)) {
    Json t = {{"Threshold_mm", g.threshold_mm},
              {"GoodVolumes", g.good_frames},
              {"GoodFraction", g.fraction()},
              {"GoodMinutes", number(g.minutes)}};
    if (opt_.criterion_minutes > 0) t["FurtherMinutes"] = number(g.further_minutes);
    good.push_back(std::move(t));
  }
  Json j = {{"Volumes", static_cast<int>(censor_fd_.size())},
            {"NonSteadyStateVolumes", nonsteady},
            {"RepetitionTime", number(tr > 0 ? tr : kNaN)},
            {"FramewiseDisplacement",
             filtered_ ? "filtered: --fd-filter " + run_.fd_filter.text() : "unfiltered"},
            {"GoodTime", std::move(good)}};
  if (opt_.criterion_minutes > 0) j["CriterionMinutes"] = opt_.criterion_minutes;
  j["Description"] =
      "FIRMM's good time. GoodVolumes: the steady-state volumes (those after the "
      "NonSteadyStateVolumes) whose FD is at or below Threshold_mm, volume 1 counted as good "
      "(it has no FD); GoodFraction: of the steady-state volumes; GoodMinutes: GoodVolumes "
      "times the TR (null without one). FurtherMinutes: with --criterion-minutes, the scan "
      "time still needed for CriterionMinutes of good data if the run goes on at its "
      "GoodFraction (0 once reached, null while no volume is good)";
  std::ofstream out = text::open_for_write(path);
  out << j.dump(2) << "\n";
  text::finish_write(out, path);
}

// The resliced volume, complete under its final name before the line announces it.
void Follower::reslice_to(const ArrivedVolume& v, const Mat4& xfm) const {
  const Grid& g = first_.grid;
  std::vector<float> work = v.volume.data, out(g.voxels());
  bspline_coefficients(work.data(), g.dim, run_.reslice_degree);
  const Mat4 to_frame = reference_to_frame_voxels(xfm, g, g);
  const float fill =
      run_.datatype == OutputType::Float32 ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
  reslice_frame(pad_coefficients(work.data(), g.dim, run_.reslice_degree), to_frame,
                visible_rows(g.dim, g.dim, to_frame), fill, out.data());
  const bool named =
      v.name.find(".nii") != std::string::npos && v.name.find(',') == std::string::npos;
  const fs::path dicom(v.name);  // "vol_0001.dcm" gives "rvol_0001.nii"
  const bool is_dicom = frame_number(v.name) >= 0 && !named;
  const std::string name = named      ? "r" + v.name
                           : is_dicom ? "r" + dicom.stem().string() + ".nii"
                                      : fmt::format("rframe_{:05d}.nii", corrections_.size());
  const fs::path final_path = fs::path(opt_.reslice_to) / name;
  const fs::path temp = fs::path(opt_.reslice_to) / ("." + name);
  write_image(temp.string(), v.info.header, g, 1, out.data(), run_.datatype);
  std::error_code ec;
  fs::rename(temp, final_path, ec);
  if (ec) throw OutputError(final_path.string(), "cannot move into place: " + ec.message());
}

void Follower::log_latency() const {
  if (times_.empty()) return;
  auto med = [&](auto get) { return percentile(column(times_, get), 0.5); };
  const std::vector<double> total = column(times_, [](const StageTimes& s) { return s.total; });
  spdlog::info(
      "latency ms: median {:.2f}, p99 {:.2f}, max {:.2f}; stage medians: detect {:.2f}, read "
      "{:.2f}, estimate {:.2f}, reslice {:.2f}; CPU per volume (estimate + reslice, main "
      "thread) {:.2f}",
      percentile(total, 0.5), percentile(total, 0.99), percentile(total, 1.0),
      med([](const StageTimes& s) { return s.detect; }),
      med([](const StageTimes& s) { return s.read; }),
      med([](const StageTimes& s) { return s.estimate; }),
      med([](const StageTimes& s) { return s.reslice; }),
      med([](const StageTimes& s) { return s.cpu; }));
}

int Follower::finish(const std::string& why, int status) {
  use_waiting();
  const int n = static_cast<int>(corrections_.size());
  spdlog::info("{} {} followed; {}", n, n == 1 ? "volume" : "volumes", why);
  log_latency();
  // The listener has had the lines; what it has not taken by now is counted as lost.
  if (sender_) sender_->finish();
  if (run_.output.empty()) return status;
  if (n < 2) {
    // A refused command line (an --fd-filter the TR cannot carry) has said all there is.
    if (status != kExitUsage)
      spdlog::warn("{}: fewer than two volumes: no outputs written", run_.output);
    return status != kExitOk ? status : kExitInput;
  }
  OutputSet outs;
  if (spill_) {
    // The batch stages, on the volumes kept in the spill file.
    const ReferenceChoice reference{from_first_ ? ReferenceChoice::Frame : ReferenceChoice::File};
    const RunPlan plan =
        plan_seen_run(run_,
                      std::make_unique<FrameFile>(spill_->path(), float32_frames_info(first_, n), 0,
                                                  false, run_.input),
                      reference, reference_words_, reference_, means_);
    LocalFrames local = frames_of(plan, Split::Frames, 1, 0);
    MotionEstimate estimate;
    estimate.corrections = corrections_;
    estimate.iterations = iterations_;
    estimate.unconverged = unconverged_;
    RunResult result;
    result.record = record_motion(plan, estimate, run_);
    reslice_and_write(plan, local, run_, result, &outs);
  }
  write_good_time(outs.temp_for(output_paths(run_.output).follow));
  outs.commit();
  for (const auto& o : outs.finals()) spdlog::info("wrote {}", o);
  return status;
}

std::string stop_reason(int sig) {
  return sig == SIGINT    ? "stopped by SIGINT"
         : sig == SIGTERM ? "stopped by SIGTERM"
                          : "stopped by SIGHUP";
}

// Volumes until the source ends, a signal, --timeout or a fatal fault.
int follow_volumes(const FollowOptions& opt, VolumeSource& source, Follower& follower,
                   std::string& why) {
  double last = monotonic_now();
  while (!g_stop) {
    ArrivedVolume v;
    const double wait =
        opt.timeout_s > 0 ? std::max(0.0, last + opt.timeout_s - monotonic_now()) : 1.0;
    const VolumeSource::Status s = source.next(std::min(wait, 0.2), v);
    if (s == VolumeSource::Status::Ended) {
      why = "the series ended";
      return kExitOk;
    }
    if (s == VolumeSource::Status::Volume) {
      follower.add(v);
      last = monotonic_now();
    } else if (opt.timeout_s > 0 && monotonic_now() - last >= opt.timeout_s) {
      why = fmt::format("no new volume for {:g} s (--timeout)", opt.timeout_s);
      return kExitOk;
    }
  }
  why = stop_reason(g_stop);
  return kExitOk;
}

}  // namespace

int run_follow(const RunSettings& settings, const FollowOptions& opt) {
  if (settings.reference != "first" && opt.reference_volumes > 1)
    throw UsageError("--ref FILE and --ref-volumes N are two references: give one");
  if (!opt.output.empty())
    check_output_paths(output_paths(opt.output), run_options(settings, follow_files(opt)));
  if (!opt.reslice_to.empty() && !fs::is_directory(opt.reslice_to))
    throw OutputError(opt.reslice_to, "--reslice-to: not a directory");
  catch_stop_signals();
  std::unique_ptr<VolumeSource> source = open_source(opt);
  Follower follower(settings, opt);
  std::string why;
  int status = kExitOk;
  try {
    status = follow_volumes(opt, *source, follower, why);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    status = exit_status_of(e);
    why = "stopped by the error above; writing the outputs of the volumes seen";
  }
  source->report_unfinished();
  install_signal_handlers(true);  // from here a signal removes the outputs' temporaries
  return follower.finish(why, status);
}

}  // namespace realign
