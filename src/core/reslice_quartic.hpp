// The AVX2+FMA kernel of 4th-degree reslicing (reslice_frame's default degree), in its own
// file because it is built for those instructions: reslice.cpp calls it only on a CPU that
// has them and keeps the SSE2 kernel for the others.
#pragma once

#include "realign/core/reslice.hpp"

namespace realign {

#if defined(__SSE2__)
void reslice_rows_quartic_avx2(const PaddedCoefficients& c, const Mat4& m,
                               const RowIntervals& visible, float fill, float* out);
#endif

}  // namespace realign
