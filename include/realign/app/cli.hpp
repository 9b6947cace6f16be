// The command line: CLI11 fills one Command (the run's Options and how to log); the
// library never parses strings.
#pragma once

#include <string>

#include "realign/app/bids_app.hpp"
#include "realign/app/follow.hpp"
#include "realign/app/options.hpp"
#include "realign/app/subject.hpp"

namespace realign {

struct Command {
  enum Kind { Run, Apply, Follow, Bids, Subject } kind = Run;
  Options options;
  SubjectJob subject;    // `-o OUTDIR`: the runs of one subject
  FollowOptions follow;  // `follow`: its own settings; follow.run is `options`
  BidsOptions bids;      // `bids`: its own settings; bids.run is `options`
  bool quiet = false, verbose = false;
};

// Parses argv. Returns the exit status when the command line ends the program (--help,
// --version, a usage error: printed when `print`), or -1 with `out` filled.
int parse_command_line(int argc, char** argv, bool print, Command& out);

// The second line of `realign --version`: compiler, build type, -march=native or not,
// OpenMP and Open MPI versions, for batch logs.
std::string build_info();

}  // namespace realign
