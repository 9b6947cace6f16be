// Helpers shared by the tests: temporary directories and the optional shared data.
#pragma once

#include <string>

namespace realign::testing {

// A fresh empty directory under the system temp dir, removed at process exit.
std::string temp_dir(const std::string& tag);

// Path of ../shared beside the source tree, or "" when it is absent.
std::string shared_dir();

}  // namespace realign::testing
