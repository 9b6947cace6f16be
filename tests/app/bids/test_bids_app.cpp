// `realign bids` end to end, in process, on a small BIDS tree of phantoms: two subjects,
// sessions, several tasks and runs, a truncated run, a run without sidecar, a sidecar
// whose TR differs from the header's. Checks discovery with filters, the derivative names,
// dataset_description.json, the confounds as nilearn reads them, the TR, the index and the
// exit status.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "phantom.hpp"
#include "realign/app/bids/bids_app.hpp"
#include "realign/app/run/pipeline.hpp"
#include "realign/core/metrics.hpp"
#include "realign/core/rigid.hpp"
#include "realign/io/errors.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/io/nifti_header.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;
namespace fs = std::filesystem;
using realign::testing::lines_of;
using realign::testing::slurp;
using realign::testing::split_tabs;
using realign::testing::write_file;

// A phantom of 8 frames on a 24x24x12 grid with header TR 2 s.
void write_run(const std::string& path, unsigned seed) {
  PhantomSpec spec;
  spec.dim = {24, 24, 12};
  spec.frames = 8;
  spec.tr_s = 2.0;
  spec.seed = seed;
  spec.max_trans_mm = 1.0;
  spec.max_rot_deg = 1.0;
  fs::create_directories(fs::path(path).parent_path());
  write_phantom(make_phantom(spec), path, path + ".truth", "int16");
  fs::remove(path + ".truth");
}

// The dataset, once per process:
//   sub-01/ses-1: task-rest run-1 and run-2 (TR 2.5 s from the root's task-rest sidecar,
//                 the header says 2 s), task-nback (its own sidecar: 2 s)
//   sub-01/ses-2: task-rest (TR 2.5 s inherited)
//   sub-02:       task-rest (2.5 s), task-motor (no sidecar at all: the header's 2 s),
//                 task-nback truncated (broken), and files that are not BOLD series
struct Dataset {
  std::string root, bids;
  Dataset() {
    root = realign::testing::temp_dir("bids");
    bids = root + "/ds";
    const std::string s1 = bids + "/sub-01/ses-1/func/sub-01_ses-1_task-";
    write_run(s1 + "rest_run-1_bold.nii.gz", 1);
    write_run(s1 + "rest_run-2_bold.nii", 2);
    write_run(s1 + "nback_bold.nii.gz", 3);
    write_file(s1 + "nback_bold.json", R"({"RepetitionTime": 2.0, "TaskName": "nback"})");
    write_run(bids + "/sub-01/ses-2/func/sub-01_ses-2_task-rest_bold.nii.gz", 4);
    write_run(bids + "/sub-02/func/sub-02_task-rest_bold.nii.gz", 5);
    write_run(bids + "/sub-02/func/sub-02_task-motor_bold.nii.gz", 6);
    const std::string good = slurp(bids + "/sub-02/func/sub-02_task-motor_bold.nii.gz");
    write_file(bids + "/sub-02/func/sub-02_task-nback_bold.nii.gz",
               good.substr(0, good.size() / 2));
    write_file(bids + "/task-rest_bold.json", R"({"RepetitionTime": 2.5})");
    write_file(bids + "/dataset_description.json", R"({"Name": "tiny", "BIDSVersion": "1.8.0"})");
    write_file(bids + "/sub-02/func/sub-02_task-rest_events.tsv", "onset\tduration\n");
    write_run(bids + "/sub-02/func/sub-02_task-rest_sbref.nii.gz", 7);
    write_file(bids + "/sub-02/func/sub-02_task-rest_bold_notes.txt", "not a series\n");
  }
};

const Dataset& dataset() {
  static const Dataset d;
  return d;
}

BidsOptions options(const std::string& out) {
  BidsOptions o;
  o.bids_dir = dataset().bids;
  o.out_dir = out;
  o.command_line = "realign bids ds out";
  return o;
}

// What every run of these tests is told: the defaults, on one thread.
RunSettings one_thread() {
  RunSettings s;
  s.threads = 1;
  return s;
}

TEST(BidsApp, FiltersSelectSubjectsSessionsAndTasks) {
  BidsOptions o = options(dataset().root + "/unused");
  EXPECT_EQ(select_groups(o).size(), 3u);
  o.filter.participants = {"sub-01"};
  o.filter.sessions = {"1"};
  o.filter.tasks = {"rest"};
  const std::vector<BidsGroup> g = select_groups(o);
  ASSERT_EQ(g.size(), 1u);
  ASSERT_EQ(g[0].runs.size(), 2u);
  EXPECT_EQ(g[0].runs[0].name, "sub-01_ses-1_task-rest_run-1_bold.nii.gz");
  EXPECT_DOUBLE_EQ(g[0].runs[0].sidecar_tr_s, 2.5);  // from the root's task-rest_bold.json
  o.filter = {{"02"}, {}, {}};
  const std::vector<BidsGroup> sub2 = select_groups(o);
  ASSERT_EQ(sub2.size(), 1u);
  EXPECT_EQ(sub2[0].runs.size(), 3u);  // motor, nback (broken), rest: not the sbref
  EXPECT_DOUBLE_EQ(sub2[0].runs[0].sidecar_tr_s, 0.0);  // motor: no sidecar
  o.filter = {{"03"}, {}, {}};
  EXPECT_THROW(select_groups(o), InputError);
  o.filter = {};
  o.group_index = 1;
  const std::vector<BidsGroup> one = select_groups(o);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].label(), "sub-01 ses-2");
  o.group_index = 3;
  EXPECT_THROW(select_groups(o), InputError);
}

TEST(BidsApp, WritesADerivativeDatasetAndListsTheFailedRun) {
  const std::string out = dataset().root + "/derivatives/realign";
  const BidsOptions o = options(out);
  EXPECT_EQ(run_bids(one_thread(), o), kExitSomeRuns);

  const auto desc = nlohmann::json::parse(slurp(out + "/dataset_description.json"));
  EXPECT_EQ(desc.at("DatasetType"), "derivative");
  EXPECT_FALSE(desc.at("BIDSVersion").get<std::string>().empty());
  EXPECT_EQ(desc.at("GeneratedBy").at(0).at("Name"), "realign");
  EXPECT_EQ(desc.at("GeneratedBy").at(0).at("Version"), REALIGN_VERSION);
  EXPECT_EQ(desc.at("GeneratedBy").at(0).at("CommandLine"), "realign bids ds out");
  EXPECT_FALSE(desc.at("GeneratedBy").at(0).at("CodeURL").get<std::string>().empty());
  EXPECT_EQ(desc.at("SourceDatasets").at(0).at("URL"), desc.at("DatasetLinks").at("raw"));

  const std::vector<std::string> good = {"sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1",
                                         "sub-01/ses-1/func/sub-01_ses-1_task-rest_run-2",
                                         "sub-01/ses-1/func/sub-01_ses-1_task-nback",
                                         "sub-01/ses-2/func/sub-01_ses-2_task-rest",
                                         "sub-02/func/sub-02_task-rest",
                                         "sub-02/func/sub-02_task-motor"};
  for (const std::string& g : good)
    for (const char* tail :
         {"_desc-preproc_bold.nii.gz", "_desc-preproc_bold.json", "_boldref.nii.gz",
          "_desc-confounds_timeseries.tsv", "_desc-confounds_timeseries.json",
          "_desc-realign_xfm.txt", "_from-orig_to-boldref_mode-image_desc-hmc_xfm.txt",
          "_desc-hmc_boldref.nii.gz", "_desc-hmc_boldref.json", "_desc-brain_mask.nii.gz",
          "_desc-brain_mask.json", "_desc-rp_motion.txt", "_desc-realign_report.html",
          "_desc-realign_qc.json"})
      EXPECT_TRUE(fs::exists(out + "/" + g + tail)) << g + tail;
  // The broken run: its record, and nothing else.
  const std::string broken = out + "/sub-02/func/sub-02_task-nback";
  EXPECT_FALSE(fs::exists(broken + "_desc-preproc_bold.nii.gz"));
  const auto record = nlohmann::json::parse(slurp(broken + "_desc-realign_qc.json"));
  EXPECT_TRUE(record.at("Failed").get<bool>());
  EXPECT_EQ(record.at("ExitStatus"), kExitInput);
  const std::string error = record.at("Error");
  EXPECT_NE(error.find("sub-02_task-nback_bold.nii.gz"), std::string::npos);
  EXPECT_EQ(error.find('\n'), std::string::npos);
  // The sbref and the events were not taken for series.
  EXPECT_FALSE(fs::exists(out + "/sub-02/func/sub-02_task-rest_sbref_desc-preproc_bold.nii.gz"));

  const std::string index = slurp(out + "/index.html");
  EXPECT_NE(index.find(error.substr(0, 40)), std::string::npos);
  for (const std::string& g : good)
    EXPECT_NE(index.find("href=\"" + g + "_desc-realign_report.html\""), std::string::npos) << g;
  EXPECT_NE(index.find("6 runs realigned, 1 failed"), std::string::npos);
}

TEST(BidsApp, OutputsCarryTheSidecarTrAndNilearnReadsTheConfounds) {
  const std::string out = dataset().root + "/tr";
  BidsOptions o = options(out);
  o.filter.participants = {"02"};
  o.filter.tasks = {"rest", "motor"};
  ASSERT_EQ(run_bids(one_thread(), o), kExitOk);
  const std::string rest = out + "/sub-02/func/sub-02_task-rest";
  // The header said 2 s, the sidecar 2.5 s: the outputs carry the sidecar's.
  EXPECT_NEAR(read_nifti_header(rest + "_desc-preproc_bold.nii.gz").tr_s, 2.5, 1e-6);
  EXPECT_NEAR(read_nifti_header(rest + "_boldref.nii.gz").tr_s, 2.5, 1e-6);
  const auto sidecar = nlohmann::json::parse(slurp(rest + "_desc-confounds_timeseries.json"));
  EXPECT_DOUBLE_EQ(sidecar.at("RepetitionTime").get<double>(), 2.5);
  // No sidecar: the header's TR.
  const std::string motor = out + "/sub-02/func/sub-02_task-motor";
  EXPECT_NEAR(read_nifti_header(motor + "_desc-preproc_bold.nii.gz").tr_s, 2.0, 1e-6);

  // As pandas.read_csv(sep="\t") in load_confounds: a header row of names, one row per
  // frame, n/a for the undefined first FD, the columns its strategies ask for.
  const std::vector<std::string> rows = lines_of(slurp(rest + "_desc-confounds_timeseries.tsv"));
  ASSERT_EQ(rows.size(), 9u);
  const std::vector<std::string> head = split_tabs(rows[0]);
  for (const char* c :
       {"trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z", "trans_x_derivative1",
        "rot_z_derivative1_power2", "framewise_displacement", "std_dvars"})
    EXPECT_NE(std::find(head.begin(), head.end(), c), head.end()) << c;
  const auto fd = std::find(head.begin(), head.end(), "framewise_displacement") - head.begin();
  EXPECT_EQ(split_tabs(rows[1])[fd], "n/a");
  for (std::size_t r = 1; r < rows.size(); ++r) EXPECT_EQ(split_tabs(rows[r]).size(), head.size());
  EXPECT_GT(std::stod(split_tabs(rows[2])[fd]), 0.0);
}

TEST(BidsApp, IndexOnlyRebuildsFromTheRecords) {
  const std::string out = dataset().root + "/index-only";
  BidsOptions o = options(out);
  o.filter.participants = {"01"};
  o.filter.sessions = {"2"};
  ASSERT_EQ(run_bids(one_thread(), o), kExitOk);
  o.filter = {{"02"}, {}, {"motor"}};
  ASSERT_EQ(run_bids(one_thread(), o), kExitOk);
  // Each job's index holds every record found, its own and the earlier job's.
  std::string index = slurp(out + "/index.html");
  EXPECT_NE(index.find("2 runs realigned, 0 failed"), std::string::npos);
  fs::remove(out + "/index.html");
  o.index_only = true;
  ASSERT_EQ(run_bids(one_thread(), o), kExitOk);
  index = slurp(out + "/index.html");
  EXPECT_NE(index.find("sub-01_ses-2_task-rest"), std::string::npos);
  EXPECT_NE(index.find("sub-02_task-motor"), std::string::npos);
}

// A session's runs go into one space (run_subject): a phantom cut in two runs gives the
// second run the parameters of its frames in the whole phantom (relative to frame 1 of
// run 1), and its sidecar says so; a run whose header places it elsewhere (a tilted slab)
// is realigned in a space of its own, not refused.
TEST(BidsApp, RunsOfASessionShareOneSpaceAndAMovedSlabGetsItsOwn) {
  const std::string root = realign::testing::temp_dir("bids_space");
  fs::create_directories(root + "/ds/sub-01/func");
  const std::string func = root + "/ds/sub-01/func/sub-01_task-rest_run-";
  PhantomSpec spec;
  spec.dim = {40, 40, 20};
  spec.frames = 16;
  spec.seed = 11;
  const Phantom whole = make_phantom(spec);
  const std::size_t nv = whole.series.grid.voxels();
  for (int part = 0; part < 2; ++part) {
    Phantom p = whole;
    p.series.frames = 8;
    p.series.data.assign(whole.series.data.begin() + part * 8 * nv,
                         whole.series.data.begin() + (part + 1) * 8 * nv);
    p.truth.assign(whole.truth.begin() + part * 8, whole.truth.begin() + (part + 1) * 8);
    write_phantom(p, func + std::to_string(part + 1) + "_bold.nii.gz", root + "/truth.txt",
                  "int16");
  }
  write_phantom(whole, root + "/whole.nii", root + "/truth.txt", "int16");
  spec.oblique = true;
  spec.frames = 6;
  write_phantom(make_phantom(spec), func + "3_bold.nii.gz", root + "/truth.txt", "int16");
  fs::remove(root + "/truth.txt");

  BidsOptions o;
  o.bids_dir = root + "/ds";
  o.out_dir = root + "/out";
  RunSettings first = one_thread();
  first.reference = "first";
  first.reslice = false;
  ASSERT_EQ(run_bids(first, o), kExitOk);

  const std::string out = o.out_dir + "/sub-01/func/sub-01_task-rest_run-";
  const std::vector<RigidParams> rp2 = read_rp(out + "2_desc-rp_motion.txt");
  ASSERT_EQ(rp2.size(), 8u);
  RunOptions alone;  // the phantom realigned whole, as one run
  alone.input = root + "/whole.nii";
  alone.output = root + "/whole_out.nii";
  alone.reference = "first";
  alone.reslice = false;
  alone.threads = 1;
  const std::vector<RigidParams> all = run_realign(alone).record.rp;
  const std::vector<RigidParams> whole2(all.begin() + 8, all.end());
  const Displacement d =
      run_displacement_difference(rp2, whole2, whole.series.grid.centre_mm(), 50.0);
  EXPECT_LE(d.mean_mm, 0.005);
  EXPECT_GT(max_sphere_displacement(rigid_matrix(rp2[0]), whole.series.grid.centre_mm(), 50.0),
            0.1);  // starts at its offset from run 1, not at zero
  // The confounds, the report and the index describe each run's motion relative to its own
  // first frame, as fMRIPrep's: run 2's rows are the whole run's frames 9-16 re-based to
  // frame 9, its first row zero; the offset from run 1 is in the sidecar.
  const std::vector<std::string> rows = lines_of(slurp(out + "2_desc-confounds_timeseries.tsv"));
  ASSERT_EQ(rows.size(), 9u);
  const Mat4 first_inv = rigid_matrix(whole2[0]).inverse();
  std::vector<RigidParams> own, truth_own;
  for (std::size_t f = 0; f < 8; ++f) {
    const std::vector<std::string> c = split_tabs(rows[f + 1]);
    own.push_back({std::stod(c[0]), std::stod(c[1]), std::stod(c[2]), std::stod(c[3]),
                   std::stod(c[4]), std::stod(c[5])});
    truth_own.push_back(rigid_params(first_inv * rigid_matrix(whole2[f])));
  }
  for (int k = 0; k < 6; ++k) EXPECT_EQ(own[0][k], 0.0);
  EXPECT_LE(
      run_displacement_difference(own, truth_own, whole.series.grid.centre_mm(), 50.0).mean_mm,
      0.005);
  const auto side = nlohmann::json::parse(slurp(out + "2_desc-confounds_timeseries.json"));
  const auto offset = side.at("ParametersRelativeTo").at("OffsetFromFirstRun");
  EXPECT_NE(offset.at("Run").get<std::string>().find("run-1"), std::string::npos);
  EXPECT_NEAR(offset.at("trans_x").get<double>(), rp2[0][0], 1e-8);  // 10 digits and 9
  EXPECT_NEAR(offset.at("rot_z").get<double>(), rp2[0][5], 1e-10);
  const auto record = nlohmann::json::parse(slurp(out + "2_desc-realign_qc.json"));
  const double own_extent = record.at("Motion").at("MaxDisplacement").get<double>();
  double want = 0;
  for (const RigidParams& q : truth_own)
    want = std::max(want,
                    max_sphere_displacement(rigid_matrix(q), whole.series.grid.centre_mm(), 50.0));
  EXPECT_NEAR(own_extent, want, 0.02);
  // The tilted run: its own space, its own frame 1 (its sidecar names itself).
  const std::vector<RigidParams> rp3 = read_rp(out + "3_desc-rp_motion.txt");
  ASSERT_EQ(rp3.size(), 6u);
  for (int k = 0; k < 6; ++k) EXPECT_EQ(rp3[0][k], 0.0);
  const auto side3 = nlohmann::json::parse(slurp(out + "3_desc-confounds_timeseries.json"));
  EXPECT_NE(side3.at("ParametersRelativeTo").at("Run").get<std::string>().find("run-3"),
            std::string::npos);
}

}  // namespace
