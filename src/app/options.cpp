#include "realign/app/options.hpp"

#include "realign/io/nifti_io.hpp"

namespace realign {

RunFiles Options::files() const {
  RunFiles f;
  if (paths.size() == 2) {
    f.input = paths[0];
    f.output = paths[1];
  }
  f.apply_xfm = apply_xfm;
  const auto [stem, ext] = split_image_path(f.output);
  for (std::size_t k = 0; k < other_echoes.size(); ++k) {
    Companion echo;
    echo.input = other_echoes[k];
    echo.output = stem + "_echo-" + std::to_string(k + 2) + ext;
    f.companions.push_back(echo);
  }
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
