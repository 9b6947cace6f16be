// Outputs are written under temporary names beside their final paths and renamed only
// when every one of them is complete, so a failed run leaves nothing behind. A signal
// (mpirun ending the job, Ctrl-C) removes the temporaries too: see install_signal_handlers.
#pragma once

#include <string>
#include <vector>

namespace realign {

class OutputSet {
 public:
  OutputSet();
  ~OutputSet();  // removes temporaries unless committed
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  // A temporary path for `final_path`, in the same directory with the same extension.
  std::string temp_for(const std::string& final_path);
  // Renames every temporary to its final path.
  void commit();
  // Removes the temporaries now (what the destructor does when not committed).
  void discard();
  const std::vector<std::string>& finals() const { return finals_; }
  // An error message with temporary names replaced by the final ones the user asked for.
  std::string with_final_names(std::string message) const;

 private:
  std::vector<std::string> temps_, finals_;
  bool committed_ = false;
};

// A file of realign's own beside `beside` (the inflated input, which every rank reads),
// removed on destruction, by remove(), or by a signal, as a temporary output is. Its name
// may go once every rank has opened it: open descriptors keep the data.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& beside);  // throws OutputError
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  void remove();

 private:
  std::string path_;
  int fd_ = -1;
};

// SIGINT, SIGTERM and SIGHUP remove the temporaries of any live OutputSet and end the
// process with status 128 + signal (with a one-line message when `announce`); SIGXFSZ is
// ignored so that exceeding a file-size limit is a write error. Call once, early.
void install_signal_handlers(bool announce);
// After an error has been reported: mpirun ends the other ranks as soon as one exits
// non-zero, and a second message about that would only confuse.
void silence_signal_messages();

}  // namespace realign
