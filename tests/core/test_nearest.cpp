// nearest_integer against std::nearbyint (the default rounding mode), bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "realign/core/nearest.hpp"

namespace {

bool same_bits(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(Nearest, AgreesWithNearbyintOnTiesSignsAndExtremes) {
  const double inf = std::numeric_limits<double>::infinity();
  for (double x :
       {0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.3, 4503599627370495.5,
        4503599627370496.0, -4503599627370497.0, 1e300, -1e300, inf, -inf,
        std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::denorm_min()})
    EXPECT_TRUE(same_bits(realign::nearest_integer(x), std::nearbyint(x))) << x;
}

TEST(Nearest, AgreesWithNearbyintOnRandomValuesOfEveryScale) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-60, 70);
  for (int i = 0; i < 200000; ++i) {
    const double x = std::ldexp(mantissa(rng), exponent(rng));
    ASSERT_TRUE(same_bits(realign::nearest_integer(x), std::nearbyint(x))) << x;
  }
}

}  // namespace
