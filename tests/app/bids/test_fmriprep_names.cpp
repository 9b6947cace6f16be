// The derivatives fMRIPrep's --derivatives option takes in place of its own head-motion
// correction, named as fMRIPrep states the names. fMRIPrep finds them with pybids queries
// (fmriprep/data/io_spec.json: the run's entities plus the query's) over names that
// niworkflows builds from its path patterns (niworkflows/data/nipreps.json,
// default_path_patterns) and parses with its entity patterns (same file). Those strings are
// held here as the two projects state them; the path patterns are turned into regular
// expressions as pybids' build_path reads them ({entity}, {entity<a|b>|default}, [optional]).
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <regex>
#include <string>

#include "realign/app/bids/bids_layout.hpp"
#include "realign/app/run/output_paths.hpp"

namespace {

using namespace realign;

// niworkflows 1.x, niworkflows/data/nipreps.json, default_path_patterns (the func entries).
const char* kImagePattern =
    "sub-{subject}[/ses-{session}]/{datatype<func>|func}/sub-{subject}[_ses-{session}][_hash-{"
    "hash}]_task-{task}[_acq-{acquisition}][_ce-{ceagent}][_rec-{reconstruction}][_dir-{"
    "direction}][_run-{run}][_echo-{echo}][_part-{part}][_space-{space}][_cohort-{cohort}][_res-{"
    "resolution}][_desc-{desc}]_{suffix<bold|cbv|sbref|boldref|boldmap|dseg>}{extension<.nii|.nii."
    "gz|.json>|.nii.gz}";
const char* kXfmPattern =
    "sub-{subject}[/ses-{session}]/{datatype<func>|func}/sub-{subject}[_ses-{session}][_hash-{"
    "hash}]_task-{task}[_acq-{acquisition}][_ce-{ceagent}][_rec-{reconstruction}][_dir-{"
    "direction}][_run-{run}][_hemi-{hemi<L|R>}]_from-{from}_to-{to}_mode-{mode<image|points>|"
    "image}[_desc-{desc}]_{suffix<xfm>|xfm}{extension<.txt|.h5>}";
const char* kMaskPattern =
    "sub-{subject}[/ses-{session}]/{datatype<func>|func}/sub-{subject}[_ses-{session}][_hash-{"
    "hash}]_task-{task}[_acq-{acquisition}][_ce-{ceagent}][_rec-{reconstruction}][_dir-{"
    "direction}][_run-{run}][_echo-{echo}][_part-{part}][_space-{space}][_cohort-{cohort}][_res-{"
    "resolution}]_desc-{desc}_{suffix<mask>|mask}{extension<.nii|.nii.gz|.json>|.nii.gz}";

// The same file's entity patterns, for the entities the queries below use.
const std::map<std::string, std::string> kEntities = {
    {"subject", R"([/\\]+sub-([a-zA-Z0-9+]+))"},
    {"session", R"([_/\\]+ses-([a-zA-Z0-9+]+))"},
    {"task", R"([_/\\]+task-([a-zA-Z0-9+]+))"},
    {"acquisition", R"([_/\\]+acq-([a-zA-Z0-9+]+))"},
    {"run", R"([_/\\]+run-(\d+))"},
    {"echo", R"([_/\\]+echo-([0-9]+))"},
    {"space", R"([_/\\]+space-([a-zA-Z0-9+]+))"},
    {"desc", R"([_/\\]+desc-([a-zA-Z0-9+]+))"},
    {"from", R"((?:^|_)from-([a-zA-Z0-9+]+).*xfm)"},
    {"to", R"((?:^|_)to-([a-zA-Z0-9+]+).*xfm)"},
    {"mode", R"((?:^|_)mode-(image|points).*xfm)"},
    {"suffix", R"([._]*([a-zA-Z0-9]*?)\.[^/\\]+$)"},
    {"extension", R"([._]*[a-zA-Z0-9]*?(\.[^/\\]+)$)"},
};

// fMRIPrep's queries (fmriprep/data/io_spec.json): "" for an entity that must be absent
// (null in the file). Current: its main branch (25.x, as 23.2); next: its development
// branch's ("rf: use space-orig for hmc").
using Query = std::map<std::string, std::string>;
const Query kHmcBoldref = {
    {"datatype", "func"}, {"space", ""}, {"desc", "hmc"}, {"suffix", "boldref"}};
const Query kHmcXfm = {{"datatype", "func"}, {"from", "orig"},  {"to", "boldref"},
                       {"mode", "image"},    {"suffix", "xfm"}, {"extension", ".txt"}};
const Query kNextHmcBoldref = {
    {"datatype", "func"}, {"space", "orig"}, {"desc", "hmc"}, {"suffix", "boldref"}};
const Query kNextHmcXfm = {{"datatype", "func"}, {"from", "orig"},  {"to", "run"},
                           {"mode", "image"},    {"suffix", "xfm"}, {"extension", ".txt"}};

// pybids' path pattern as a regular expression: {name} a label, {name<a|b>|d} one of the
// choices, [...] optional; a fixed value in `values` puts that value in its place.
std::string pattern_regex(const std::string& pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '[') {
      out += "(?:";
    } else if (c == ']') {
      out += ")?";
    } else if (c == '{') {
      const std::size_t end = pattern.find('}', i);
      std::string inner = pattern.substr(i + 1, end - i - 1);
      const std::size_t lt = inner.find('<');
      if (lt == std::string::npos) {
        out += "[a-zA-Z0-9+]+";
      } else {
        std::string choices = inner.substr(lt + 1, inner.find('>') - lt - 1);
        std::string escaped;
        for (char ch : choices) escaped += ch == '.' ? std::string("\\.") : std::string(1, ch);
        out += "(?:" + escaped + ")";
      }
      i = end;
    } else if (c == '.') {
      out += "\\.";
    } else {
      out += c;
    }
  }
  return out;
}

// The entities a name holds, parsed by the entity patterns (path relative to the dataset,
// with a leading slash as pybids sees it).
std::map<std::string, std::string> parse(const std::string& relative) {
  const std::string path = "/" + relative;
  std::map<std::string, std::string> found;
  for (const auto& [name, pattern] : kEntities) {
    std::smatch m;
    if (std::regex_search(path, m, std::regex(pattern))) found[name] = m[1];
  }
  found["datatype"] = relative.find("/func/") != std::string::npos ? "func" : "";
  return found;
}

// Whether pybids would return the file for the run's entities plus the query.
void expect_query_finds(const std::string& relative, const Query& query,
                        const std::map<std::string, std::string>& run_entities) {
  const auto got = parse(relative);
  for (const auto& [key, want] : query) {
    const auto at = got.find(key);
    if (want.empty())
      EXPECT_TRUE(at == got.end()) << relative << " has " << key << "-" << at->second;
    else
      EXPECT_TRUE(at != got.end() && at->second == want) << relative << ": " << key;
  }
  for (const auto& [key, want] : run_entities) {
    const auto at = got.find(key);
    EXPECT_TRUE(at != got.end() && at->second == want) << relative << ": " << key;
  }
  EXPECT_TRUE(got.find("echo") == got.end()) << relative << " names an echo";
}

BoldRun parsed(const std::string& relative) {
  BoldRun r;
  const std::string problem = parse_bold_run(relative, r);
  EXPECT_EQ(problem, "") << relative;
  return r;
}

std::string relative(const std::string& path) { return path.substr(std::string("/d/").size()); }

// The run's entities as pybids names them, from the source's name.
std::map<std::string, std::string> run_entities(const BoldRun& r) {
  std::map<std::string, std::string> e = {{"subject", r.entity("sub")}, {"task", r.entity("task")}};
  if (!r.entity("ses").empty()) e["session"] = r.entity("ses");
  if (!r.entity("run").empty()) e["run"] = r.entity("run");
  if (!r.entity("acq").empty()) e["acquisition"] = r.entity("acq");
  return e;
}

const char* kSources[] = {"sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_bold.nii.gz",
                          "sub-02/func/sub-02_task-nback_acq-mb_run-2_bold.nii",
                          "sub-03/func/sub-03_task-rest_echo-2_bold.nii.gz",
                          "sub-04/func/sub-04_task-rest_bold.nii.gz"};

TEST(FmriprepNames, HeadMotionReferenceAndTransformsAreFoundByFmriprepsQueries) {
  for (const char* source : kSources) {
    const BoldRun r = parsed(source);
    const OutputPaths p = output_paths(derivative_preproc_path("/d", r), OutputNaming::Bids);
    const std::regex image(pattern_regex(kImagePattern)), xfm(pattern_regex(kXfmPattern)),
        mask(pattern_regex(kMaskPattern));
    for (const std::string& f : {p.image, p.mean, p.hmc_ref, p.hmc_ref_json, p.image_json})
      EXPECT_TRUE(std::regex_match(relative(f), image)) << f;
    EXPECT_TRUE(std::regex_match(relative(p.itk), xfm)) << p.itk;
    EXPECT_TRUE(std::regex_match(relative(p.brain_mask), mask)) << p.brain_mask;
    expect_query_finds(relative(p.hmc_ref), kHmcBoldref, run_entities(r));
    expect_query_finds(relative(p.itk), kHmcXfm, run_entities(r));
    EXPECT_EQ(parse(relative(p.itk)).at("desc"), "hmc");
    EXPECT_EQ(parse(relative(p.brain_mask)).at("desc"), "brain");
    // What fMRIPrep must not mistake for its transforms: realign's own matrices.
    EXPECT_EQ(parse(relative(p.xfm)).count("from"), 0u) << p.xfm;
  }
}

TEST(FmriprepNames, TheDevelopmentBranchsNamesByAnOption) {
  for (const char* source : kSources) {
    const BoldRun r = parsed(source);
    const OutputPaths p = output_paths(derivative_preproc_path("/d", r), OutputNaming::BidsNext);
    EXPECT_TRUE(std::regex_match(relative(p.hmc_ref), std::regex(pattern_regex(kImagePattern))));
    EXPECT_TRUE(std::regex_match(relative(p.itk), std::regex(pattern_regex(kXfmPattern))));
    expect_query_finds(relative(p.hmc_ref), kNextHmcBoldref, run_entities(r));
    expect_query_finds(relative(p.itk), kNextHmcXfm, run_entities(r));
    // The current names do not answer the next queries, nor the reverse.
    const OutputPaths now = output_paths(derivative_preproc_path("/d", r), OutputNaming::Bids);
    EXPECT_NE(parse(relative(now.itk)).at("to"), "run");
    EXPECT_EQ(parse(relative(p.itk)).at("to"), "run");
  }
}

// A multi-echo run: one set of head-motion derivatives without the echo entity, one
// preprocessed series per echo with it.
TEST(FmriprepNames, EchoesShareTheHeadMotionDerivatives) {
  const BoldRun e1 = parsed("sub-05/func/sub-05_task-rest_run-1_echo-1_bold.nii.gz");
  const BoldRun e2 = parsed("sub-05/func/sub-05_task-rest_run-1_echo-2_bold.nii.gz");
  const std::vector<BoldRun> merged = merge_echoes({e2, e1});
  ASSERT_EQ(merged.size(), 1u);
  ASSERT_EQ(merged[0].echoes.size(), 2u);
  EXPECT_EQ(merged[0].echoes[0].entity("echo"), "1");
  EXPECT_EQ(merged[0].derivative_prefix(), "sub-05_task-rest_run-1");
  const OutputPaths p = output_paths(derivative_preproc_path("/d", merged[0]), OutputNaming::Bids);
  expect_query_finds(relative(p.itk), kHmcXfm, run_entities(merged[0]));
  expect_query_finds(relative(p.hmc_ref), kHmcBoldref, run_entities(merged[0]));
  const std::string echo2 = relative(derivative_echo_path("/d", e2));
  EXPECT_EQ(echo2, "sub-05/func/sub-05_task-rest_run-1_echo-2_desc-preproc_bold.nii.gz");
  EXPECT_TRUE(std::regex_match(echo2, std::regex(pattern_regex(kImagePattern))));
  EXPECT_EQ(parse(echo2).at("echo"), "2");
}

}  // namespace
