#include "realign/app/options.hpp"

namespace realign {

RunFiles Options::files() const {
  RunFiles f;
  if (paths.size() == 2) {
    f.input = paths[0];
    f.output = paths[1];
  }
  f.apply_xfm = apply_xfm;
  return f;
}

void complete_options(Options& opt, const CpuSources& cpus, bool stdout_is_terminal) {
  const ThreadChoice threads = choose_threads(cpus, opt.run.threads);
  opt.run.threads = threads.threads;
  opt.threads_reason = threads.reason;
  // A follow has no series to average before it starts: its first volume is the reference.
  if (opt.command == Command::Follow && !opt.reference_given) opt.run.reference = "first";
  opt.follow.live = opt.command == Command::Follow && stdout_is_terminal;
}

}  // namespace realign
