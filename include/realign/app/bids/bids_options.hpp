// What `realign bids` is told beyond the settings every run shares (RunSettings): the
// dataset, which of its runs, and how to name and redo what it writes.
#pragma once

#include <string>

#include "realign/app/bids/bids_layout.hpp"

namespace realign {

struct BidsOptions {
  std::string bids_dir, out_dir;
  std::string analysis_level;              // the BIDS-Apps form's third word: participant, or none
  std::string fmriprep_names = "current";  // or "next": fMRIPrep's development branch's
  bool force = false;                      // redo runs whose outputs are complete and up to date
  BidsFilter filter;
  int group_index = -1;      // >= 0: only this group (0-based, in group order)
  bool index_only = false;   // rebuild OUT_DIR/index.html from the run records, run nothing
  bool list_groups = false;  // print the groups, one a line with its index, run nothing
  std::string command_line;  // for dataset_description.json
};

}  // namespace realign
