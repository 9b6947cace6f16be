// Helpers shared by the tests: temporary directories and the optional shared data.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "realign/core/volume.hpp"

namespace realign::testing {

// A fresh empty directory under the system temp dir, removed at process exit.
std::string temp_dir(const std::string& tag);

// The whole file as bytes ("" when it cannot be read).
std::string slurp(const std::string& path);

// How many times needle occurs in text (overlaps counted).
std::size_t count_of(const std::string& text, const std::string& needle);

// Path of ../shared beside the source tree, or "" when it is absent.
std::string shared_dir();

// The B-spline value at (x, y, z) the textbook way: weights from the truncated-power
// definition (bspline_weights), indices mirrored one by one, a plain triple sum. An
// independent check on the padded, vectorised evaluation of the library.
double textbook_spline(const float* coef, const std::array<int, 3>& dim, int degree, double x,
                       double y, double z);

// A real-looking source for phantoms without the shared data: frame 0 of the synthetic
// head (64x64x34 at 3x3x3.5 mm, noiseless), cut to slices [first, first + count) so that
// the slab cuts through the head as real EPI slabs do.
Volume synthetic_slab(int first, int count);

}  // namespace realign::testing
