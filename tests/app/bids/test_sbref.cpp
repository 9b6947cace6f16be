// --ref sbref in `realign bids`: the run's single-band reference is the reference when it is
// one volume on the run's grid; otherwise a warning, and the default reference. (How
// accurate it is against the default: scripts/sbref-accuracy.sh, docs/accuracy.md.)
#include <gtest/gtest.h>

#include <filesystem>

#include "phantom.hpp"
#include "realign/app/bids/bids_app.hpp"
#include "realign/io/motion_files.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;
namespace fs = std::filesystem;

struct SbrefCase {
  std::string root;
  Phantom run;
  // A run whose SBRef is a volume of `sbref_dim` (the run's grid when equal).
  explicit SbrefCase(const std::array<int, 3>& sbref_dim) {
    root = realign::testing::temp_dir("sbref");
    const std::string func = root + "/ds/sub-01/func/sub-01_task-x_";
    fs::create_directories(root + "/ds/sub-01/func");
    PhantomSpec spec;
    spec.dim = {40, 40, 20};
    spec.frames = 10;
    spec.max_trans_mm = 1.0;
    spec.max_rot_deg = 1.0;
    run = make_phantom(spec);
    write_phantom(run, func + "bold.nii.gz", root + "/truth.txt", "float32");
    // The SBRef: the head where the run starts, brighter, with noise of its own.
    PhantomSpec still = spec;
    still.dim = sbref_dim;
    still.frames = 2;
    still.max_trans_mm = still.max_rot_deg = 0.0;
    still.spikes = 0;
    still.seed = 99;
    Phantom ref = make_phantom(still);
    ref.series.frames = 1;
    ref.series.data.resize(ref.series.grid.voxels());
    for (float& v : ref.series.data) v *= 1.3f;
    ref.truth.resize(1);
    write_phantom(ref, func + "sbref.nii.gz", root + "/truth_ref.txt", "float32");
  }

  // The report's words on the reference after `realign bids --ref sbref`.
  std::string reference_used() const {
    BidsOptions o;
    o.bids_dir = root + "/ds";
    o.out_dir = root + "/out";
    RunSettings s;
    s.threads = 1;
    s.reference = "sbref";
    s.reslice = false;
    EXPECT_EQ(run_bids(s, o), kExitOk);
    const std::string html =
        realign::testing::slurp(o.out_dir + "/sub-01/func/sub-01_task-x_desc-realign_report.html");
    const std::size_t at = html.find("id=\"reference\"");
    return at == std::string::npos ? "" : html.substr(at, html.find("</tr>", at) - at);
  }
};

TEST(Sbref, TheRunsSingleBandReferenceOnItsGridIsTheReference) {
  const SbrefCase c({40, 40, 20});
  const std::string used = c.reference_used();
  EXPECT_NE(used.find("sub-01_task-x_sbref.nii.gz"), std::string::npos) << used;
  const std::vector<RigidParams> rp =
      read_rp(c.root + "/out/sub-01/func/sub-01_task-x_desc-rp_motion.txt");
  const Displacement d = parameter_error(c.run.truth, rp, c.run.series.grid.centre_mm());
  std::printf("--ref sbref against the truth: mean %.4f mm, max %.4f mm\n", d.mean_mm, d.max_mm);
  EXPECT_LE(d.mean_mm, 0.02);
}

TEST(Sbref, OneOnAnotherGridLeavesTheDefault) {
  const SbrefCase c({32, 32, 20});
  const std::string used = c.reference_used();
  EXPECT_EQ(used.find("sbref"), std::string::npos) << used;
  EXPECT_NE(used.find("mean of the frames"), std::string::npos) << used;
}

}  // namespace
