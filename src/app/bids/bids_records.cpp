#include "realign/app/bids/bids_records.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "realign/app/platform/output_set.hpp"
#include "realign/io/errors.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kBidsVersion = "1.8.0";

json motion_json(const RunMotionSummary& m) {
  return {{"Frames", m.frames},
          {"RepetitionTime", m.tr_s},
          {"MeanFramewiseDisplacement", m.mean_fd_mm},
          {"MaxFramewiseDisplacement", m.max_fd_mm},
          {"FramesAboveFDThreshold", m.frames_over},
          {"FDThreshold", m.fd_threshold_mm},
          {"MaxDisplacement", m.max_displacement_mm},
          {"LargestVoxelSide", m.voxel_mm}};
}

RunMotionSummary motion_from(const json& j) {
  RunMotionSummary m;
  m.frames = j.at("Frames").get<int>();
  m.tr_s = j.at("RepetitionTime").get<double>();
  m.mean_fd_mm = j.at("MeanFramewiseDisplacement").get<double>();
  m.max_fd_mm = j.at("MaxFramewiseDisplacement").get<double>();
  m.frames_over = j.at("FramesAboveFDThreshold").get<int>();
  m.fd_threshold_mm = j.at("FDThreshold").get<double>();
  m.max_displacement_mm = j.at("MaxDisplacement").get<double>();
  m.voxel_mm = j.at("LargestVoxelSide").get<double>();
  return m;
}

std::string relative_to(const std::string& path, const std::string& dir) {
  return fs::path(path).lexically_relative(dir).generic_string();
}

json run_json(const BoldRun& r) {
  json entities = json::array();
  for (const auto& [k, v] : r.entities) entities.push_back({k, v});
  json echoes = json::array();
  for (const BoldRun& e : r.echoes) echoes.push_back(run_json(e));
  return {{"path", r.path},       {"relative_dir", r.relative_dir},
          {"name", r.name},       {"entities", entities},
          {"tr", r.sidecar_tr_s}, {"te", r.echo_time_s},
          {"echoes", echoes},     {"sbref", r.sbref}};
}

BoldRun run_from(const json& j) {
  BoldRun r;
  r.path = j.at("path").get<std::string>();
  r.relative_dir = j.at("relative_dir").get<std::string>();
  r.name = j.at("name").get<std::string>();
  for (const json& e : j.at("entities"))
    r.entities.emplace_back(e.at(0).get<std::string>(), e.at(1).get<std::string>());
  r.sidecar_tr_s = j.at("tr").get<double>();
  r.echo_time_s = j.at("te").get<double>();
  for (const json& e : j.at("echoes")) r.echoes.push_back(run_from(e));
  r.sbref = j.at("sbref").get<std::string>();
  return r;
}

void collect_func_dir(const fs::path& func, std::vector<IndexRun>& out) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(func, ec)) {
    const std::string name = e.path().filename().string();
    const std::string tail = "_desc-realign_qc.json";
    if (name.size() <= tail.size() || name.compare(name.size() - tail.size(), tail.size(), tail))
      continue;
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    try {
      out.push_back(index_run_from_record(text.str(), e.path().string()));
    } catch (const std::exception& err) {
      spdlog::warn("{}; left out of the index", err.what());
    }
  }
}

std::vector<fs::path> dirs_starting(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec) && e.path().filename().string().rfind(prefix, 0) == 0)
      out.push_back(e.path());
  return out;
}

}  // namespace

std::string dataset_description(const std::string& source_dir, const std::string& command_line) {
  std::error_code ec;
  const fs::path source = fs::absolute(source_dir, ec).lexically_normal();
  json generated = {{"Name", "realign"},
                    {"Version", REALIGN_VERSION},
                    {"CodeURL", REALIGN_CODE_URL},
                    {"Description", "rigid-body head-motion correction (realign bids)"},
                    {"CommandLine", command_line}};
  json j = {{"Name", "realign: head-motion correction of " + source.filename().string()},
            {"BIDSVersion", kBidsVersion},
            {"DatasetType", "derivative"},
            {"GeneratedBy", json::array({generated})},
            {"SourceDatasets", json::array({{{"URL", "file://" + source.string()}}})},
            // The dataset the sidecars' Sources (bids:raw:...) name.
            {"DatasetLinks", {{"raw", "file://" + source.string()}}}};
  return j.dump(2) + "\n";
}

std::string settings_fingerprint(const RunSettings& s, const BidsOptions& opt) {
  const EstimateOptions& e = s.estimate;
  json j;
  j["reference"] = s.reference;
  j["fwhm_mm"] = e.fwhm_mm;
  j["sep_mm"] = e.sep_mm;
  j["quality"] = e.quality;
  j["est_degree"] = e.degree;
  j["intensity"] = static_cast<int>(e.intensity);
  j["robust"] = e.robust;
  j["max_iter"] = e.max_iter;
  j["tol"] = e.tol;
  j["dummy_scans"] = s.dummy_scans;
  j["reslice"] = s.reslice;
  j["reslice_degree"] = s.reslice_degree;
  j["mask"] = s.mask;
  j["datatype"] = s.datatype == OutputType::Input ? "input" : "float32";
  j["fd_radius_mm"] = s.fd_radius_mm;
  j["fd_threshold_mm"] = s.fd_threshold_mm;
  j["report"] = s.report;
  j["par"] = s.write_par;
  j["fmriprep_names"] = opt.fmriprep_names;
  // Options added later enter only when given, so that records made before them, and runs
  // without them, keep one fingerprint.
  if (s.fd_filter.active()) j["fd_filter"] = s.fd_filter.text();
  if (s.good_fd_mm != kDefaultGoodFdMm) j["good_fd_mm"] = s.good_fd_mm;
  return j.dump();
}

std::string why_not_complete(const BoldRun& run, const std::string& out_dir,
                             const std::string& settings, const std::vector<std::string>& group) {
  const std::string path = derivative_qc_path(out_dir, run);
  std::ifstream in(path);
  if (!in) return "no record";
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "its record is not valid JSON";
  if (j.value("Failed", true)) return "it failed";
  if (j.value("Version", std::string()) != REALIGN_VERSION)
    return "made by realign " + j.value("Version", std::string("(unknown)"));
  if (j.value("Settings", json()) != json::parse(settings)) return "made with other options";
  if (j.value("Group", json()) != json(group)) return "made with other runs in its space";
  std::error_code ec;
  for (const json& o : j.value("Outputs", json::array()))
    if (!fs::exists(fs::path(out_dir) / o.get<std::string>(), ec))
      return o.get<std::string>() + " is missing";
  return {};
}

std::string outcome_record(const RunOutcome& o, const std::string& out_dir) {
  json j = {{"Name", o.run.derivative_prefix()},
            {"Source", o.run.path},
            {"Subject", o.run.entity("sub")},
            {"Session", o.run.entity("ses")},
            {"Task", o.run.entity("task")},
            {"Run", o.run.entity("run")},
            {"Failed", o.failed}};
  if (o.failed) {
    j["Error"] = o.error;
    j["ExitStatus"] = o.status;
  } else {
    j["Motion"] = motion_json(o.motion);
    if (!o.report.empty()) j["Report"] = relative_to(o.report, out_dir);
    j["Version"] = REALIGN_VERSION;
    j["Settings"] = json::parse(o.settings);
    j["Group"] = o.group;
    json outputs = json::array();
    for (const std::string& f : o.outputs) outputs.push_back(relative_to(f, out_dir));
    j["Outputs"] = outputs;
  }
  return j.dump(2) + "\n";
}

IndexRun index_run_from_record(const std::string& record_json, const std::string& path) {
  const json j = json::parse(record_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw InputError(path, "not a realign run record");
  try {
    IndexRun r;
    r.name = j.at("Name").get<std::string>();
    r.subject = j.at("Subject").get<std::string>();
    r.session = j.at("Session").get<std::string>();
    r.task = j.at("Task").get<std::string>();
    r.run = j.at("Run").get<std::string>();
    r.failed = j.at("Failed").get<bool>();
    if (r.failed) r.error = j.at("Error").get<std::string>();
    if (!r.failed) r.motion = motion_from(j.at("Motion"));
    if (j.contains("Report")) r.report_href = j["Report"].get<std::string>();
    return r;
  } catch (const json::exception& e) {
    throw InputError(path, std::string("not a realign run record: ") + e.what());
  }
}

std::vector<IndexRun> collect_index_runs(const std::string& out_dir) {
  std::vector<IndexRun> runs;
  for (const fs::path& sub : dirs_starting(out_dir, "sub-")) {
    collect_func_dir(sub / "func", runs);
    for (const fs::path& ses : dirs_starting(sub, "ses-")) collect_func_dir(ses / "func", runs);
  }
  std::sort(runs.begin(), runs.end(),
            [](const IndexRun& a, const IndexRun& b) { return a.name < b.name; });
  return runs;
}

void write_text_atomically(const std::string& path, const std::string& text) {
  OutputSet outs;
  const std::string tmp = outs.temp_for(path);
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (f.fail()) throw OutputError(path, "cannot write");
  outs.commit();
}

std::string groups_to_text(const std::vector<BidsGroup>& groups) {
  json j = json::array();
  for (const BidsGroup& g : groups) {
    json runs = json::array();
    for (const BoldRun& r : g.runs) runs.push_back(run_json(r));
    j.push_back({{"subject", g.subject}, {"session", g.session}, {"runs", runs}});
  }
  return j.dump();
}

std::vector<BidsGroup> groups_from_text(const std::string& text) {
  std::vector<BidsGroup> groups;
  for (const json& g : json::parse(text)) {
    BidsGroup group;
    group.subject = g.at("subject").get<std::string>();
    group.session = g.at("session").get<std::string>();
    for (const json& r : g.at("runs")) group.runs.push_back(run_from(r));
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace realign
