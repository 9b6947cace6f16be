// Standardised DVARS (Nichols 2013, as fMRIPrep's std_dvars): DVARS divided by the value it
// would have if each voxel were stationary noise with its own temporal standard deviation
// s_v and lag-1 autocorrelation r_v, whose frame difference then has standard deviation
// s_v * sqrt(2 (1 - r_v)); the denominator is the mean of that over the voxels.
//
// The per-voxel sums are accumulated while frames stream, a block of frames per rank, and
// added up across ranks: each value is put on a grid of 2^-20 of the reference's peak and
// counted in 64-bit integers, so the sums are exact in any order and the result is the same
// bytes for any number of ranks; the rounding moves the result by about 1e-5 relative at
// most (less on long runs, where it averages out). fMRIPrep takes s_v robustly (interquartile range
// / 1.349), which needs every frame of a voxel at once; this takes the ordinary standard deviation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace realign {

class DvarsNull {
 public:
  // `mask` as frame_dvars' (nonzero = inside, empty = every voxel), of `voxels` entries;
  // `peak` sets the grid (the largest |value| of a typical frame, e.g. the reference's).
  DvarsNull(const std::vector<std::uint8_t>& mask, std::size_t voxels, double peak, int frames);

  // Frame f (0-based, each frame once, in any order). When the frame added just before was
  // f - 1, the product of the two is added too: its values on the grid are kept for that,
  // so that frames streamed in order are put on the grid once each.
  void add_frame(int f, const float* frame);
  // The product of two consecutive frames whose earlier one was not added just before (the
  // first pair of a block that another rank's block precedes).
  void add_pair(const float* prev, const float* cur);

  // The integer sums, for adding up across ranks (element-wise), then assigning back.
  std::vector<std::int64_t>& sums() { return sums_; }

  // The expected DVARS under the null: the mean over voxels finite in every frame and not
  // constant of s_v * sqrt(2 (1 - r_v)), with s_v the sample standard deviation (n - 1) and
  // r_v the Yule-Walker lag-1 autocorrelation of the demeaned series,
  // sum_t (x_t - m)(x_{t+1} - m) / sum_t (x_t - m)^2. NaN with fewer than 3 frames or no voxel.
  double expected_dvars() const;

 private:
  // Values on the grid are within +-2^24 quanta: 32 bits hold them, and kNotFinite marks
  // NaN and Inf.
  void quantise(const float* frame, std::vector<std::int32_t>& q) const;

  // The mask as runs of consecutive voxels [begin, end), which a brain mask mostly is along
  // its rows: the values are read without a gather.
  std::vector<std::pair<std::size_t, std::size_t>> runs_;
  std::size_t count_ = 0;  // voxels in the mask
  double inv_quantum_, quantum_;
  int frames_;
  // Field by field, a mask voxel each: sums_[field * count_ + k], so that the loops
  // over voxels run over consecutive memory.
  std::vector<std::int64_t> sums_;
  std::vector<std::int32_t> last_, work_;  // the last frame added, on the grid
  int last_frame_ = -2;
};

// dvars[t] / expected (NaN stays NaN; all NaN when expected is not a positive number).
std::vector<double> standardised_dvars(const std::vector<double>& dvars, double expected);

}  // namespace realign
