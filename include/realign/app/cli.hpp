// The command line: CLI11 fills one Options (options.hpp); the library never parses strings.
#pragma once

#include <string>

#include "realign/app/options.hpp"

namespace realign {

// What parsing decided. `status` -1: run the command in `out`; otherwise the program ends
// with that status (0 for --help and --version, 2 for a usage error) after printing
// `stdout_text` and `stderr_text`, which only rank 0 does.
struct ParseOutcome {
  int status = -1;
  std::string stdout_text, stderr_text;
};

// Parses argv into `out`, printing nothing.
ParseOutcome parse_command_line(int argc, char** argv, Options& out);

// The second line of `realign --version`: compiler, build type, -march=native or not,
// OpenMP and Open MPI versions, for batch logs.
std::string build_info();

}  // namespace realign
