// The text files of motion a run writes and `apply` reads back: SPM's rp, FSL's .par
// layout, and the per-frame world matrices. Writers throw OutputError, readers InputError,
// each naming the file.
#pragma once

#include <string>
#include <vector>

#include "realign/core/rigid.hpp"
#include "realign/core/volume.hpp"

namespace realign {

// SPM rp_*.txt: one row per frame (tx ty tz mm, pitch roll yaw rad), each of the 6 values
// written as " %.8e" (a space, then the number), as SPM12's save -ascii does under Octave.
void write_rp(const std::string& path, const std::vector<RigidParams>& rp);

// FSL MCFLIRT .par layout: one row per frame, the rp row reordered as pitch roll yaw (rad)
// then tx ty tz (mm), each value "%.10g" followed by two spaces. The numbers are realign's
// (SPM convention), not a conversion to MCFLIRT's coordinates: see docs/outputs.md.
void write_par(const std::string& path, const std::vector<RigidParams>& rp);

// Parses SPM rp files: whitespace separated, 6 finite numbers per row; blank lines and lines
// starting with '#' are ignored. Throws std::runtime_error("<path>: <problem>") when the file
// cannot be read, has no rows, or has bad content.
std::vector<RigidParams> read_rp(const std::string& path);

// Text file: comment lines explaining the convention, then per frame "# frame N" (1-based)
// and 4 rows of 4 numbers separated by single spaces, each the shortest decimal that reads
// back to the same double, in std::to_chars's plain form (%f or %e, whichever is shorter).
void write_xfm(const std::string& path, const std::vector<Mat4>& xfm);

// Inverse of write_xfm. '#' lines are comments; every other non-blank line must hold 4
// numbers, and each group of 4 rows must end with 0 0 0 1. Throws std::runtime_error
// ("<path>: <problem>") otherwise.
std::vector<Mat4> read_xfm(const std::string& path);

}  // namespace realign
