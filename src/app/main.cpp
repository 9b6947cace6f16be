// realign: the command line parsed and completed once, then MPI, logging and signals, then
// the command it names.
#include <omp.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "realign/app/bids/bids_app.hpp"
#include "realign/app/cli.hpp"
#include "realign/app/follow/follow.hpp"
#include "realign/app/platform/distribute.hpp"
#include "realign/app/platform/mpi_start.hpp"
#include "realign/app/platform/output_set.hpp"
#include "realign/app/platform/progress.hpp"
#include "realign/app/platform/threads.hpp"
#include "realign/app/run/pipeline.hpp"
#include "realign/app/run/subject.hpp"
#include "realign/core/metrics.hpp"

namespace {

using realign::Command;

void print_summary(const realign::RunResult& run, double fd_radius) {
  const realign::MotionRecord& r = run.record;
  double max_t = 0, max_r = 0, mean_fd = 0;
  for (const auto& q : r.rp) {
    for (int k = 0; k < 3; ++k) max_t = std::max(max_t, std::fabs(q[k]));
    for (int k = 3; k < 6; ++k) max_r = std::max(max_r, std::fabs(q[k]));
  }
  const std::vector<double> fd = realign::framewise_displacement(r.rp, fd_radius);
  for (std::size_t f = 1; f < fd.size(); ++f) mean_fd += fd[f] / (fd.size() - 1);
  spdlog::info("motion: max |translation| {:.3f} mm, max |rotation| {:.3f} deg, mean FD {:.3f} mm",
               max_t, max_r * 180.0 / M_PI, mean_fd);
  spdlog::info(
      "time: read {:.2f} s, estimate {:.2f} s, reslice {:.2f} s, write {:.2f} s, total {:.2f} s",
      run.seconds_read, run.seconds_estimate, run.seconds_reslice, run.seconds_write,
      run.seconds_total);
  spdlog::info("memory: peak {:.0f} MB summed over ranks ({:.2f} x the float32 series)",
               run.peak_memory_mb, run.series_mb > 0 ? run.peak_memory_mb / run.series_mb : 0.0);
  for (const auto& o : run.outputs) spdlog::info("wrote {}", o);
}

// Rank 0 says what happens; every other rank speaks only of its own failure.
void configure_logging(const realign::Options& opt, int rank) {
  auto logger = spdlog::stderr_color_mt("realign");
  logger->set_pattern("realign: %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(rank != 0     ? spdlog::level::err
                    : opt.quiet   ? spdlog::level::warn
                    : opt.verbose ? spdlog::level::debug
                                  : spdlog::level::info);
  realign::Progress::configure(rank == 0);
}

int run_command(const realign::Options& opt, const realign::MpiSession& mpi) {
  switch (opt.command) {
    case Command::Follow:
      return realign::run_follow(opt.run, opt.follow);
    case Command::Bids:
      return realign::run_bids(opt.run, opt.bids);
    case Command::Subject: {
      const realign::SubjectJob job = realign::subject_job(opt.paths, opt.outdir, opt.run.report);
      const auto runs = realign::run_subject(opt.run, job);
      for (std::size_t k = 0; mpi.rank() == 0 && k < runs.size(); ++k) {
        spdlog::info("run {}: {}", k + 1, runs[k].record.input_name);
        print_summary(runs[k], opt.run.fd_radius_mm);
      }
      if (!job.report.empty()) spdlog::info("wrote {}", job.report);
      return 0;
    }
    case Command::Apply:
    case Command::Run: {
      const realign::RunOptions run = realign::run_options(opt.run, opt.files());
      const realign::RunResult r =
          opt.command == Command::Apply ? realign::run_apply(run) : realign::run_realign(run);
      if (mpi.rank() == 0) print_summary(r, opt.run.fd_radius_mm);
      return 0;
    }
  }
  return 0;
}

int run(const realign::Options& opt, const realign::MpiSession& mpi) {
  try {
    return run_command(opt, mpi);
  } catch (const realign::RunError& e) {
    realign::silence_signal_messages();
    if (mpi.rank() == 0) spdlog::error("{}", e.what());
    return e.status();
  } catch (const std::exception& e) {
    // Only this rank knows: end every rank rather than leave peers waiting.
    const int status = realign::exit_status_of(e);
    realign::silence_signal_messages();
    if (mpi.size() > 1) realign::abort_all(e.what(), status);
    spdlog::error("{}", e.what());
    return status;
  }
}

}  // namespace

int main(int argc, char** argv) {
  realign::Options opt;
  const realign::ParseOutcome parsed = realign::parse_command_line(argc, argv, opt);
  std::string wait_policy;
  if (parsed.status < 0) {
    realign::complete_options(opt, realign::read_cpu_sources({}, std::getenv),
                              isatty(STDOUT_FILENO) != 0);
    // May re-execute the program, which must happen before MPI starts.
    wait_policy = realign::make_openmp_wait_passive(argv, opt.run.threads);
  }
  const realign::MpiStart start = realign::decide_mpi_start(std::getenv);
  realign::MpiSession mpi(&argc, &argv, start);
  if (parsed.status >= 0) {
    if (mpi.rank() == 0) {
      std::fputs(parsed.stdout_text.c_str(), stdout);
      std::fputs(parsed.stderr_text.c_str(), stderr);
    }
    return parsed.status;
  }
  realign::install_signal_handlers(mpi.rank() == 0);
  configure_logging(opt, mpi.rank());
  omp_set_num_threads(opt.run.threads);
  spdlog::debug("threads: {} ({}); OpenMP wait policy {}", opt.run.threads, opt.threads_reason,
                wait_policy);
  spdlog::debug("MPI: {}", start.note);
  const int status = run(opt, mpi);
  spdlog::debug("threads alive at the end: {}", realign::threads_alive());
  return status;
}
