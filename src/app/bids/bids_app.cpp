#include "realign/app/bids/bids_app.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>

#include "realign/app/platform/distribute.hpp"
#include "realign/app/run/output_paths.hpp"
#include "realign/app/run/pipeline.hpp"
#include "realign/app/run/subject.hpp"
#include "realign/core/metrics.hpp"
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

double sidecar_number(const std::string& root, const BoldRun& run, const std::string& key) {
  const SidecarNumber n = read_sidecar_number(root, run, key);
  if (!n.problem.empty()) spdlog::warn("{}", n.problem);
  return n.value;
}

// Rank 0: each selected run's TR from its sidecars (a warning when there is none), its
// echoes' EchoTime and the echo to estimate on, and its single-band reference.
void read_sidecars(const std::string& root, std::vector<BidsGroup>& groups) {
  for (BidsGroup& g : groups)
    for (BoldRun& r : g.runs) {
      for (BoldRun& echo : r.echoes) echo.echo_time_s = sidecar_number(root, echo, "EchoTime");
      choose_estimation_echo(r);
      r.sidecar_tr_s = sidecar_number(root, r, "RepetitionTime");
      if (r.sidecar_tr_s <= 0)
        spdlog::warn("{}: no RepetitionTime in its sidecars; the header's TR is used", r.path);
      if (!r.echoes.empty())
        spdlog::info("{}: {} echoes, motion estimated on echo {} (EchoTime {})",
                     r.derivative_prefix(), r.echoes.size(), r.entity("echo"),
                     r.echo_time_s > 0 ? fmt::format("{:g} s", r.echo_time_s)
                                       : std::string("unknown: the first echo"));
      r.sbref = find_sbref(root, r);
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

// Collective: rank 0's result of `rank0` on every rank; if it throws, every rank stops alike.
std::string from_root(const std::function<std::string()>& rank0) {
  std::string result;
  on_root([&] { result = rank0(); });
  std::vector<char> bytes(result.begin(), result.end());
  broadcast(bytes);
  return std::string(bytes.begin(), bytes.end());
}

void write_records(const std::vector<RunOutcome>& outcomes, const std::string& out_dir) {
  for (const RunOutcome& o : outcomes)
    write_text_atomically(derivative_qc_path(out_dir, o.run), outcome_record(o, out_dir));
}

// The runs of the dataset (those the labels select) that have no record in OUT_DIR yet.
std::vector<std::string> runs_not_done(const BidsOptions& opt) {
  std::vector<BoldRun> kept;
  try {
    for (BoldRun& r : scan_bids(opt.bids_dir).runs)
      if (matches(r, opt.filter)) kept.push_back(std::move(r));
  } catch (const std::exception&) {
    return {};  // no dataset to compare with: the records are all there is
  }
  std::vector<std::string> names;
  std::error_code ec;
  for (const BoldRun& r : merge_echoes(std::move(kept)))
    if (!fs::exists(derivative_qc_path(opt.out_dir, r), ec)) names.push_back(r.derivative_prefix());
  return names;
}

void write_index(const BidsOptions& opt) {
  const std::vector<IndexRun> runs = collect_index_runs(opt.out_dir);
  const std::string path = (fs::path(opt.out_dir) / "index.html").string();
  std::string html = dataset_index_html(
      runs, IndexLimits{}, fs::absolute(opt.bids_dir).lexically_normal().filename().string(),
      utc_now(), runs_not_done(opt));
  write_text_atomically(path, html);
  spdlog::info("wrote {} ({} {})", path, runs.size(), runs.size() == 1 ? "run" : "runs");
}

// One run's files: its derivatives' names, its sidecar's TR and, for a multi-echo run, the
// echo motion is estimated on with every other echo as a companion, each with its own
// preprocessed series.
RunFiles run_files(const BoldRun& r, const BidsOptions& opt) {
  RunFiles run;
  run.input = r.path;
  run.output = derivative_preproc_path(opt.out_dir, r);
  run.naming = opt.fmriprep_names == "next" ? OutputNaming::BidsNext : OutputNaming::Bids;
  run.repetition_time_s = r.sidecar_tr_s;
  run.sources = {source_uri(r)};
  run.echo_time_s = r.echo_time_s;
  if (r.echoes.empty()) return run;
  run.image = derivative_echo_path(opt.out_dir, r);
  for (const BoldRun& echo : r.echoes) {
    if (echo.path == r.path) continue;
    Companion c;
    c.input = echo.path;
    c.output = derivative_echo_path(opt.out_dir, echo);
    c.echo_time_s = echo.echo_time_s;
    c.sources = {source_uri(echo)};
    run.companions.push_back(c);
  }
  return run;
}

SubjectJob group_job(const std::vector<BoldRun>& runs, const BidsOptions& opt) {
  SubjectJob job;
  for (const BoldRun& r : runs) job.runs.push_back(run_files(r, opt));
  return job;
}

// The run an error names ("<file>: <problem>"), or -1 when it names none of them.
// The run an error names ("<file>: <problem>"): one of its echoes' inputs or any of its
// outputs; -1 when it names none of them.
int named_run(const std::string& message, const std::vector<BoldRun>& runs,
              const BidsOptions& opt) {
  const auto names = [&](const std::string& file) { return message.rfind(file + ":", 0) == 0; };
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const RunFiles files = run_files(runs[k], opt);
    const OutputPaths outputs = output_paths(files);
    const std::vector<std::string> all = outputs.all();
    bool found = names(runs[k].path) || std::any_of(all.begin(), all.end(), names);
    for (const BoldRun& echo : runs[k].echoes) found = found || names(echo.path);
    if (found) return static_cast<int>(k);
  }
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
std::vector<std::string> derivative_prefixes(const std::vector<BoldRun>& runs) {
  std::vector<std::string> names;
  for (const BoldRun& r : runs) names.push_back(r.derivative_prefix());
  return names;
}

// `fingerprint`: of the command's settings, for the records (settings may differ from them
// by the group's reference).
void realign_together(const RunSettings& settings, const std::string& fingerprint,
                      std::vector<BoldRun> runs, const BidsOptions& opt,
                      std::vector<RunOutcome>& outcomes) {
  while (!runs.empty()) {
    try {
      const std::vector<RunResult> results = run_subject(settings, group_job(runs, opt));
      for (std::size_t k = 0; k < runs.size(); ++k) {
        RunOutcome o;
        o.run = runs[k];
        o.motion = summarise_motion(relative_to_own_run(results[k].record));
        if (settings.report) o.report = output_paths(run_files(runs[k], opt)).report;
        o.settings = fingerprint;
        o.group = derivative_prefixes(runs);
        o.outputs = results[k].outputs;
        outcomes.push_back(std::move(o));
      }
      break;
    } catch (const RunError& e) {
      const int k = named_run(e.what(), runs, opt);
      if (k < 0) {
        for (const BoldRun& r : runs) outcomes.push_back(failed_run(r, e));
        break;
      }
      outcomes.push_back(failed_run(runs[k], e));
      runs.erase(runs.begin() + k);
    }
  }
}

// --ref sbref: the group's first run's single-band reference, when it is a volume on that
// run's grid (the group's later runs are registered to it as to any reference file);
// otherwise a warning, and the default reference. Every rank reads the same headers.
RunSettings with_group_reference(const RunSettings& settings, const BidsGroup& group) {
  if (settings.reference != "sbref") return settings;
  RunSettings s = settings;
  s.reference = RunSettings{}.reference;
  const BoldRun& first = group.runs.front();
  std::string problem;
  if (first.sbref.empty()) {
    problem = "no _sbref beside it";
  } else {
    try {
      const NiftiInfo ref = read_nifti_header(first.sbref), run = read_nifti_header(first.path);
      if (ref.frames != 1)
        problem = first.sbref + " has " + std::to_string(ref.frames) + " volumes, not one";
      else if (ref.grid.dim != run.grid.dim || !ref.grid.same_as(run.grid, 1e-3))
        problem = first.sbref + " is not on the run's grid";
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
  if (problem.empty()) {
    s.reference = first.sbref;
    return s;
  }
  spdlog::warn("{}: --ref sbref: {}; the default reference ({}) is used", first.path, problem,
               s.reference);
  return s;
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
  std::vector<BidsGroup> groups = split_by_placement(group_runs(merge_echoes(std::move(kept))));
  if (opt.group_index >= static_cast<int>(groups.size()))
    throw InputError(opt.bids_dir, fmt::format("--group-index {}: there are {} groups (0 to {})",
                                               opt.group_index, groups.size(), groups.size() - 1));
  if (opt.group_index >= 0) groups = {groups[opt.group_index]};
  read_sidecars(opt.bids_dir, groups);
  return groups;
}

// Rank 0: why a group is not realigned again, or "" to realign it. A group is one space,
// so it is skipped only as a whole: when every run's outputs are complete and up to date
// (unless --force), or, with --no-clobber, when any of its outputs exists.
std::string why_skip(const RunSettings& settings, const BidsGroup& group, const BidsOptions& opt) {
  if (opt.force) return {};
  const std::string fingerprint = settings_fingerprint(settings, opt);
  const std::vector<std::string> names = derivative_prefixes(group.runs);
  std::string not_complete;
  for (const BoldRun& r : group.runs) {
    const std::string why = why_not_complete(r, opt.out_dir, fingerprint, names);
    if (!why.empty() && not_complete.empty()) not_complete = r.derivative_prefix() + ": " + why;
  }
  if (not_complete.empty())
    return "complete, made by realign " REALIGN_VERSION
           " with the same options: skipped "
           "(--force redoes it)";
  spdlog::debug("{}: realigned again ({})", group.label(), not_complete);
  if (!settings.no_clobber) return {};
  std::error_code ec;
  for (const BoldRun& r : group.runs)
    for (const std::string& f : output_paths(run_files(r, opt)).all())
      if (std::filesystem::exists(f, ec))
        return "not complete (" + not_complete + ") but " +
               std::filesystem::path(f).filename().string() +
               " exists, which --no-clobber keeps: skipped";
  return {};
}

std::vector<RunOutcome> realign_group(const RunSettings& settings, const BidsGroup& group,
                                      const BidsOptions& opt) {
  std::vector<RunOutcome> outcomes;
  const std::string skip = from_root([&] { return why_skip(settings, group, opt); });
  if (!skip.empty()) {
    if (mpi_rank() == 0) {
      if (settings.no_clobber && skip.rfind("not complete", 0) == 0)
        spdlog::warn("{}: {}", group.label(), skip);
      else
        spdlog::info("{}: {}", group.label(), skip);
    }
    return outcomes;
  }
  spdlog::info("{}: {} {} into one space", group.label(), group.runs.size(),
               group.runs.size() == 1 ? "run" : "runs");
  realign_together(with_group_reference(settings, group), settings_fingerprint(settings, opt),
                   group.runs, opt, outcomes);
  return outcomes;
}

int run_bids(const RunSettings& settings, const BidsOptions& opt) {
  const std::vector<BidsGroup> groups = groups_from_text(from_root([&] { return start(opt); }));
  if (opt.list_groups) return kExitOk;
  int failed = 0, total = 0;
  for (const BidsGroup& g : groups) {
    const std::vector<RunOutcome> outcomes = realign_group(settings, g, opt);
    for (const RunOutcome& o : outcomes) failed += o.failed ? 1 : 0;
    total += static_cast<int>(outcomes.size());
    on_root([&] { write_records(outcomes, opt.out_dir); });
  }
  on_root([&] { write_index(opt); });
  if (failed > 0 && mpi_rank() == 0)
    spdlog::error("{} of {} runs failed (listed in {}/index.html); the others completed", failed,
                  total, opt.out_dir);
  return failed > 0 ? kExitSomeRuns : kExitOk;
}

}  // namespace realign
