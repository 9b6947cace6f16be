// Runs a fuzz target over files and directories without libFuzzer, so the seed corpus
// (and any crash input the fuzzer left) is replayed in every ordinary build. Seeds named
// ok_* must be decoded, part_* read no further than their headers, and bad_* refused;
// other files (fuzzer findings, real data) only must not crash.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_target.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (fs::is_directory(argv[i])) {
      for (const auto& e : fs::directory_iterator(argv[i]))
        if (e.is_regular_file()) inputs.push_back(e.path());
    } else {
      inputs.push_back(argv[i]);
    }
  }
  std::sort(inputs.begin(), inputs.end());
  int counts[3] = {0, 0, 0}, wrong = 0;
  for (const fs::path& p : inputs) {
    std::ifstream f(p, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "%s: cannot open\n", p.c_str());
      return 1;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(f)), {});
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    const auto outcome = realign::fuzz::last_outcome;
    ++counts[static_cast<int>(outcome)];
    const std::string name = p.filename().string();
    using realign::fuzz::Outcome;
    const char* const wanted[] = {"bad_", "part_", "ok_"};  // by Outcome
    for (const Outcome want : {Outcome::Refused, Outcome::HeaderOnly, Outcome::Decoded}) {
      if (name.rfind(wanted[static_cast<int>(want)], 0) != 0 || outcome == want) continue;
      static const char* const what[] = {"refused", "read to its header only", "decoded"};
      std::fprintf(stderr, "%s: expected to be %s, was %s\n", p.c_str(),
                   what[static_cast<int>(want)], what[static_cast<int>(outcome)]);
      ++wrong;
    }
  }
  std::printf("%zu inputs: %d decoded, %d header only, %d refused\n", inputs.size(), counts[2],
              counts[1], counts[0]);
  if (inputs.empty()) std::fprintf(stderr, "no inputs found\n");
  return inputs.empty() || wrong > 0 ? 1 : 0;
}
