// What a fuzz target (fuzz_nifti.cpp, fuzz_dicom.cpp) did with the last input, for the
// corpus replay (replay_main.cpp) to check.
#pragma once

#include <cstddef>
#include <cstdint>

namespace realign::fuzz {
enum class Outcome { Refused, HeaderOnly, Decoded };
extern Outcome last_outcome;
}  // namespace realign::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
