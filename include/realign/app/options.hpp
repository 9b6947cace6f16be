// Everything one command line tells realign: the command, the settings every run of it
// shares, and the part of the command that differs (its files, follow's source, bids'
// dataset). Filled by the command line (cli.hpp), then completed once (complete_options:
// the thread count, a command's own defaults) before the wait policy is decided, MPI starts
// or any command runs; every command reads this one record and nothing copies it.
#pragma once

#include <string>
#include <vector>

#include "realign/app/bids/bids_options.hpp"
#include "realign/app/follow/follow_options.hpp"
#include "realign/app/platform/threads.hpp"
#include "realign/app/run/run_options.hpp"

namespace realign {

enum class Command {
  Run,      // realign INPUT OUTPUT
  Subject,  // realign RUN1 RUN2 ... -o OUTDIR
  Apply,    // realign apply --xfm XFM INPUT OUTPUT
  Follow,   // realign follow SOURCE [OUTPUT]
  Bids,     // realign bids BIDS_DIR OUT_DIR [participant]
};

struct Options {
  Command command = Command::Run;
  RunSettings run;  // every run of the command (apply reads its reslicing part)
  // Run and Apply: INPUT OUTPUT; Subject: the runs, the first run first.
  std::vector<std::string> paths;
  std::string outdir;     // Subject: -o OUTDIR
  std::string apply_xfm;  // Apply: the transforms of an earlier run
  // Run: the other echoes of a multi-echo run, resliced with the first's motion.
  std::vector<std::string> other_echoes;
  FollowOptions follow;
  BidsOptions bids;
  bool quiet = false, verbose = false;
  bool reference_given = false;  // --ref was on the command line
  std::string threads_reason;    // why run.threads is what it is, for the log

  // Run and Apply: the one run's files (the other echoes as its companions, OUT_echo-N).
  RunFiles files() const;
};

// What the command line leaves to the machine and to the command: the thread count
// (choose_threads: --threads, OMP_NUM_THREADS, the affinity mask, cgroup quota and
// SLURM_CPUS_PER_TASK, for every command alike), follow's reference when --ref is not
// given (its first volume), and whether follow draws a live view (stdout a terminal).
void complete_options(Options& opt, const CpuSources& cpus, bool stdout_is_terminal);

}  // namespace realign
