#include "realign/app/bids/bids_layout.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "realign/io/errors.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

// The entities a raw BOLD file may carry, in the order BIDS requires them.
const std::vector<std::string> kBoldEntities = {"sub", "ses", "task", "acq",  "ce",   "rec",
                                                "dir", "run", "echo", "part", "chunk"};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool starts_with(const std::string& s, const std::string& head) {
  return s.compare(0, head.size(), head) == 0;
}

bool alphanumeric(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
}

bool digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

// "sub-01_task-rest" -> {{"sub","01"},{"task","rest"}}; "" when a part is not key-label.
std::string parse_entities(const std::string& text,
                           std::vector<std::pair<std::string, std::string>>& out) {
  for (const std::string& part : split(text, '_')) {
    const std::size_t dash = part.find('-');
    if (dash == std::string::npos || part.find('-', dash + 1) != std::string::npos)
      return "'" + part + "' is not an entity (key-label)";
    out.emplace_back(part.substr(0, dash), part.substr(dash + 1));
  }
  return {};
}

// One entity's label by its key's rules.
std::string check_label(const std::string& key, const std::string& label) {
  if (!alphanumeric(label)) return key + " label '" + label + "' is not alphanumeric";
  if ((key == "run" || key == "echo" || key == "chunk") && !digits(label))
    return key + " '" + label + "' is not a number";
  if (key == "part" && label != "mag" && label != "phase" && label != "real" && label != "imag")
    return "part '" + label + "' is not mag, phase, real or imag";
  return {};
}

// Known keys, each once, in BIDS order, with valid labels; sub first and task present.
std::string check_entities(const std::vector<std::pair<std::string, std::string>>& entities) {
  std::size_t last = 0;
  bool has_task = false;
  for (std::size_t i = 0; i < entities.size(); ++i) {
    const auto& [key, label] = entities[i];
    const auto at = std::find(kBoldEntities.begin(), kBoldEntities.end(), key);
    if (at == kBoldEntities.end()) return "unknown entity '" + key + "' for a BOLD series";
    const std::size_t rank = static_cast<std::size_t>(at - kBoldEntities.begin());
    if (i == 0 && key != "sub") return "does not start with sub-<label>";
    if (i > 0 && rank <= last) return "entity '" + key + "' out of BIDS order";
    last = rank;
    has_task = has_task || key == "task";
    const std::string problem = check_label(key, label);
    if (!problem.empty()) return problem;
  }
  return has_task ? std::string() : "has no task entity";
}

// The name's subject and session against "sub-X[/ses-Y]/func".
std::string check_directories(const std::vector<std::string>& dirs, const BoldRun& run) {
  const bool with_session = dirs.size() == 3;
  if ((dirs.size() != 2 && !with_session) || dirs.back() != "func")
    return "not in sub-<label>/[ses-<label>/]func";
  if (dirs[0] != "sub-" + run.entity("sub")) return "subject differs from its directory " + dirs[0];
  const std::string ses = run.entity("ses");
  if (with_session && dirs[1] != "ses-" + ses)
    return "session differs from its directory " + dirs[1];
  if (!with_session && !ses.empty()) return "has a session but is not in a ses- directory";
  return {};
}

std::string sidecar_entities_text(const std::string& name) {
  const std::string stem = name.substr(0, name.size() - std::string("bold.json").size());
  return stem.empty() ? stem : stem.substr(0, stem.size() - 1);  // without the last '_'
}

// Whether a sidecar's name holds only entities the run has with the same labels.
bool sidecar_applies(const BoldRun& run, const std::string& name) {
  if (name != "bold.json" && !ends_with(name, "_bold.json")) return false;
  const std::string text = sidecar_entities_text(name);
  if (text.empty()) return true;
  std::vector<std::pair<std::string, std::string>> entities;
  if (!parse_entities(text, entities).empty()) return false;
  return std::all_of(entities.begin(), entities.end(),
                     [&](const auto& e) { return run.entity(e.first) == e.second; });
}

// The directories a run's sidecars may lie in, from the root down.
std::vector<std::string> sidecar_levels(const BoldRun& run) {
  std::vector<std::string> levels = {""};
  std::string dir;
  for (const std::string& part : split(run.relative_dir, '/')) {
    dir += (dir.empty() ? "" : "/") + part;
    levels.push_back(dir);
  }
  return levels;
}

void list_func_dir(const fs::path& root, const fs::path& func, BidsScan& scan) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root / func, ec))
    if (!e.is_directory(ec)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    const std::string name = f.filename().string();
    if (!is_bold_name(name)) continue;
    BoldRun run;
    const std::string problem = parse_bold_run((func / name).generic_string(), run);
    if (!problem.empty()) {
      scan.skipped.push_back(f.string() + ": " + problem);
      continue;
    }
    run.path = f.string();
    scan.runs.push_back(std::move(run));
  }
}

std::vector<fs::path> subdirs(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec) && starts_with(e.path().filename().string(), prefix))
      out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string BoldRun::entity(const std::string& key) const {
  for (const auto& [k, v] : entities)
    if (k == key) return v;
  return {};
}

std::string BoldRun::prefix() const {
  const std::size_t at = name.rfind("_bold.nii");
  return name.substr(0, at);
}

bool is_bold_name(const std::string& name) {
  return ends_with(name, "_bold.nii") || ends_with(name, "_bold.nii.gz");
}

std::string parse_bold_run(const std::string& relative_path, BoldRun& run) {
  const fs::path p(relative_path);
  run.name = p.filename().string();
  run.relative_dir = p.parent_path().generic_string();
  run.entities.clear();
  if (!is_bold_name(run.name)) return "not a _bold.nii or _bold.nii.gz file";
  std::string problem = parse_entities(run.prefix(), run.entities);
  if (problem.empty()) problem = check_entities(run.entities);
  if (problem.empty()) problem = check_directories(split(run.relative_dir, '/'), run);
  return problem;
}

std::string strip_label_prefix(const std::string& label, const std::string& prefix) {
  return starts_with(label, prefix) ? label.substr(prefix.size()) : label;
}

bool matches(const BoldRun& run, const BidsFilter& filter) {
  const auto keeps = [&](const std::vector<std::string>& labels, const std::string& key) {
    if (labels.empty()) return true;
    const std::string have = run.entity(key);
    return std::any_of(labels.begin(), labels.end(), [&](const std::string& l) {
      return strip_label_prefix(l, key + "-") == have;
    });
  };
  return keeps(filter.participants, "sub") && keeps(filter.sessions, "ses") &&
         keeps(filter.tasks, "task");
}

std::string BidsGroup::label() const {
  return "sub-" + subject + (session.empty() ? "" : " ses-" + session);
}

std::vector<BidsGroup> group_runs(std::vector<BoldRun> runs) {
  std::map<std::pair<std::string, std::string>, BidsGroup> groups;
  std::sort(runs.begin(), runs.end(),
            [](const BoldRun& a, const BoldRun& b) { return a.name < b.name; });
  for (BoldRun& r : runs) {
    BidsGroup& g = groups[{r.entity("sub"), r.entity("ses")}];
    g.subject = r.entity("sub");
    g.session = r.entity("ses");
    g.runs.push_back(std::move(r));
  }
  std::vector<BidsGroup> out;
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  return out;
}

BidsScan scan_bids(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw InputError(root, "is not a directory (a BIDS dataset)");
  BidsScan scan;
  for (const fs::path& sub : subdirs(root, "sub-")) {
    list_func_dir(root, sub / "func", scan);
    for (const fs::path& ses : subdirs(fs::path(root) / sub, "ses-"))
      list_func_dir(root, sub / ses / "func", scan);
  }
  std::sort(scan.runs.begin(), scan.runs.end(),
            [](const BoldRun& a, const BoldRun& b) { return a.path < b.path; });
  return scan;
}

std::vector<std::string> applicable_sidecars(const BoldRun& run,
                                             const std::vector<std::string>& sidecars) {
  const std::vector<std::string> levels = sidecar_levels(run);
  std::vector<std::pair<std::pair<std::size_t, std::size_t>, std::string>> ranked;
  for (const std::string& s : sidecars) {
    const fs::path p(s);
    const auto level = std::find(levels.begin(), levels.end(), p.parent_path().generic_string());
    const std::string name = p.filename().string();
    if (level == levels.end() || !sidecar_applies(run, name)) continue;
    const std::size_t entities = split(sidecar_entities_text(name), '_').size();
    ranked.push_back({{static_cast<std::size_t>(level - levels.begin()), entities}, s});
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> out;
  for (const auto& r : ranked) out.push_back(r.second);
  return out;
}

SidecarNumber read_sidecar_number(const std::string& root, const BoldRun& run,
                                  const std::string& key) {
  std::vector<std::string> candidates;
  std::error_code ec;
  for (const std::string& level : sidecar_levels(run))
    for (const auto& e : fs::directory_iterator(fs::path(root) / level, ec))
      if (ends_with(e.path().filename().string(), "bold.json"))
        candidates.push_back((fs::path(level) / e.path().filename()).generic_string());
  SidecarNumber out;
  for (const std::string& rel : applicable_sidecars(run, candidates)) {
    const std::string path = (fs::path(root) / rel).string();
    std::ifstream in(path);
    const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      out.problem = path + ": not valid JSON; ignored";
      continue;
    }
    if (!j.contains(key)) continue;
    const nlohmann::json& v = j[key];
    if (!v.is_number() || v.get<double>() <= 0) {
      out.problem = path + ": " + key + " is not a positive number; ignored";
      continue;
    }
    out.value = v.get<double>();
    out.source = path;
  }
  return out;
}

std::string BoldRun::derivative_prefix() const {
  std::string out;
  for (const auto& [key, label] : entities)
    if (key != "echo") out += (out.empty() ? "" : "_") + key + "-" + label;
  return out;
}

std::vector<BoldRun> merge_echoes(std::vector<BoldRun> runs) {
  // One key per run: its directory and its entities but echo.
  std::map<std::pair<std::string, std::string>, std::vector<BoldRun>> by_run;
  std::vector<std::pair<std::string, std::string>> order;
  for (BoldRun& r : runs) {
    const auto key = std::make_pair(r.relative_dir, r.derivative_prefix());
    if (by_run.find(key) == by_run.end()) order.push_back(key);
    by_run[key].push_back(std::move(r));
  }
  std::vector<BoldRun> out;
  for (const auto& key : order) {
    std::vector<BoldRun>& echoes = by_run[key];
    if (echoes.size() == 1) {
      out.push_back(std::move(echoes.front()));
      continue;
    }
    std::sort(echoes.begin(), echoes.end(), [](const BoldRun& a, const BoldRun& b) {
      return std::stol("0" + a.entity("echo")) < std::stol("0" + b.entity("echo"));
    });
    BoldRun run = echoes.front();
    run.echoes = std::move(echoes);
    out.push_back(std::move(run));
  }
  return out;
}

void choose_estimation_echo(BoldRun& run) {
  if (run.echoes.empty()) return;
  std::vector<BoldRun> echoes = std::move(run.echoes);
  std::size_t best = 0;
  for (std::size_t k = 1; k < echoes.size(); ++k)
    if (echoes[k].echo_time_s > 0 &&
        (echoes[best].echo_time_s <= 0 || echoes[k].echo_time_s < echoes[best].echo_time_s))
      best = k;
  const std::string sbref = run.sbref;
  run = echoes[best];
  run.echoes = std::move(echoes);
  run.sbref = sbref;
}

std::string find_sbref(const std::string& root, const BoldRun& run) {
  const BoldRun& first = run.echoes.empty() ? run : run.echoes.front();
  std::error_code ec;
  for (const char* ext : {".nii.gz", ".nii"}) {
    const fs::path p = fs::path(root) / first.relative_dir / (first.prefix() + "_sbref" + ext);
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return {};
}

std::string source_uri(const BoldRun& run) {
  return "bids:raw:" + (fs::path(run.relative_dir) / run.name).generic_string();
}

std::string derivative_echo_path(const std::string& out_dir, const BoldRun& echo) {
  return (fs::path(out_dir) / echo.relative_dir / (echo.prefix() + "_desc-preproc_bold.nii.gz"))
      .string();
}

std::string derivative_preproc_path(const std::string& out_dir, const BoldRun& run) {
  return (fs::path(out_dir) / run.relative_dir /
          (run.derivative_prefix() + "_desc-preproc_bold.nii.gz"))
      .string();
}

std::string derivative_qc_path(const std::string& out_dir, const BoldRun& run) {
  return (fs::path(out_dir) / run.relative_dir /
          (run.derivative_prefix() + "_desc-realign_qc.json"))
      .string();
}

}  // namespace realign
