// The confounds table, under fMRIPrep's column names: the six motion parameters, the
// outlier measures, and the 24-parameter motion expansion (Friston et al. 1996, as
// fMRIPrep writes it: parameters, backward differences, and the squares of both).
// write_confounds (outputs.hpp) writes these columns as TSV with a JSON sidecar.
#pragma once

#include <string>
#include <vector>

#include "realign/core/motion_record.hpp"

namespace realign {

struct ConfoundColumn {
  std::string name;  // fMRIPrep's name, e.g. "trans_x_derivative1"
  std::string units;
  std::string description;
  std::vector<double> values;  // one per frame; NaN where undefined (written "n/a")
};

// In file order: trans_x trans_y trans_z rot_x rot_y rot_z (the rp columns),
// framewise_displacement rmsd dvars std_dvars, then for each P of the six parameters in that
// order P_derivative1 (P[t] - P[t-1], NaN for frame 1), P_power2 (P[t]^2) and
// P_derivative1_power2 (NaN for frame 1), then one non_steady_state_outlier_XX column per
// non-steady-state frame (XX its 0-based index, two digits; 1 at that frame, 0 elsewhere,
// fMRIPrep's one-hot encoding), then one motion_outlier_XX column per frame whose fd exceeds
// fd_threshold_mm (XX counts the outliers from 00). fd/rmsd/dvars/std_dvars that are empty
// give all-NaN columns; any other length than one per frame throws std::invalid_argument.
std::vector<ConfoundColumn> confound_columns(const MotionRecord& r);

// fMRIPrep-style confounds (the columns of confounds.hpp's confound_columns): tab separated,
// a header of column names, one row per frame ("n/a" for NaN), plus a BIDS-style JSON
// sidecar describing each column (Description, Units) and the conventions, keys in that
// order, numbers to 10 significant digits like the TSV's, bytes of the input name that are not
// UTF-8 as U+FFFD. fd/rmsd/dvars must be empty or have one entry per rp row
// (std::invalid_argument otherwise).
void write_confounds(const std::string& tsv_path, const std::string& json_path,
                     const MotionRecord& r);

}  // namespace realign
