// Per-frame motion in ITK's text transform format, for the tools that resample as ITK
// does: antsApplyTransforms, nitransforms, fMRIPrep (its head-motion-correction input).
//
// ITK resamples an output point by asking the transform where that point is in the moving
// image: a transform maps the fixed (output) space to the moving (input) space, in LPS
// millimetres. realign's matrices (MotionRecord::xfm) go the other way and in RAS: A_n
// takes the points of frame n onto the reference. So frame n's ITK transform is
// F A_n^-1 F with F = diag(-1, -1, 1): a point of the reference (the boldref) to the point
// of the same anatomy in frame n.
//
// ITK's own writer writes the file, from a module of its own (src/io/itk/, loaded the
// first time a file is written) so that no other run pays for ITK's libraries.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "realign/core/volume.hpp"

namespace realign {

// The 12 parameters of frame n's ITK transform (matrix row by row, then translation; the
// centre of rotation is the origin) from its matrix A_n.
std::array<double, 12> itk_parameters(const Mat4& frame_to_reference);

// Writes one AffineTransform_double_3_3 per frame, in frame order. Throws
// OutputError naming `path` when the module is missing or ITK cannot write it.
void write_itk_transforms(const std::string& path, const std::vector<Mat4>& frame_to_reference);

}  // namespace realign
