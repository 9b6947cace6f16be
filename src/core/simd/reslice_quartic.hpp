// What the reslice kernels share (reslice.cpp's portable and SSE2 kernels, and the
// AVX2+FMA kernel of 4th-degree reslicing, reslice_frame's default degree, in its own file
// because it is built for those instructions: reslice.cpp calls it only on a CPU that has
// them).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "realign/core/reslice.hpp"

namespace realign {

// The row loop every reslice kernel shares: the rows of the output in parallel, `fill`
// outside the columns `visible` admits, and row_kernel(j, k, lo, hi, row) for columns
// lo..hi of row (j, k).
template <class RowKernel>
void for_each_visible_row(const RowIntervals& visible, float fill, float* out,
                          RowKernel&& row_kernel) {
  const std::array<int, 3> odim = visible.dim;
  const long rows = static_cast<long>(odim[1]) * odim[2];
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r) {
    const int j = static_cast<int>(r % odim[1]), k = static_cast<int>(r / odim[1]);
    float* row = out + static_cast<std::size_t>(r) * odim[0];
    const int lo = std::max(visible.lo[r], 0), hi = std::min(visible.hi[r], odim[0] - 1);
    for (int i = 0; i < std::min(lo, odim[0]); ++i) row[i] = fill;
    for (int i = std::max(hi + 1, 0); i < odim[0]; ++i) row[i] = fill;
    row_kernel(j, k, lo, hi, row);
  }
}

#if defined(__SSE2__)
void reslice_rows_quartic_avx2(const PaddedCoefficients& c, const Mat4& m,
                               const RowIntervals& visible, float fill, float* out);
#endif

}  // namespace realign
