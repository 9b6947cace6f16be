// B-spline values (and gradients) at many points at once, for estimation's inner loops:
// degree 3 (the default) two points per AVX2 instruction when the CPU has AVX2, every
// result the same as the one-point form gives for its point (the same floating-point
// operations, lane by lane, no FMA).
#pragma once

#include "realign/core/bspline.hpp"

namespace realign::batch {

// out[i] = sse::value<D>(c, x[i], y[i], z[i]) for i < n, with D = c.degree, under
// padded_value's conditions.
void values(const PaddedCoefficients& c, const double* x, const double* y, const double* z, int n,
            double* out);

// v[i] = padded_value_gradient<D>(c, x[i], y[i], z[i], &grad[3 * i]) for i < n, with
// D = c.degree, under padded_value's conditions.
void value_gradients(const PaddedCoefficients& c, const double* x, const double* y, const double* z,
                     int n, double* v, double* grad);

// out[i] = padded_value<D>(c, x[i], y[i], z[i]) for i < n, with D = c.degree: the double
// precision values (values above gives sse::value's, from float weights).
void padded_values(const PaddedCoefficients& c, const double* x, const double* y, const double* z,
                   int n, double* out);

// value_gradients as it runs on a CPU without AVX2, whatever this one has: the path the
// tests compare with the AVX2 one.
void value_gradients_portable(const PaddedCoefficients& c, const double* x, const double* y,
                              const double* z, int n, double* v, double* grad);

}  // namespace realign::batch
