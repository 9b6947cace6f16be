// B-spline values at many points at once, for estimation's inner loop: degree 3 (the
// default) two points per AVX2 instruction when the CPU has AVX2, every value the same as
// sse::value<3> gives for its point (the same float operations, lane by lane, no FMA).
#pragma once

#include "realign/core/bspline.hpp"

namespace realign::batch {

// out[i] = sse::value<D>(c, x[i], y[i], z[i]) for i < n, with D = c.degree, under
// padded_value's conditions.
void values(const PaddedCoefficients& c, const double* x, const double* y, const double* z, int n,
            double* out);

}  // namespace realign::batch
