// The AVX2+FMA kernel of 4th-degree reslicing against its arithmetic written out one voxel
// at a time in scalar code, bit for bit. The scalar form is the per-voxel kernel as GCC
// compiled it before the kernel took voxels in pairs (products contracted into FMAs where
// it writes std::fma, every other operation separate, in its order); outputs of realign
// must not change. This file is built with -ffp-contract=off so that the scalar form stays
// as written on any target.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "realign/core/bspline.hpp"
#include "realign/core/reslice.hpp"
#include "realign/core/rigid.hpp"

namespace {

using namespace realign;

std::uint32_t bits(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// B4 on [0.5, 1.5], Horner form.
float middle_piece(float u) {
  float p = std::fma(u, -1.0f / 6.0f, 5.0f / 6.0f);
  p = std::fma(u, p, -5.0f / 4.0f);
  p = std::fma(u, p, 5.0f / 24.0f);
  return std::fma(u, p, 55.0f / 96.0f);
}

// The five weights along one axis and the first index of the support.
int quartic_weights(double x, float* w) {
  const int c = fast_floor(x + 0.5);
  const float t = static_cast<float>(x - c);
  const float a = 0.5f - t, b = 0.5f + t, t2 = t * t, a2 = a * a, b2 = b * b;
  w[0] = (a2 * a2) * (1.0f / 24.0f);
  w[1] = middle_piece(1.0f + t);
  w[2] = std::fma(t2, std::fma(t2, 0.25f, -5.0f / 8.0f), 115.0f / 192.0f);
  w[3] = middle_piece(1.0f - t);
  w[4] = (b2 * b2) * (1.0f / 24.0f);
  return c - 2;
}

// Output voxel (i, j, k) through m, summed along j, then k, then i.
float reference_voxel(const PaddedCoefficients& c, const Mat4& m, int i, int j, int k) {
  float w[3][5];
  int first[3];
  for (int a = 0; a < 3; ++a) {
    const double start = std::fma(m(a, 1), j, m(a, 2) * k) + m(a, 3);
    first[a] = quartic_weights(std::fma(m(a, 0), i, start), w[a]);
  }
  const float* base = c.origin() + first[0] + first[1] * c.sy + first[2] * c.sz;
  float acc[5] = {};
  for (int kk = 0; kk < 5; ++kk)
    for (int l = 0; l < 5; ++l) {
      const float* column = base + kk * c.sz + l;
      float p = w[1][0] * column[0];
      for (int jj = 1; jj < 5; ++jj) p = std::fma(w[1][jj], column[jj * c.sy], p);
      acc[l] = std::fma(w[2][kk], p, acc[l]);
    }
  float v = w[0][1] * acc[1];
  v = std::fma(w[0][0], acc[0], v);
  for (int l = 2; l < 5; ++l) v = std::fma(w[0][l], acc[l], v);
  return v;
}

PaddedCoefficients random_coefficients(const std::array<int, 3>& dim, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-100.0f, 100.0f);
  std::vector<float> c(static_cast<std::size_t>(dim[0]) * dim[1] * dim[2]);
  for (float& v : c) v = u(rng);
  return pad_coefficients(c.data(), dim, 4);
}

// Maps that put points on knots and half-way between them (the identity, half-voxel
// shifts), then random rigid maps with a little scaling and shear, as between grids.
std::vector<Mat4> test_maps(std::mt19937& rng, int random_count) {
  std::vector<Mat4> maps{Mat4::Identity()};
  Mat4 half = Mat4::Identity();
  half.block<3, 1>(0, 3) << 0.5, -0.5, 0.5;
  maps.push_back(half);
  std::uniform_real_distribution<double> shift(-2.0, 2.0), angle(-0.15, 0.15), skew(-0.03, 0.03);
  for (int n = 0; n < random_count; ++n) {
    Mat4 m = rigid_matrix({shift(rng), shift(rng), shift(rng), angle(rng), angle(rng), angle(rng)});
    for (int r = 0; r < 3; ++r)
      for (int col = 0; col < 3; ++col) m(r, col) += skew(rng);
    maps.push_back(m);
  }
  return maps;
}

// Every visible voxel as the scalar form gives it, every other one the fill.
void expect_same_bits(const PaddedCoefficients& c, const std::array<int, 3>& out_dim,
                      const Mat4& m) {
  const RowIntervals visible = visible_rows(out_dim, c.dim, m);
  std::vector<float> out(static_cast<std::size_t>(out_dim[0]) * out_dim[1] * out_dim[2]);
  reslice_frame(c, m, visible, -7.0f, out.data());
  for (int k = 0; k < out_dim[2]; ++k)
    for (int j = 0; j < out_dim[1]; ++j)
      for (int i = 0; i < out_dim[0]; ++i) {
        const float got = out[i + out_dim[0] * (j + static_cast<std::size_t>(out_dim[1]) * k)];
        const float want = visible.contains(i, j, k) ? reference_voxel(c, m, i, j, k) : -7.0f;
        ASSERT_EQ(bits(got), bits(want)) << "voxel " << i << " " << j << " " << k;
      }
}

// Frame and output grids with odd and even rows (odd visible runs leave one voxel to the
// kernel's tail), a single-slice frame, and output grids of other sizes than the frame's.
TEST(ResliceQuartic, Avx2KernelMatchesItsScalarFormBitForBit) {
  if (!reslice_use_avx2(true)) GTEST_SKIP() << "no AVX2+FMA on this CPU";
  const std::array<int, 3> frames[] = {{16, 14, 10}, {17, 9, 7}, {9, 8, 1}, {5, 3, 4}};
  const std::array<int, 3> outputs[] = {{16, 14, 10}, {13, 11, 6}, {1, 5, 3}, {2, 2, 2}};
  std::mt19937 rng(11);
  int checked = 0;
  for (const auto& frame : frames) {
    const PaddedCoefficients c = random_coefficients(frame, rng);
    for (const auto& out_dim : outputs)
      for (const Mat4& m : test_maps(rng, 6)) {
        SCOPED_TRACE(testing::Message()
                     << "frame " << frame[0] << "x" << frame[1] << "x" << frame[2] << ", output "
                     << out_dim[0] << "x" << out_dim[1] << "x" << out_dim[2] << ", map\n"
                     << m);
        expect_same_bits(c, out_dim, m);
        ++checked;
      }
  }
  EXPECT_EQ(checked, 4 * 4 * 8);
}

}  // namespace
