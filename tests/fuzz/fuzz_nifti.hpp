// What the fuzz target did with the last input, for the corpus replay to check.
#pragma once

#include <cstddef>
#include <cstdint>

namespace realign::fuzz {
enum class Outcome { Refused, HeaderOnly, Decoded };
extern Outcome last_outcome;
}  // namespace realign::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
