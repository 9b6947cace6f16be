// Which volume the frames are aligned to, from --ref, decided once on rank 0.
#pragma once

#include <string>
#include <vector>

#include "realign/io/frame_file.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {

struct ReferenceChoice {
  enum Kind { Mean, Frame, File } kind = Mean;
  int frame = 0;        // 0-based, for Frame (and the first pass of Mean)
  bool median = false;  // Frame, to be chosen as the one closest to the run's median
};

// "mean", "first", "middle" (frame frames / 2 counted from 0, MCFLIRT's default), "median",
// a 1-based frame number or (anything else) a file. Throws
// InputError for a frame number outside 1..frames.
ReferenceChoice parse_reference(const std::string& ref, int frames, const std::string& input);

// For the log and the report: which reference, and which frame it came down to.
std::string describe_reference(const ReferenceChoice& c, const std::string& ref);

// The frame from `first` on (non-steady-state frames before it take no part) closest to
// the run's voxel-wise median, taken on every `stride`-th voxel along each axis: a run's
// typical frame shows at that resolution, and rank 0 then holds frames/stride^3 of the
// series instead of all of it.
int median_frame(const FrameFile& file, int first, int stride = 3);

// The reference volume: the chosen frame of the input, or the reference file (InputError
// when it is on another grid). Either is refused when it is constant.
std::vector<float> reference_volume(const ReferenceChoice& c, const std::string& ref,
                                    const FrameFile& input, const std::string& input_path);

// Nothing can be aligned to an image without structure; a constant (or all-NaN, hence
// all-zero) volume would otherwise "converge" at once to a meaningless identity.
void check_not_constant(const std::vector<float>& v, const std::string& file,
                        const std::string& what);

}  // namespace realign
