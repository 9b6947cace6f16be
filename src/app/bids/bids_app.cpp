#include "realign/app/bids/bids_app.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "realign/app/platform/distribute.hpp"
#include "realign/app/run/output_paths.hpp"
#include "realign/app/run/pipeline.hpp"
#include "realign/app/run/subject.hpp"
#include "realign/io/errors.hpp"
#include "realign/io/nifti_header.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

// Labels asked for that no run has are most likely typos: say so.
void warn_unmatched(const std::vector<BoldRun>& runs, const std::vector<std::string>& labels,
                    const std::string& key, const std::string& option) {
  for (const std::string& l : labels) {
    const std::string bare = strip_label_prefix(l, key + "-");
    const bool found = std::any_of(runs.begin(), runs.end(),
                                   [&](const BoldRun& r) { return r.entity(key) == bare; });
    if (!found) spdlog::warn("{} {}: no BOLD run has {}-{}", option, l, key, bare);
  }
}

// Rank 0: each selected run's TR from its sidecars, with a warning when there is none.
void read_sidecars(const std::string& root, std::vector<BidsGroup>& groups) {
  for (BidsGroup& g : groups)
    for (BoldRun& r : g.runs) {
      const SidecarTr tr = read_sidecar_tr(root, r);
      if (!tr.problem.empty()) spdlog::warn("{}", tr.problem);
      if (tr.tr_s <= 0)
        spdlog::warn("{}: no RepetitionTime in its sidecars; the header's TR is used", r.path);
      r.sidecar_tr_s = tr.tr_s;
    }
}

// Rank 0: OUT_DIR and the func directories of the runs to come.
void prepare_out_dir(const BidsOptions& opt, const std::vector<BidsGroup>& groups) {
  std::error_code ec;
  if (fs::exists(opt.out_dir, ec) && fs::equivalent(opt.out_dir, opt.bids_dir, ec))
    throw OutputError(opt.out_dir,
                      "is the BIDS dataset itself; give a derivatives directory "
                      "(e.g. BIDS_DIR/derivatives/realign)");
  std::vector<fs::path> dirs = {opt.out_dir};
  for (const BidsGroup& g : groups)
    for (const BoldRun& r : g.runs) dirs.push_back(fs::path(opt.out_dir) / r.relative_dir);
  for (const fs::path& d : dirs) {
    fs::create_directories(d, ec);
    if (ec) throw OutputError(d.string(), "cannot create the directory: " + ec.message());
  }
}

// One line a group: its index, subject and session, and its runs' file names.
void print_groups(const std::vector<BidsGroup>& groups) {
  for (std::size_t i = 0; i < groups.size(); ++i) {
    std::vector<std::string> names;
    for (const BoldRun& r : groups[i].runs) names.push_back(r.name);
    std::printf("%zu\t%s\t%s\n", i, groups[i].label().c_str(),
                fmt::format("{}", fmt::join(names, " ")).c_str());
  }
  std::fflush(stdout);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

// Runs go into one space only when their headers place them alike (run_subject refuses
// the others): a session whose slab was prescribed again between runs becomes one group
// per placement, in order. A run whose header cannot be read stays with the first group,
// where it fails and is recorded.
std::vector<BidsGroup> split_by_placement(std::vector<BidsGroup> groups) {
  std::vector<BidsGroup> out;
  for (BidsGroup& g : groups) {
    std::vector<std::pair<Grid, BidsGroup>> parts;
    std::vector<BoldRun> unreadable;
    for (BoldRun& r : g.runs) {
      Grid grid;
      try {
        grid = read_nifti_header(r.path).grid;
      } catch (const std::exception&) {
        unreadable.push_back(std::move(r));
        continue;
      }
      auto same = std::find_if(parts.begin(), parts.end(), [&](const auto& p) {
        return p.first.dim == grid.dim && p.first.same_as(grid, 1e-3);
      });
      if (same == parts.end()) {
        if (!parts.empty())
          spdlog::warn(
              "{}: its header places it elsewhere than {}; realigned in a space of its own", r.path,
              parts.front().second.runs.front().path);
        same = parts.insert(parts.end(), {grid, BidsGroup{g.subject, g.session, {}}});
      }
      same->second.runs.push_back(std::move(r));
    }
    if (parts.empty()) parts.push_back({Grid{}, BidsGroup{g.subject, g.session, {}}});
    for (BoldRun& r : unreadable) parts.front().second.runs.push_back(std::move(r));
    for (auto& p : parts) out.push_back(std::move(p.second));
  }
  return out;
}

// Rank 0: everything before the runs; the group list as text for the other ranks.
std::string start(const BidsOptions& opt) {
  std::vector<BidsGroup> groups;
  if (!opt.index_only) groups = select_groups(opt);
  if (opt.list_groups) {
    print_groups(groups);
    return groups_to_text({});
  }
  prepare_out_dir(opt, groups);
  if (!opt.index_only)
    write_text_atomically((fs::path(opt.out_dir) / "dataset_description.json").string(),
                          dataset_description(opt.bids_dir, opt.command_line));
  return groups_to_text(groups);
}

// Collective: runs `rank0` on rank 0 and stops every rank alike if it throws.
template <class F>
std::string on_root(F&& rank0) {
  std::string result, error;
  int status = kExitOk;
  if (mpi_rank() == 0) {
    try {
      result = rank0();
    } catch (const std::exception& e) {
      error = e.what();
      status = exit_status_of(e);
    }
  }
  error = broadcast_status(error, &status);
  if (!error.empty()) throw RunError(error, status);
  std::vector<char> bytes(result.begin(), result.end());
  broadcast(bytes);
  return std::string(bytes.begin(), bytes.end());
}

void write_records(const std::vector<RunOutcome>& outcomes, const std::string& out_dir) {
  for (const RunOutcome& o : outcomes)
    write_text_atomically(derivative_qc_path(out_dir, o.run), outcome_record(o, out_dir));
}

void write_index(const BidsOptions& opt) {
  const std::vector<IndexRun> runs = collect_index_runs(opt.out_dir);
  const std::string path = (fs::path(opt.out_dir) / "index.html").string();
  std::string html = dataset_index_html(
      runs, IndexLimits{}, fs::absolute(opt.bids_dir).lexically_normal().filename().string(),
      utc_now());
  write_text_atomically(path, html);
  spdlog::info("wrote {} ({} {})", path, runs.size(), runs.size() == 1 ? "run" : "runs");
}

SubjectJob group_job(const std::vector<BoldRun>& runs, const BidsOptions& opt) {
  SubjectJob job;
  job.naming = OutputNaming::Bids;
  for (const BoldRun& r : runs) {
    job.inputs.push_back(r.path);
    job.outputs.push_back(derivative_preproc_path(opt.out_dir, r));
    job.repetition_times_s.push_back(r.sidecar_tr_s);
  }
  return job;
}

// The run an error names ("<file>: <problem>"), or -1 when it names none of them.
int named_run(const std::string& message, const std::vector<BoldRun>& runs) {
  for (std::size_t k = 0; k < runs.size(); ++k)
    if (message.rfind(runs[k].path + ":", 0) == 0) return static_cast<int>(k);
  return -1;
}

RunOutcome failed_run(const BoldRun& run, const RunError& e) {
  RunOutcome o;
  o.run = run;
  o.failed = true;
  o.status = e.status();
  o.error = e.what();
  if (mpi_rank() == 0) spdlog::error("{}", e.what());
  return o;
}

// Realigns `runs` into one space (run_subject). run_subject writes nothing when any run
// fails, so the run its error names is taken out and recorded as failed, and the rest are
// realigned again. Every rank sees the same RunError, so all take the same path.
void realign_together(const RunSettings& settings, std::vector<BoldRun> runs,
                      const BidsOptions& opt, std::vector<RunOutcome>& outcomes) {
  while (!runs.empty()) {
    try {
      const std::vector<RunResult> results = run_subject(settings, group_job(runs, opt));
      for (std::size_t k = 0; k < runs.size(); ++k) {
        RunOutcome o;
        o.run = runs[k];
        o.motion = summarise_motion(results[k].record);
        if (settings.report)
          o.report = output_paths(derivative_preproc_path(opt.out_dir, runs[k]), OutputNaming::Bids)
                         .report;
        outcomes.push_back(std::move(o));
      }
      break;
    } catch (const RunError& e) {
      const int k = named_run(e.what(), runs);
      if (k < 0) {
        for (const BoldRun& r : runs) outcomes.push_back(failed_run(r, e));
        break;
      }
      outcomes.push_back(failed_run(runs[k], e));
      runs.erase(runs.begin() + k);
    }
  }
}

}  // namespace

std::vector<BidsGroup> select_groups(const BidsOptions& opt) {
  BidsScan scan = scan_bids(opt.bids_dir);
  for (const std::string& s : scan.skipped) spdlog::warn("{}; skipped", s);
  warn_unmatched(scan.runs, opt.filter.participants, "sub", "--participant-label");
  warn_unmatched(scan.runs, opt.filter.sessions, "ses", "--session-label");
  warn_unmatched(scan.runs, opt.filter.tasks, "task", "--task");
  std::vector<BoldRun> kept;
  for (BoldRun& r : scan.runs)
    if (matches(r, opt.filter)) kept.push_back(std::move(r));
  if (kept.empty())
    throw InputError(opt.bids_dir, "no BOLD run (sub-*/[ses-*/]func/*_bold.nii[.gz]) matches");
  std::vector<BidsGroup> groups = split_by_placement(group_runs(std::move(kept)));
  if (opt.group_index >= static_cast<int>(groups.size()))
    throw InputError(opt.bids_dir, fmt::format("--group-index {}: there are {} groups (0 to {})",
                                               opt.group_index, groups.size(), groups.size() - 1));
  if (opt.group_index >= 0) groups = {groups[opt.group_index]};
  read_sidecars(opt.bids_dir, groups);
  return groups;
}

std::vector<RunOutcome> realign_group(const RunSettings& settings, const BidsGroup& group,
                                      const BidsOptions& opt) {
  std::vector<RunOutcome> outcomes;
  spdlog::info("{}: {} {} into one space", group.label(), group.runs.size(),
               group.runs.size() == 1 ? "run" : "runs");
  realign_together(settings, group.runs, opt, outcomes);
  return outcomes;
}

int run_bids(const RunSettings& settings, const BidsOptions& opt) {
  const std::vector<BidsGroup> groups = groups_from_text(on_root([&] { return start(opt); }));
  if (opt.list_groups) return kExitOk;
  int failed = 0, total = 0;
  for (const BidsGroup& g : groups) {
    const std::vector<RunOutcome> outcomes = realign_group(settings, g, opt);
    for (const RunOutcome& o : outcomes) failed += o.failed ? 1 : 0;
    total += static_cast<int>(outcomes.size());
    on_root([&] {
      write_records(outcomes, opt.out_dir);
      return std::string();
    });
  }
  on_root([&] {
    write_index(opt);
    return std::string();
  });
  if (failed > 0 && mpi_rank() == 0)
    spdlog::error("{} of {} runs failed (listed in {}/index.html); the others completed", failed,
                  total, opt.out_dir);
  return failed > 0 ? kExitSomeRuns : kExitOk;
}

}  // namespace realign
