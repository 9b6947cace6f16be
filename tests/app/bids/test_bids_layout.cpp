// BIDS names: which files are BOLD runs, their entities, filters and groups, sidecar
// inheritance, and the derivative names, checked against nilearn's documented rule for
// pairing a preprocessed image with its confounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>

#include "realign/app/bids/bids_layout.hpp"
#include "realign/app/run/output_paths.hpp"
#include "realign/io/errors.hpp"

namespace {

using namespace realign;

BoldRun parsed(const std::string& relative_path) {
  BoldRun r;
  const std::string problem = parse_bold_run(relative_path, r);
  EXPECT_EQ(problem, "") << relative_path;
  return r;
}

std::string problem_of(const std::string& relative_path) {
  BoldRun r;
  return parse_bold_run(relative_path, r);
}

TEST(BidsLayout, BoldNamesAreTheSeriesOnly) {
  EXPECT_TRUE(is_bold_name("sub-01_task-rest_bold.nii.gz"));
  EXPECT_TRUE(is_bold_name("sub-01_task-rest_bold.nii"));
  EXPECT_FALSE(is_bold_name("sub-01_task-rest_bold.json"));
  EXPECT_FALSE(is_bold_name("sub-01_task-rest_sbref.nii.gz"));
  EXPECT_FALSE(is_bold_name("sub-01_task-rest_events.tsv"));
  EXPECT_FALSE(is_bold_name("sub-01_task-rest_physio.tsv.gz"));
}

TEST(BidsLayout, EntitiesComeFromTheNameInOrder) {
  const BoldRun r =
      parsed("sub-01/ses-pre/func/sub-01_ses-pre_task-nback_acq-mb4_run-02_bold.nii.gz");
  ASSERT_EQ(r.entities.size(), 5u);
  EXPECT_EQ(r.entities[0], std::make_pair(std::string("sub"), std::string("01")));
  EXPECT_EQ(r.entities[3], std::make_pair(std::string("acq"), std::string("mb4")));
  EXPECT_EQ(r.entity("ses"), "pre");
  EXPECT_EQ(r.entity("run"), "02");
  EXPECT_EQ(r.entity("echo"), "");
  EXPECT_EQ(r.prefix(), "sub-01_ses-pre_task-nback_acq-mb4_run-02");
  EXPECT_EQ(r.relative_dir, "sub-01/ses-pre/func");
  EXPECT_EQ(parsed("sub-02/func/sub-02_task-rest_bold.nii").prefix(), "sub-02_task-rest");
}

TEST(BidsLayout, InvalidNamesSayWhy) {
  EXPECT_NE(problem_of("sub-01/func/sub-01_bold.nii.gz").find("no task"), std::string::npos);
  EXPECT_NE(problem_of("sub-01/func/sub-01_task-rest_foo-1_bold.nii.gz").find("unknown entity"),
            std::string::npos);
  EXPECT_NE(problem_of("sub-01/func/sub-01_run-1_task-rest_bold.nii.gz").find("order"),
            std::string::npos);
  EXPECT_NE(problem_of("sub-01/func/task-rest_sub-01_bold.nii.gz").find("sub-"), std::string::npos);
  EXPECT_NE(problem_of("sub-01/func/sub-01_task-rest_run-a_bold.nii.gz").find("not a number"),
            std::string::npos);
  EXPECT_NE(problem_of("sub-01/func/sub-01_task-re_st_bold.nii.gz").find("not an entity"),
            std::string::npos);
  EXPECT_NE(problem_of("sub-01/func/sub-02_task-rest_bold.nii.gz").find("subject differs"),
            std::string::npos);
  EXPECT_NE(problem_of("sub-01/ses-1/func/sub-01_ses-2_task-rest_bold.nii.gz").find("session"),
            std::string::npos);
  EXPECT_NE(problem_of("sub-01/func/sub-01_ses-2_task-rest_bold.nii.gz").find("ses- directory"),
            std::string::npos);
  EXPECT_NE(problem_of("sub-01/ses-1/func/sub-01_task-rest_bold.nii.gz").find("session"),
            std::string::npos);
  EXPECT_NE(problem_of("sub-01/anat/sub-01_task-rest_bold.nii.gz").find("func"), std::string::npos);
}

TEST(BidsLayout, LabelsMatchWithOrWithoutTheirPrefix) {
  const BoldRun r = parsed("sub-01/ses-2/func/sub-01_ses-2_task-rest_run-1_bold.nii.gz");
  EXPECT_EQ(strip_label_prefix("sub-01", "sub-"), "01");
  EXPECT_EQ(strip_label_prefix("01", "sub-"), "01");
  EXPECT_TRUE(matches(r, {}));
  EXPECT_TRUE(matches(r, {{"sub-01"}, {}, {}}));
  EXPECT_TRUE(matches(r, {{"03", "01"}, {"ses-2"}, {"rest"}}));
  EXPECT_TRUE(matches(r, {{}, {}, {"task-rest"}}));
  EXPECT_FALSE(matches(r, {{"02"}, {}, {}}));
  EXPECT_FALSE(matches(r, {{"01"}, {"1"}, {}}));
  EXPECT_FALSE(matches(r, {{}, {}, {"nback"}}));
  // A label is compared whole: "1" is not "01".
  EXPECT_FALSE(matches(r, {{"1"}, {}, {}}));
}

TEST(BidsLayout, GroupsAreSubjectThenSessionWithRunsInNameOrder) {
  std::vector<BoldRun> runs = {
      parsed("sub-02/func/sub-02_task-rest_bold.nii.gz"),
      parsed("sub-01/ses-2/func/sub-01_ses-2_task-rest_bold.nii.gz"),
      parsed("sub-01/ses-1/func/sub-01_ses-1_task-rest_run-2_bold.nii.gz"),
      parsed("sub-01/ses-1/func/sub-01_ses-1_task-nback_bold.nii.gz"),
      parsed("sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_bold.nii.gz")};
  const std::vector<BidsGroup> g = group_runs(runs);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].label(), "sub-01 ses-1");
  EXPECT_EQ(g[1].label(), "sub-01 ses-2");
  EXPECT_EQ(g[2].label(), "sub-02");
  ASSERT_EQ(g[0].runs.size(), 3u);
  EXPECT_EQ(g[0].runs[0].prefix(), "sub-01_ses-1_task-nback");
  EXPECT_EQ(g[0].runs[1].prefix(), "sub-01_ses-1_task-rest_run-1");
  EXPECT_EQ(g[0].runs[2].prefix(), "sub-01_ses-1_task-rest_run-2");
}

TEST(BidsLayout, SidecarsApplyByInheritanceLeastSpecificFirst) {
  const BoldRun r = parsed("sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_bold.nii.gz");
  const std::vector<std::string> all = {
      "sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_bold.json",
      "sub-01/ses-1/func/sub-01_ses-1_task-rest_run-2_bold.json",  // another run
      "task-rest_bold.json",
      "task-nback_bold.json",  // another task
      "sub-01/sub-01_task-rest_bold.json",
      "sub-01/ses-1/sub-01_ses-1_task-rest_bold.json",
      "sub-02/sub-02_task-rest_bold.json",                          // another subject's directory
      "sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_sbref.json",  // not a bold sidecar
      "bold.json"};
  const std::vector<std::string> want = {
      "bold.json", "task-rest_bold.json", "sub-01/sub-01_task-rest_bold.json",
      "sub-01/ses-1/sub-01_ses-1_task-rest_bold.json",
      "sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_bold.json"};
  EXPECT_EQ(applicable_sidecars(r, all), want);
}

TEST(BidsLayout, DerivativeNamesFollowFmriprep) {
  const BoldRun r = parsed("sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_bold.nii");
  const std::string preproc = derivative_preproc_path("/d", r);
  EXPECT_EQ(preproc, "/d/sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_desc-preproc_bold.nii.gz");
  const OutputPaths p = output_paths(preproc, OutputNaming::Bids);
  const std::string s = "/d/sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1";
  EXPECT_EQ(p.image, preproc);
  EXPECT_EQ(p.mean, s + "_boldref.nii.gz");
  EXPECT_EQ(p.tsv, s + "_desc-confounds_timeseries.tsv");
  EXPECT_EQ(p.json, s + "_desc-confounds_timeseries.json");
  EXPECT_EQ(p.xfm, s + "_desc-realign_xfm.txt");
  EXPECT_EQ(p.itk, s + "_from-orig_to-boldref_mode-image_desc-hmc_xfm.txt");
  EXPECT_EQ(p.hmc_ref, s + "_desc-hmc_boldref.nii.gz");
  EXPECT_EQ(p.brain_mask, s + "_desc-brain_mask.nii.gz");
  EXPECT_EQ(p.image_json, s + "_desc-preproc_bold.json");
  EXPECT_EQ(p.rp, s + "_desc-rp_motion.txt");
  EXPECT_EQ(p.par, s + "_desc-mcflirt_motion.par");
  EXPECT_EQ(p.plot, s + "_desc-motion_bold.svg");
  EXPECT_EQ(p.report, s + "_desc-realign_report.html");
  EXPECT_EQ(derivative_qc_path("/d", r), s + "_desc-realign_qc.json");
  EXPECT_THROW(output_paths("/d/out.nii.gz", OutputNaming::Bids), OutputError);
}

// nilearn's load_confounds, as its documentation and source describe the pairing: the
// image must match (_space-.*)?_desc-preproc_bold.nii.gz; its entities (the key-value parts
// of the name, in order) with desc set to "confounds" give candidates, every ordered subset
// that keeps desc, each + "_timeseries.tsv" or "_regressors.tsv"; exactly one must exist
// in the image's directory. Written here from that description.
std::vector<std::string> nilearn_candidates(const std::string& image_name) {
  std::vector<std::pair<std::string, std::string>> fields;
  const std::string stem = image_name.substr(0, image_name.rfind('_'));
  std::size_t start = 0;
  while (start <= stem.size()) {
    std::size_t end = stem.find('_', start);
    if (end == std::string::npos) end = stem.size();
    const std::string part = stem.substr(start, end - start);
    fields.emplace_back(part.substr(0, part.find('-')), part.substr(part.find('-') + 1));
    start = end + 1;
  }
  for (auto& f : fields)
    if (f.first == "desc") f.second = "confounds";
  std::vector<std::string> out;
  for (unsigned mask = 1; mask < (1u << fields.size()); ++mask) {
    std::string name;
    bool has_desc = false;
    for (std::size_t k = 0; k < fields.size(); ++k)
      if (mask & (1u << k)) {
        name += (name.empty() ? "" : "_") + fields[k].first + "-" + fields[k].second;
        has_desc = has_desc || fields[k].first == "desc";
      }
    if (!has_desc) continue;
    out.push_back(name + "_timeseries.tsv");
    out.push_back(name + "_regressors.tsv");
  }
  return out;
}

TEST(BidsLayout, NilearnFindsTheConfoundsOfThePreprocessedImage) {
  const std::regex image_rule("(_space-.*)?_desc-preproc_bold.nii.gz");
  for (const char* source : {"sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_bold.nii.gz",
                             "sub-02/func/sub-02_task-nback_acq-mb_echo-2_bold.nii",
                             "sub-03/func/sub-03_task-rest_bold.nii.gz"}) {
    const BoldRun r = parsed(source);
    const std::string preproc = derivative_preproc_path("/d", r);
    const std::string image = preproc.substr(preproc.rfind('/') + 1);
    EXPECT_TRUE(std::regex_search(image, image_rule)) << image;
    // What a run writes into that directory (every run of the source's directory alike).
    const OutputPaths p = output_paths(preproc, OutputNaming::Bids);
    std::set<std::string> written;
    for (const std::string& f : p.all()) written.insert(f.substr(f.rfind('/') + 1));
    std::vector<std::string> found;
    for (const std::string& c : nilearn_candidates(image))
      if (written.count(c)) found.push_back(c);
    ASSERT_EQ(found.size(), 1u) << image;
    EXPECT_EQ("/d/" + r.relative_dir + "/" + found[0], p.tsv);
    // nilearn reads the JSON beside it by replacing "tsv" with "json" in the path.
    std::string json = p.tsv;
    json.replace(json.rfind("tsv"), 3, "json");
    EXPECT_EQ(json, p.json);
  }
}

}  // namespace
