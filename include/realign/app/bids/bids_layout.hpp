// A BIDS dataset as `realign bids` sees it: the BOLD runs found under sub-*/[ses-*/]func,
// their entities checked from the file name, filtered by labels and grouped by subject and
// session; the TR of their sidecars (BIDS inheritance); and the BIDS-Derivatives names of
// what a run writes. Everything but scan_bids and read_sidecar_tr is a pure function of
// names, so it can be tested without files.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace realign {

struct BoldRun {
  std::string path;          // the file, root/relative_dir/name
  std::string relative_dir;  // "sub-01/ses-1/func" (or "sub-01/func")
  std::string name;          // "sub-01_ses-1_task-rest_run-1_bold.nii.gz"
  // The name's entities in their order: {"sub","01"}, {"ses","1"}, {"task","rest"}, ...
  std::vector<std::pair<std::string, std::string>> entities;
  double sidecar_tr_s = 0.0;  // RepetitionTime of its sidecars (read_sidecar_tr); 0: none
  double echo_time_s = 0.0;   // EchoTime of its sidecars; 0: none
  // A multi-echo run (merge_echoes): every echo, by echo number, the run itself being the
  // echo motion is estimated on (the shortest EchoTime). Empty for a single-echo run.
  std::vector<BoldRun> echoes;
  std::string sbref;  // the run's single-band reference (echo 1's), "" when there is none

  // The label of an entity, "" when the name has none.
  std::string entity(const std::string& key) const;
  // The name without "_bold.nii[.gz]".
  std::string prefix() const;
  // What the run's derivatives start with: the prefix without the echo entity (fMRIPrep
  // names one run's derivatives so, however many echoes it has).
  std::string derivative_prefix() const;
};

// Whether a file name is a BOLD series: ends in _bold.nii or _bold.nii.gz.
bool is_bold_name(const std::string& name);

// Checks a BOLD file's name against its place in the dataset ("sub-01/ses-1/func/NAME")
// and fills `run` (path left to the caller). Returns "" or the problem, in words: an
// unknown entity, entities out of BIDS order, a missing task, a subject or session that
// differs from the directories, a label that is not alphanumeric, a run that is not a
// number.
std::string parse_bold_run(const std::string& relative_path, BoldRun& run);

// The echoes of one run (files that differ only by their echo entity, in one directory)
// joined into one BoldRun each, its echoes by echo number; the others as they are. The
// echo to estimate on is chosen later (choose_estimation_echo), once the echo times are
// known; until then it is the lowest echo number.
std::vector<BoldRun> merge_echoes(std::vector<BoldRun> runs);

// A multi-echo run made the echo with the shortest EchoTime (echo_time_s of each echo;
// the lowest echo number where none is known), keeping its echoes.
void choose_estimation_echo(BoldRun& run);

// The single-band reference beside a run (same entities, suffix sbref, .nii or .nii.gz;
// echo 1's for a multi-echo run): its path relative to root's parent of relative_dir, or ""
// when there is none.
std::string find_sbref(const std::string& root, const BoldRun& run);

// "sub-01" -> "01" for prefix "sub-"; a label without the prefix is returned as is (BIDS
// apps accept both).
std::string strip_label_prefix(const std::string& label, const std::string& prefix);

// Labels to keep (empty: all), with or without their sub-/ses-/task- prefix.
struct BidsFilter {
  std::vector<std::string> participants, sessions, tasks;
};
bool matches(const BoldRun& run, const BidsFilter& filter);

// The runs of one subject and session ("" when the dataset has no sessions), in name order.
struct BidsGroup {
  std::string subject, session;
  std::vector<BoldRun> runs;
  std::string label() const;  // "sub-01 ses-1", or "sub-01"
};
// Groups runs by subject and session, ordered by subject, then session; runs by name.
std::vector<BidsGroup> group_runs(std::vector<BoldRun> runs);

// What a dataset holds: the BOLD runs with valid names (sorted by path) and, for each
// _bold file whose name is not valid, "<path>: <problem>".
struct BidsScan {
  std::vector<BoldRun> runs;
  std::vector<std::string> skipped;
};
// Lists root/sub-*/func and root/sub-*/ses-*/func. Throws InputError when root is not a
// directory.
BidsScan scan_bids(const std::string& root);

// BIDS inheritance: of the sidecars (paths relative to the root, each in the root, the
// subject's, the session's or the run's func directory) those that apply to the run, least
// specific first: a *_bold.json whose every entity the run has with the same label, at a
// level at or above the run's. A later one's keys override an earlier one's.
std::vector<std::string> applicable_sidecars(const BoldRun& run,
                                             const std::vector<std::string>& sidecars);

// A number of the run's sidecars (RepetitionTime, EchoTime), the most specific that has
// one. value is 0 when none has; `source` names the file it came from; `problem` names a
// sidecar that is not valid JSON or whose value is not a positive number (then ignored).
struct SidecarNumber {
  double value = 0.0;
  std::string source, problem;
};
SidecarNumber read_sidecar_number(const std::string& root, const BoldRun& run,
                                  const std::string& key);

// The derivative of a run in out_dir:
// out_dir/<relative_dir>/<derivative prefix>_desc-preproc_bold.nii.gz.
std::string derivative_preproc_path(const std::string& out_dir, const BoldRun& run);
// One echo's preprocessed series: <its prefix, with echo>_desc-preproc_bold.nii.gz.
std::string derivative_echo_path(const std::string& out_dir, const BoldRun& echo);
// Its motion summary for the dataset index: <derivative prefix>_desc-realign_qc.json.
std::string derivative_qc_path(const std::string& out_dir, const BoldRun& run);

// The BIDS URI of a file of the source dataset ("bids:raw:sub-01/func/x_bold.nii.gz"): the
// dataset is `raw` in the derivative's DatasetLinks.
std::string source_uri(const BoldRun& run);

}  // namespace realign
