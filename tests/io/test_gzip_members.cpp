// .nii.gz frames are gzip members of 256 KiB parts, compressed by whichever OpenMP thread
// the loop deals them to, each thread reusing one compressor. The bytes must not depend on
// that: a member is a function of its part's bytes alone, whatever the thread compressed
// before, however many threads there are, and however they are delayed. (ISA-L's
// compressor broke this now and then when threads were preempted, which is why libdeflate
// compresses; see nifti_io.cpp.)
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "realign/io/nifti_io.hpp"

namespace {

using namespace realign;

constexpr std::size_t kPart = 256 * 1024;  // nifti_io.cpp's kGzipPart

// Frames like resliced ones: a smooth head with noisy mantissas, rows of NaN where the
// mask is off, some with a slab of zeros (long runs of one byte) or rows that repeat the
// row before (the longest matches). `voxels` decides how the last part falls.
std::vector<float> resliced_like(std::size_t voxels, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 3.0f);
  std::vector<float> f(voxels);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::size_t row = 64;
  for (std::size_t i = 0; i < voxels; ++i) {
    const std::size_t r = i / row, c = i % row;
    const bool masked = (r * 7 + seed) % 11 < 3 || c < 4 || c > 58;
    f[i] = masked ? nan : 600.0f + 200.0f * std::sin(0.05f * r) + noise(rng);
  }
  if (seed % 3 == 0) std::fill(f.begin(), f.begin() + std::min<std::size_t>(voxels, 40000), 0.0f);
  if (seed % 4 == 1)
    for (std::size_t i = 20000; i < std::min<std::size_t>(voxels, 60000); ++i) f[i] = f[i - row];
  return f;
}

// Each part compressed alone, by a fresh encoder on one thread: what the frame's bytes
// must be if no member depends on another or on the threads.
std::vector<char> members_one_by_one(const std::vector<float>& frame) {
  const char* bytes = reinterpret_cast<const char*>(frame.data());
  const std::size_t size = frame.size() * sizeof(float);
  FrameFormat format;
  format.gzip = true;
  std::vector<char> all;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  for (std::size_t begin = 0; begin < size; begin += kPart) {
    FrameEncoder fresh(format, 0);
    const std::vector<char>& m = fresh.pack(bytes + begin, std::min(kPart, size - begin));
    all.insert(all.end(), m.begin(), m.end());
  }
  omp_set_num_threads(threads);
  return all;
}

// Threads that spin while the encoder runs: with more runnable threads than cores, the
// OpenMP threads are preempted at random points.
class Contention {
 public:
  explicit Contention(int n) {
    for (int i = 0; i < n; ++i)
      spinners_.emplace_back([this] {
        volatile std::uint64_t x = 0;
        while (!stop_.load(std::memory_order_relaxed)) x = x + 1;
      });
  }
  ~Contention() {
    stop_ = true;
    for (std::thread& t : spinners_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> spinners_;
};

TEST(GzipMembers, BytesDoNotDependOnHistoryThreadsOrTiming) {
  // 64x64x34 float32: parts of 256 KiB, 256 KiB and 32 KiB; 100x100x9: two parts; 800
  // voxels: one small member.
  const std::vector<std::size_t> sizes = {64 * 64 * 34, 100 * 100 * 9, 800};
  FrameFormat format;
  format.gzip = true;
  const int threads = omp_get_max_threads();
  const int dynamic = omp_get_dynamic();
  Contention busy(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  std::mt19937 rng(2024);
  for (const std::size_t voxels : sizes) {
    std::vector<std::vector<float>> frames;
    std::vector<std::vector<char>> expected;
    for (unsigned s = 0; s < 8; ++s) {
      frames.push_back(resliced_like(voxels, s));
      expected.push_back(members_one_by_one(frames.back()));
    }
    for (int round = 0; round < 4; ++round) {
      // One encoder for the whole series, as NiftiWriter has: its per-thread compressors
      // see the frames in a shuffled order, with the thread count (so which thread gets
      // which part) changing from frame to frame and teams that may shrink under load.
      FrameEncoder encoder(format, voxels);
      std::vector<std::size_t> order(frames.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      for (const std::size_t f : order) {
        omp_set_num_threads(1 + static_cast<int>(rng() % 4));
        omp_set_dynamic(static_cast<int>(rng() % 2));
        const std::vector<char>& got = encoder.encode(frames[f].data());
        ASSERT_TRUE(got == expected[f])
            << voxels << " voxels, frame " << f << ", round " << round << ": " << got.size()
            << " bytes, expected " << expected[f].size();
      }
    }
  }
  omp_set_num_threads(threads);
  omp_set_dynamic(dynamic);
}

}  // namespace
