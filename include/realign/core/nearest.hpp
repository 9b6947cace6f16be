// Rounding to the nearest integer as std::nearbyint does in the default rounding mode (to
// nearest, ties to even), inlined: baseline x86-64 has no rounding instruction (it came
// with SSE4.1), so std::nearbyint is a libm call, which costs more than the sums it serves
// in the loops that put values on exact grids.
#pragma once

#include <cmath>

namespace realign {

// Below 2^52, adding and taking away 2^52 leaves the nearest integer (ties to even);
// copysign keeps the sign of a zero result. Larger values are whole already; NaN and Inf
// pass through.
inline double nearest_integer(double x) {
  constexpr double kTwo52 = 4503599627370496.0;
  const double a = std::fabs(x);
  if (!(a < kTwo52)) return x;
  return std::copysign((a + kTwo52) - kTwo52, x);
}

}  // namespace realign
