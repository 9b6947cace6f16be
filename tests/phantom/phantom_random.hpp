// Random numbers for the phantoms that are the same on every platform and for any thread
// count: the raw mt19937 sequence (std::uniform_real_distribution differs between
// standard libraries) and a counter-based normal per (seed, frame, voxel).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>

namespace realign::phantom_random {

inline double uniform01(std::mt19937& g) {
  const std::uint64_t a = g() >> 5, b = g() >> 6;
  return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
}

inline double uniform(std::mt19937& g, double lo, double hi) {
  return lo + (hi - lo) * uniform01(g);
}

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A standard normal that depends only on (seed, frame, voxel).
inline double gaussian_at(unsigned seed, int frame, std::size_t voxel) {
  std::uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ static_cast<std::uint64_t>(frame));
  h = splitmix64(h ^ static_cast<std::uint64_t>(voxel));
  const std::uint64_t h2 = splitmix64(h ^ 0xD1B54A32D192ED03ull);
  // u1 in (0, 1] keeps the log finite.
  const double u1 = (static_cast<double>(h >> 11) + 1.0) / 9007199254740992.0;
  const double u2 = static_cast<double>(h2 >> 11) / 9007199254740992.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

}  // namespace realign::phantom_random
