// What `realign bids` keeps in the derivative dataset besides each run's outputs: the
// dataset_description.json, one motion record per run (<prefix>_desc-realign_qc.json, a
// success with its summary or a failure with its error) and the index built from all the
// records found in the dataset, so that separate jobs (a Slurm array) add up to one index.
// Also the job list rank 0 sends to every rank.
#pragma once

#include <string>
#include <vector>

#include "realign/app/bids/bids_layout.hpp"
#include "realign/app/bids/bids_options.hpp"
#include "realign/app/run/run_options.hpp"
#include "realign/report/dataset_index.hpp"

namespace realign {

// What became of one run.
struct RunOutcome {
  BoldRun run;
  bool failed = false;
  int status = 0;     // the exit status a single run would have had
  std::string error;  // one line, when failed
  RunMotionSummary motion;
  std::string report;  // the run's QC report (path), when written
  // What makes the outputs what they are, for a rerun to tell whether they are up to date:
  // the settings (settings_fingerprint), the runs realigned into one space with it (their
  // derivative prefixes, in order) and every output written (paths).
  std::string settings;
  std::vector<std::string> group, outputs;
};

// The settings that decide a run's outputs, as canonical JSON text: every estimation and
// output option (not the thread count, the MPI split, the memory limit, --no-clobber or
// --force, which change no output byte).
std::string settings_fingerprint(const RunSettings& settings, const BidsOptions& opt);

// Whether a run's record in out_dir says its outputs are complete and made by this version
// with these settings in this group: "" when they are, else why not (no record, failed,
// another version, other settings, another group, an output missing).
std::string why_not_complete(const BoldRun& run, const std::string& out_dir,
                             const std::string& settings, const std::vector<std::string>& group);

// The dataset_description.json of a derivative dataset generated from source_dir.
std::string dataset_description(const std::string& source_dir, const std::string& command_line);

// A run's record, and the index row read back from one. Throws InputError for a record
// that is not one.
std::string outcome_record(const RunOutcome& outcome, const std::string& out_dir);
IndexRun index_run_from_record(const std::string& record_json, const std::string& path);

// Every run record under out_dir/sub-*/[ses-*/]func, in name order; unreadable records
// are skipped with a warning.
std::vector<IndexRun> collect_index_runs(const std::string& out_dir);

// Writes `text` to path through a temporary renamed into place (OutputError on failure).
void write_text_atomically(const std::string& path, const std::string& text);

// The groups as text and back: rank 0 scans, every rank runs the same list.
std::string groups_to_text(const std::vector<BidsGroup>& groups);
std::vector<BidsGroup> groups_from_text(const std::string& text);

}  // namespace realign
