// batch::value_gradients against padded_value_gradient, batch::padded_values against
// padded_value and batch::values against sse::value, bit for bit: the batches speed up
// estimation (its mean at the sample points, its iterations) and the receive field's sums,
// and must not change any output.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "../../src/core/simd/spline_batch.hpp"
#include "../../src/core/simd/spline_sse.hpp"
#include "realign/core/bspline.hpp"

namespace {

using realign::PaddedCoefficients;

std::uint64_t bits(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

PaddedCoefficients random_coefficients(const std::array<int, 3>& dim, int degree) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> c(static_cast<std::size_t>(dim[0]) * dim[1] * dim[2]);
  for (float& v : c) v = u(rng);
  return realign::pad_coefficients(c.data(), dim, degree);
}

// Where padded_value may be evaluated on one axis of n voxels.
std::pair<double, double> axis_range(int n) {
  return n == 1 ? std::pair{-0.5, 0.5} : std::pair{-0.05, n - 0.95};
}

struct Points {
  std::vector<double> x, y, z;
  void add(double a, double b, double c) {
    x.push_back(a);
    y.push_back(b);
    z.push_back(c);
  }
};

// Random points over the whole range, then points on and next to its ends, at knots and
// just either side of them (offsets of 0 and nearly 1 from the knot below), and -0.0.
Points test_points(const std::array<int, 3>& dim, int n) {
  std::mt19937 rng(9);
  Points p;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < n; ++i) {
    double v[3];
    for (int a = 0; a < 3; ++a) {
      const auto [lo, hi] = axis_range(dim[a]);
      v[a] = lo + (hi - lo) * u(rng);
    }
    p.add(v[0], v[1], v[2]);
  }
  std::vector<double> special[3];
  for (int a = 0; a < 3; ++a) {
    const auto [lo, hi] = axis_range(dim[a]);
    special[a] = {lo,   hi,  std::nextafter(lo, hi),   std::nextafter(hi, lo),
                  -0.0, 0.0, std::nextafter(0.0, 1.0), std::nextafter(1.0, 0.0),
                  0.5};
    if (dim[a] > 2) special[a].push_back(std::nextafter(dim[a] - 1.0, 0.0));
  }
  for (double a : special[0])
    for (double b : special[1])
      for (double c : special[2]) p.add(a, b, c);
  return p;
}

// Runs a batch function over the points in batches of every size up to 17 (odd sizes leave
// one point to the AVX2 path's tail).
template <class F>
void in_batches(int n, F&& batch) {
  for (int size = 1, i0 = 0; i0 < n; i0 += size, size = size % 17 + 1)
    batch(i0, std::min(size, n - i0));
}

using Batch = void (*)(const PaddedCoefficients&, const double*, const double*, const double*, int,
                       double*, double*);

// Expects each result of `batch` to be padded_value_gradient's.
void expect_same_bits(const PaddedCoefficients& c, const Points& p, Batch batch) {
  const int n = static_cast<int>(p.x.size());
  std::vector<double> v(n), grad(3 * n);
  in_batches(
      n, [&](int i0, int m) { batch(c, &p.x[i0], &p.y[i0], &p.z[i0], m, &v[i0], &grad[3 * i0]); });
  for (int i = 0; i < n; ++i) {
    double g[3];
    const double want = realign::padded_value_gradient(c, p.x[i], p.y[i], p.z[i], g);
    ASSERT_EQ(bits(v[i]), bits(want)) << "point " << i << " value";
    for (int a = 0; a < 3; ++a)
      ASSERT_EQ(bits(grad[3 * i + a]), bits(g[a])) << "point " << i << " gradient " << a;
  }
}

const std::array<int, 3> kShapes[] = {{12, 10, 9}, {7, 2, 5}, {9, 8, 1}};

// Degree 3 takes the AVX2 kernel on a CPU with AVX2 (the others the portable loop).
TEST(SplineBatch, ValueGradientsMatchOnePointAtATime) {
  for (const auto& dim : kShapes)
    for (int degree = 0; degree <= realign::kMaxSplineDegree; ++degree) {
      SCOPED_TRACE(testing::Message()
                   << "degree " << degree << ", " << dim[0] << "x" << dim[1] << "x" << dim[2]);
      expect_same_bits(random_coefficients(dim, degree), test_points(dim, 4000),
                       realign::batch::value_gradients);
    }
}

TEST(SplineBatch, PortableValueGradientsMatchOnePointAtATime) {
  for (const auto& dim : kShapes) {
    SCOPED_TRACE(testing::Message() << dim[0] << "x" << dim[1] << "x" << dim[2]);
    expect_same_bits(random_coefficients(dim, 3), test_points(dim, 4000),
                     realign::batch::value_gradients_portable);
  }
}

// A batch kernel's values, in batches of 1-17 points, bit for bit against one point at a
// time (`one(c, degree, x, y, z)`), at every degree on every test shape.
template <class Batch, class One>
void expect_batches_match_points(Batch batch, One one) {
  for (const auto& dim : kShapes)
    for (int degree = 0; degree <= realign::kMaxSplineDegree; ++degree) {
      SCOPED_TRACE(testing::Message()
                   << "degree " << degree << ", " << dim[0] << "x" << dim[1] << "x" << dim[2]);
      const PaddedCoefficients c = random_coefficients(dim, degree);
      const Points p = test_points(dim, 4000);
      const int n = static_cast<int>(p.x.size());
      std::vector<double> v(n);
      in_batches(n, [&](int i0, int m) { batch(c, &p.x[i0], &p.y[i0], &p.z[i0], m, &v[i0]); });
      for (int i = 0; i < n; ++i)
        ASSERT_EQ(bits(v[i]), bits(one(c, degree, p.x[i], p.y[i], p.z[i]))) << "point " << i;
    }
}

// Degree 3 takes the AVX2 kernel's value lanes on a CPU with AVX2.
TEST(SplineBatch, PaddedValuesMatchOnePointAtATime) {
  expect_batches_match_points(realign::batch::padded_values,
                              [](const PaddedCoefficients& c, int, double x, double y, double z) {
                                return realign::padded_value(c, x, y, z);
                              });
}

// Degree 3 takes the AVX2 kernel on a CPU with AVX2: four points at a time, a last one to
// three repeated into a set of four (the batch sizes 1-17 leave every remainder).
TEST(SplineBatch, ValuesMatchOnePointAtATime) {
  expect_batches_match_points(realign::batch::values, [](const PaddedCoefficients& c, int degree,
                                                         double x, double y, double z) {
    double v = 0.0;
    realign::with_degree(degree,
                         [&](auto d) { v = realign::sse::value<decltype(d)::value>(c, x, y, z); });
    return v;
  });
}

}  // namespace
