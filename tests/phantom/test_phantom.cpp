#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "phantom.hpp"
#include "realign/io/nifti_io.hpp"
#include "test_support.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace realign {
namespace {

constexpr double kDeg = 3.14159265358979323846 / 180.0;

// Small enough to render in well under a second, large enough to hold the whole head.
PhantomSpec small_spec() {
  PhantomSpec s;
  s.dim = {32, 32, 18};
  s.voxel_mm = {6.0, 6.0, 6.5};
  s.frames = 6;
  s.spikes = 1;
  return s;
}

Vec3 to_world(const Mat4& m, const Vec3& v) {
  return m.topLeftCorner<3, 3>() * v + m.topRightCorner<3, 1>();
}

std::size_t index_of(const Grid& g, int i, int j, int k) {
  return (static_cast<std::size_t>(k) * g.dim[1] + j) * g.dim[0] + i;
}

double max_abs(const std::vector<RigidParams>& t, int first) {
  double m = 0.0;
  for (const auto& p : t)
    for (int k = first; k < first + 3; ++k) m = std::max(m, std::abs(p[k]));
  return m;
}

TEST(Phantom, TruthStartsAtZeroAndHitsTheLimits) {
  PhantomSpec s = small_spec();
  s.frames = 12;
  s.max_trans_mm = 1.7;
  s.max_rot_deg = 2.3;
  const Phantom p = make_phantom(s);
  ASSERT_EQ(p.truth.size(), 12u);
  for (double v : p.truth[0]) EXPECT_EQ(v, 0.0);
  EXPECT_NEAR(max_abs(p.truth, 0), 1.7, 1e-12);
  EXPECT_NEAR(max_abs(p.truth, 3), 2.3 * kDeg, 1e-12);  // stored in radians
  EXPECT_EQ(p.series.frames, 12);
  EXPECT_EQ(p.series.tr_s, s.tr_s);
  EXPECT_EQ(p.series.data.size(), p.series.grid.voxels() * 12);
}

// A spike is a frame that jumps away from its predecessor and back at its successor.
TEST(Phantom, SpikesAreIsolatedJumps) {
  for (unsigned seed : {1u, 2u, 3u, 4u, 5u}) {
    PhantomSpec s = small_spec();
    s.dim = {8, 8, 6};  // only the motion matters here
    s.frames = 40;
    s.spikes = 3;
    s.seed = seed;
    const Phantom p = make_phantom(s);
    int found = 0;
    for (int n = 1; n + 1 < s.frames; ++n) {
      bool spike = false;
      for (int k = 0; k < 3; ++k) {
        const double in = p.truth[n][k] - p.truth[n - 1][k];
        const double out = p.truth[n + 1][k] - p.truth[n][k];
        if (std::abs(in) > 0.3 && std::abs(out) > 0.3 && in * out < 0) spike = true;
      }
      found += spike;
    }
    EXPECT_EQ(found, 3) << "seed " << seed;
  }
}

TEST(Phantom, GridCentreIsOffTheOriginAndObliqueIsRotated) {
  PhantomSpec s;
  const Grid g = phantom_grid(s);
  EXPECT_NEAR((g.centre_mm() - Vec3(2.0, -5.0, 8.0)).norm(), 0.0, 1e-9);
  EXPECT_NEAR((g.voxel_size_mm() - Vec3(3.0, 3.0, 3.5)).norm(), 0.0, 1e-12);
  EXPECT_NEAR(g.vox2world(0, 1), 0.0, 1e-15);
  s.oblique = true;
  const Grid o = phantom_grid(s);
  EXPECT_NEAR((o.centre_mm() - Vec3(2.0, -5.0, 8.0)).norm(), 0.0, 1e-9);
  EXPECT_NEAR((o.voxel_size_mm() - Vec3(3.0, 3.0, 3.5)).norm(), 0.0, 1e-12);
  // Tilted about two axes: the slice axis leans in both x and y.
  const Vec3 zdir = o.vox2world.block<3, 1>(0, 2).normalized();
  EXPECT_GT(std::abs(zdir[0]), std::sin(5 * kDeg));
  EXPECT_GT(std::abs(zdir[1]), std::sin(5 * kDeg));
  const double tilt = std::acos(zdir[2]) / kDeg;
  EXPECT_GT(tilt, 10.0);
  EXPECT_LT(tilt, 25.0);
}

TEST(Phantom, DeterministicAndSeedDependent) {
  const PhantomSpec s = small_spec();
  const Phantom a = make_phantom(s);
  const Phantom b = make_phantom(s);
  EXPECT_EQ(a.truth, b.truth);
  EXPECT_TRUE(a.series.data == b.series.data);
  PhantomSpec s2 = s;
  s2.seed = 2;
  const Phantom c = make_phantom(s2);
  EXPECT_NE(a.truth, c.truth);
  EXPECT_FALSE(a.series.data == c.series.data);
}

#ifdef _OPENMP
TEST(Phantom, IndependentOfThreadCount) {
  const PhantomSpec s = small_spec();
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const Phantom one = make_phantom(s);
  omp_set_num_threads(3);
  const Phantom three = make_phantom(s);
  omp_set_num_threads(saved);
  EXPECT_TRUE(one.series.data == three.series.data);
  EXPECT_EQ(one.noise_sd, three.noise_sd);
}
#endif

// The defining convention: frame n at world x shows head(Q_n x), box-averaged over the
// 3x3x3 sub-voxel points. Recomputed here from the public pieces only.
void check_convention(bool oblique) {
  PhantomSpec s = small_spec();
  s.noise = 0.0;
  s.oblique = oblique;
  s.frames = 4;
  s.spikes = 1;
  s.max_trans_mm = 5.0;  // large motion so that a wrong convention cannot pass
  s.max_rot_deg = 5.0;
  const Phantom p = make_phantom(s);
  const Grid& g = p.series.grid;
  int tested_bright = 0;
  for (int n = 0; n < s.frames; ++n) {
    const Mat4 q = rigid_matrix(p.truth[n]);
    for (int k = 1; k < g.dim[2]; k += 3)
      for (int j = 1; j < g.dim[1]; j += 4)
        for (int i = 2; i < g.dim[0]; i += 5) {
          double sum = 0.0;
          for (int c = -1; c <= 1; ++c)
            for (int b = -1; b <= 1; ++b)
              for (int a = -1; a <= 1; ++a) {
                const Vec3 v(i + a / 3.0, j + b / 3.0, k + c / 3.0);
                sum += phantom_head_value(s, to_world(q, to_world(g.vox2world, v)));
              }
          const double expected = sum / 27.0;
          const double got = p.series.frame(n)[index_of(g, i, j, k)];
          ASSERT_NEAR(got, expected, 1e-3 + 1e-5 * std::abs(expected))
              << "frame " << n << " voxel " << i << "," << j << "," << k;
          if (expected > 300.0) ++tested_bright;
        }
  }
  EXPECT_GT(tested_bright, 100);
}

TEST(Phantom, FrameNShowsHeadAtQnX) { check_convention(false); }
TEST(Phantom, FrameNShowsHeadAtQnXOblique) { check_convention(true); }

TEST(Phantom, HeadHasStructureAndLevel) {
  PhantomSpec s;
  s.noise = 0.0;
  s.frames = 1;
  const Phantom p = make_phantom(s);
  const Grid& g = p.series.grid;
  double in_sum = 0.0, in_sq = 0.0, centre_sum = 0.0;
  std::size_t in_n = 0;
  double lo = 1e9, hi = -1e9;
  for (int k = 0; k < g.dim[2]; ++k)
    for (int j = 0; j < g.dim[1]; ++j)
      for (int i = 0; i < g.dim[0]; ++i) {
        const Vec3 x = to_world(g.vox2world, Vec3(i, j, k));
        const double v = p.series.frame(0)[index_of(g, i, j, k)];
        if (!phantom_inside_head(s, x)) continue;
        in_sum += v;
        in_sq += v * v;
        centre_sum += phantom_head_value(s, x);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        ++in_n;
      }
  ASSERT_GT(in_n, 20000u);
  const double mean = in_sum / in_n;
  const double sd = std::sqrt(in_sq / in_n - mean * mean);
  // Nominal level: base 600, raised by the cortex shell.
  EXPECT_GT(mean, 500.0);
  EXPECT_LT(mean, 1000.0);
  // Box averaging must not shift the level relative to point samples.
  EXPECT_NEAR(mean, centre_sum / in_n, 0.05 * mean);
  // Not a flat ellipsoid: a real spread of intensities inside.
  EXPECT_GT(sd, 40.0);
  EXPECT_GT(hi - lo, 400.0);
  // Well outside the head the image is empty.
  EXPECT_NEAR(phantom_head_value(s, g.centre_mm() + Vec3(0, 0, 200)), 0.0, 1e-9);
}

// The moving head, spikes included, must stay inside the field of view.
void check_fits(bool oblique) {
  PhantomSpec s;
  s.noise = 0.0;
  s.oblique = oblique;
  s.frames = 12;
  const Phantom p = make_phantom(s);
  const Grid& g = p.series.grid;
  double edge = 0.0;
  for (int n = 0; n < s.frames; ++n)
    for (int k = 0; k < g.dim[2]; ++k)
      for (int j = 0; j < g.dim[1]; ++j)
        for (int i = 0; i < g.dim[0]; ++i) {
          const bool face = i == 0 || j == 0 || k == 0 || i == g.dim[0] - 1 || j == g.dim[1] - 1 ||
                            k == g.dim[2] - 1;
          if (face)
            edge = std::max(edge, std::abs(double(p.series.frame(n)[index_of(g, i, j, k)])));
        }
  EXPECT_LT(edge, 5.0);  // against ~600 inside
}

TEST(Phantom, HeadFitsFieldOfView) { check_fits(false); }
TEST(Phantom, HeadFitsFieldOfViewOblique) { check_fits(true); }

TEST(Phantom, NoiseLevelMatchesSpec) {
  PhantomSpec s = small_spec();
  s.frames = 4;
  s.noise = 0.05;
  const Phantom noisy = make_phantom(s);
  s.noise = 0.0;
  const Phantom clean = make_phantom(s);
  EXPECT_EQ(clean.noise_sd, 0.0);
  ASSERT_EQ(noisy.truth, clean.truth);

  const Grid& g = clean.series.grid;
  double signal = 0.0;
  std::vector<std::size_t> inside;
  for (int k = 0; k < g.dim[2]; ++k)
    for (int j = 0; j < g.dim[1]; ++j)
      for (int i = 0; i < g.dim[0]; ++i)
        if (phantom_inside_head(s, to_world(g.vox2world, Vec3(i, j, k)))) {
          inside.push_back(index_of(g, i, j, k));
          signal += clean.series.frame(0)[inside.back()];
        }
  ASSERT_GT(inside.size(), 1000u);
  signal /= inside.size();

  double sum = 0.0, sq = 0.0;
  std::size_t n = 0;
  for (int f = 0; f < s.frames; ++f)
    for (std::size_t v : inside) {
      const double d = double(noisy.series.frame(f)[v]) - double(clean.series.frame(f)[v]);
      sum += d;
      sq += d * d;
      ++n;
    }
  const double mean = sum / n;
  const double sd = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(sd, 0.05 * signal, 0.1 * 0.05 * signal);
  EXPECT_NEAR(mean, 0.0, 0.05 * sd);
  EXPECT_NEAR(noisy.noise_sd, 0.05 * signal, 1e-6 * signal);
}

TEST(Phantom, SingleFrameHasNoMotion) {
  PhantomSpec s = small_spec();
  s.frames = 1;
  const Phantom p = make_phantom(s);
  ASSERT_EQ(p.truth.size(), 1u);
  for (double v : p.truth[0]) EXPECT_EQ(v, 0.0);
}

TEST(Phantom, RejectsBadSpecs) {
  PhantomSpec s = small_spec();
  s.frames = 0;
  EXPECT_THROW(make_phantom(s), std::invalid_argument);
  s = small_spec();
  s.dim[1] = 0;
  EXPECT_THROW(make_phantom(s), std::invalid_argument);
  s = small_spec();
  s.voxel_mm[2] = -1.0;
  EXPECT_THROW(make_phantom(s), std::invalid_argument);
  s = small_spec();
  s.noise = -0.1;
  EXPECT_THROW(make_phantom(s), std::invalid_argument);
}

TEST(Phantom, WritesImageAndRpFile) {
  const std::string dir = realign::testing::temp_dir("phantom");
  PhantomSpec s = small_spec();
  s.oblique = true;
  const Phantom p = make_phantom(s);

  const std::string rp = dir + "/rp_phantom.txt";
  write_phantom(p, dir + "/f32.nii", rp, "float32");
  const Series f32 = read_series(dir + "/f32.nii");
  EXPECT_EQ(f32.frames, s.frames);
  EXPECT_TRUE(f32.grid.same_as(p.series.grid, 1e-4));
  EXPECT_NEAR(f32.tr_s, s.tr_s, 1e-6);
  EXPECT_TRUE(f32.data == p.series.data);

  std::ifstream in(rp);
  const std::regex number(R"(-?\d\.\d{10}e[+-]\d{2,3})");
  std::string line;
  std::size_t row = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(row, p.truth.size());
    std::istringstream ls(line);
    std::string tok;
    int col = 0;
    while (ls >> tok) {
      ASSERT_LT(col, 6);
      EXPECT_TRUE(std::regex_match(tok, number)) << tok;
      EXPECT_NEAR(std::stod(tok), p.truth[row][col], 1e-10 * (1.0 + std::abs(p.truth[row][col])));
      ++col;
    }
    EXPECT_EQ(col, 6);
    ++row;
  }
  EXPECT_EQ(row, p.truth.size());

  write_phantom(p, dir + "/i16.nii", dir + "/rp2.txt", "int16");
  const Series i16 = read_series(dir + "/i16.nii");
  ASSERT_EQ(i16.data.size(), p.series.data.size());
  for (std::size_t v = 0; v < i16.data.size(); v += 97)
    EXPECT_NEAR(i16.data[v], p.series.data[v], 0.5 + 1e-3);

  // uint8 cannot hold ~1000, so the writer rescales rather than clipping the head.
  write_phantom(p, dir + "/u8.nii", dir + "/rp3.txt", "uint8");
  const Series u8 = read_series(dir + "/u8.nii");
  const float u8max = *std::max_element(u8.data.begin(), u8.data.end());
  EXPECT_GE(u8max, 249.0f);
  EXPECT_LE(u8max, 250.0f);
}

}  // namespace
}  // namespace realign
