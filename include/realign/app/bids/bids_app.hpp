// `realign bids BIDS_DIR OUT_DIR`: every BOLD run of a BIDS dataset (or of the subjects,
// sessions and tasks asked for) realigned into a BIDS-Derivatives dataset, group by group
// (a group: one subject's runs of one session), each group over all MPI ranks; a run that
// fails is recorded with its error and the others go on. Collective: every rank calls it.
#pragma once

#include <string>
#include <vector>

#include "realign/app/bids/bids_layout.hpp"
#include "realign/app/bids/bids_options.hpp"
#include "realign/app/bids/bids_records.hpp"
#include "realign/app/run/run_options.hpp"

namespace realign {

// The groups to process, after filtering and --group-index: a subject's runs of one
// session whose headers place them alike (a slab prescribed again makes another group).
// Rank 0 only (reads the dataset); throws InputError when nothing matches or the index is
// out of range.
std::vector<BidsGroup> select_groups(const BidsOptions& opt);

// One group's runs (a subject's session), realigned into one space with run_subject
// (subject.hpp) and written into opt.out_dir; rank 0's outcomes are complete (every rank
// knows which runs failed). A run that fails is recorded and the others are realigned
// without it.
std::vector<RunOutcome> realign_group(const BidsGroup& group, const BidsOptions& opt);

// A run's Options: the common ones, its input, its derivative name, its sidecar's TR.
RunOptions run_options(const BoldRun& run, const BidsOptions& opt);

// The whole command; returns the exit status: 0 when every run completed, kExitSomeRuns
// when some failed (the others completed; index.html and the log list them), or the
// status of an error that stops everything (no run found: kExitInput; OUT_DIR not
// writable: kExitOutput).
int run_bids(const RunSettings& settings, const BidsOptions& opt);

}  // namespace realign
