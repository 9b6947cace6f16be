// realign: parses the command line, sets up MPI, logging and signals, and runs.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "realign/app/cli.hpp"
#include "realign/app/distribute.hpp"
#include "realign/app/follow.hpp"
#include "realign/app/mpi_start.hpp"
#include "realign/app/output_set.hpp"
#include "realign/app/pipeline.hpp"
#include "realign/app/progress.hpp"
#include "realign/app/subject.hpp"
#include "realign/app/threads.hpp"
#include "realign/core/metrics.hpp"

namespace {

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

void configure_logging(const realign::Command& cmd, int rank) {
  auto logger = spdlog::stderr_color_mt("realign");
  logger->set_pattern("realign: %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(cmd.quiet     ? spdlog::level::warn
                    : cmd.verbose ? spdlog::level::debug
                                  : spdlog::level::info);
  if (rank != 0 && !cmd.verbose) spdlog::set_level(spdlog::level::err);
  realign::Progress::configure(rank == 0);
}

// The default thread count is what this rank may really use; the log says why.
void set_thread_count(realign::Command& cmd, const std::string& wait_policy, int rank) {
  const realign::ThreadChoice c =
      realign::choose_threads(realign::read_cpu_sources({}, std::getenv), cmd.options.threads);
  cmd.options.threads = c.threads;
  if (rank == 0)
    spdlog::debug("threads: {} ({}); OpenMP wait policy {}", c.threads, c.reason, wait_policy);
}

int run(const realign::Command& cmd, const realign::MpiSession& mpi) {
  try {
    if (cmd.kind == realign::Command::Follow) return realign::run_follow(cmd.follow);
    if (cmd.kind == realign::Command::Bids) return realign::run_bids(cmd.bids);
    if (cmd.kind == realign::Command::Subject) {
      const auto runs = realign::run_subject(cmd.subject);
      for (std::size_t k = 0; mpi.rank() == 0 && k < runs.size(); ++k) {
        spdlog::info("run {}: {}", k + 1, runs[k].record.input_name);
        print_summary(runs[k], cmd.options.fd_radius_mm);
      }
      if (mpi.rank() == 0 && !cmd.subject.report.empty())
        spdlog::info("wrote {}", cmd.subject.report);
      return 0;
    }
    const bool applying = cmd.kind == realign::Command::Apply;
    const realign::RunResult r =
        applying ? realign::run_apply(cmd.options) : realign::run_realign(cmd.options);
    if (mpi.rank() == 0) print_summary(r, cmd.options.fd_radius_mm);
    return 0;
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
  // First of all: may re-execute the program, which must happen before MPI starts.
  const std::string wait_policy = realign::make_openmp_wait_passive(argv);
  const realign::MpiStart start = realign::decide_mpi_start(std::getenv);
  realign::MpiSession mpi(&argc, &argv, start);
  realign::install_signal_handlers(mpi.rank() == 0);
  realign::Command cmd;
  const int status = realign::parse_command_line(argc, argv, mpi.rank() == 0, cmd);
  if (status >= 0) return status;
  configure_logging(cmd, mpi.rank());
  set_thread_count(cmd, wait_policy, mpi.rank());
  if (mpi.rank() == 0) spdlog::debug("MPI: {}", start.note);
  cmd.follow.run.threads = cmd.options.threads;
  cmd.bids.run.threads = cmd.options.threads;
  cmd.follow.live = isatty(STDOUT_FILENO) != 0;
  return run(cmd, mpi);
}
