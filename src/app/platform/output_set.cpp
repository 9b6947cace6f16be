#include "realign/app/platform/output_set.hpp"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "realign/io/nifti_io.hpp"

namespace realign {
namespace {

// Temporary names live in a fixed table so that a signal handler can unlink them
// without allocating. A subject's runs (subject.hpp) share one set: a few hundred names
// (untouched rows of the table cost no memory).
constexpr int kMaxTemps = 512;
char g_temps[kMaxTemps][4096];
volatile std::sig_atomic_t g_count = 0;
volatile std::sig_atomic_t g_announce = 1;
volatile std::sig_atomic_t g_committing = 0, g_pending = 0;

void say(const char* s) {
  // write(2) is async-signal-safe; stdio is not.
  ssize_t ignored = write(STDERR_FILENO, s, std::strlen(s));
  (void)ignored;
}

void on_signal(int sig) {
  if (g_committing) {
    g_pending = sig;
    return;
  }
  for (int i = 0; i < g_count; ++i)
    if (g_temps[i][0]) unlink(g_temps[i]);
  if (g_announce) {
    // Under mpirun, Ctrl-C reaches the ranks as SIGTERM: either way the run was interrupted.
    say("realign: error: interrupted by ");
    say(sig == SIGINT    ? "SIGINT (Ctrl-C)"
        : sig == SIGTERM ? "SIGTERM (kill, scancel, or mpirun passing on Ctrl-C)"
        : sig == SIGHUP  ? "SIGHUP"
                         : "a signal");
    say("; no partial output is left\n");
  }
  _exit(128 + sig);
}

void register_temp(const std::string& p) {
  if (g_count >= kMaxTemps || p.size() >= sizeof(g_temps[0])) return;
  std::strncpy(g_temps[g_count], p.c_str(), sizeof(g_temps[0]) - 1);
  g_count = g_count + 1;
}

void forget_temp(const std::string& p) {
  for (int i = 0; i < g_count; ++i)
    if (p == g_temps[i]) g_temps[i][0] = 0;
}

void forget_temps() {
  for (int i = 0; i < g_count; ++i) g_temps[i][0] = 0;
  g_count = 0;
}

}  // namespace

void install_signal_handlers(bool announce) {
  g_announce = announce ? 1 : 0;
  // A signal ignored when we start stays ignored: `nohup` ignores SIGHUP, and a shell
  // ignores SIGINT for background jobs, so that Ctrl-C and logging out spare them.
  for (int sig : {SIGTERM, SIGINT, SIGHUP})
    if (std::signal(sig, on_signal) == SIG_IGN) std::signal(sig, SIG_IGN);
  // A file-size limit (ulimit -f) then fails the write with EFBIG, which is reported and
  // cleaned up like a full disk, instead of killing the process mid-file.
  std::signal(SIGXFSZ, SIG_IGN);
}

void silence_signal_messages() { g_announce = 0; }

OutputSet::OutputSet() = default;

OutputSet::~OutputSet() { discard(); }

void OutputSet::discard() {
  if (!committed_) {
    std::error_code ec;
    for (const auto& t : temps_) std::filesystem::remove(t, ec);
  }
  forget_temps();
}

std::string OutputSet::temp_for(const std::string& final_path) {
  namespace fs = std::filesystem;
  const fs::path p(final_path);
  const std::string name = p.filename().string();
  // Keep the full extension (.nii.gz) so writers pick the same format.
  const std::string tmp =
      (p.parent_path() / (".realign-" + std::to_string(getpid()) + "-" + name)).string();
  temps_.push_back(tmp);
  finals_.push_back(final_path);
  register_temp(tmp);
  return tmp;
}

std::string OutputSet::with_final_names(std::string message) const {
  for (std::size_t i = 0; i < temps_.size(); ++i)
    for (std::size_t at = message.find(temps_[i]); at != std::string::npos;
         at = message.find(temps_[i], at + finals_[i].size()))
      message.replace(at, temps_[i].size(), finals_[i]);
  return message;
}

void OutputSet::commit() {
  // A signal between two renames would leave some outputs in place and remove the rest,
  // so it waits until every output has been renamed. (Blocking it would not do: any
  // OpenMP thread may receive a signal sent to the process.)
  g_committing = 1;
  std::string failed;
  std::error_code ec;
  for (std::size_t i = 0; i < temps_.size() && !ec; ++i) {
    std::filesystem::rename(temps_[i], finals_[i], ec);
    if (ec) failed = finals_[i];
  }
  if (!ec) {
    committed_ = true;
    forget_temps();
  }
  g_committing = 0;
  if (g_pending) on_signal(g_pending);
  if (ec) throw OutputError(failed, "cannot move the finished output into place: " + ec.message());
}

ScratchFile::ScratchFile(const std::string& beside) {
  const std::filesystem::path at(beside);
  std::string name =
      (at.parent_path() / ("." + at.filename().string() + ".inflated-XXXXXX")).string();
  fd_ = mkstemp(name.data());
  if (fd_ < 0)
    throw OutputError(beside, std::string("cannot create a scratch file: ") + std::strerror(errno));
  path_ = name;
  register_temp(path_);
}

ScratchFile::~ScratchFile() {
  remove();
  if (fd_ >= 0) close(fd_);
}

void ScratchFile::remove() {
  if (path_.empty()) return;
  unlink(path_.c_str());
  forget_temp(path_);
  path_.clear();
}

}  // namespace realign
