// realign-test-phantoms DIR [NAME...]: renders the phantoms that several test processes
// share (realign::testing::shared_phantom) into DIR, all of them or those named. CTest
// runs it as the fixture setup test phantoms.render, once per ctest run.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [NAME...]\n", argv[0]);
    return 2;
  }
  try {
    const std::string dir = argv[1];
    std::filesystem::create_directories(dir);
    std::vector<std::string> names(argv + 2, argv + argc);
    if (names.empty()) names = realign::testing::shared_phantom_names();
    for (const std::string& name : names)
      std::printf("%s\n", realign::testing::write_shared_phantom(name, dir).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", argv[0], e.what());
    return 1;
  }
  return 0;
}
