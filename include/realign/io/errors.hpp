// Errors that end a run, and the exit status each gives. Batch scripts branch on the
// status (retry a full disk, skip a broken input), so the kinds stay few and stable;
// docs/failures.md lists them.
#pragma once

#include <stdexcept>
#include <string>

namespace realign {

enum ExitStatus : int {
  kExitOk = 0,
  kExitInput = 1,     // the input (or reference, or its size) was refused
  kExitUsage = 2,     // the command line was wrong
  kExitOutput = 3,    // an output could not be written
  kExitInternal = 4,  // anything else, including another rank's failure
  kExitSomeRuns = 5,  // `realign bids`: some runs failed, the others completed
  // Stopped by signal N: 128 + N, as shells report it.
};

// Bad input: what() is one line, "<file>: <problem>".
class InputError : public std::runtime_error {
 public:
  InputError(const std::string& file, const std::string& problem)
      : std::runtime_error(file + ": " + problem) {}
};

// Bad input that is whole and will not become readable: not cut short by a writer still at
// work, but a file of a kind or content realign does not take. `realign follow` reports it
// once and goes on with the next file, rather than wait for it to change as for a partial
// one; everywhere else it is an InputError like any other.
class RefusedInput : public InputError {
 public:
  using InputError::InputError;
};

// An output that cannot be created or written: "<file>: <problem>".
class OutputError : public std::runtime_error {
 public:
  OutputError(const std::string& file, const std::string& problem)
      : std::runtime_error(file + ": " + problem) {}
};

// An error every rank knows about (rank 0 found it and told the others before any
// collective work), so each rank can simply return with its status; any other exception
// on one rank must end the whole job (abort_all), or its peers would wait forever.
class RunError : public std::runtime_error {
 public:
  RunError(const std::string& message, int status) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// A command line that cannot work, found after parsing: "<problem>".
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The exit status for an exception caught at the top of a run.
int exit_status_of(const std::exception& e);

}  // namespace realign
