// End-to-end runs on phantoms with known motion: the whole pipeline, in process.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "phantom.hpp"
#include "realign/app/run/pipeline.hpp"
#include "realign/core/metrics.hpp"
#include "realign/core/motion_record.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/io/nifti_io.hpp"
#include "realign/report/confounds.hpp"
#include "realign/report/motion_plot.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;
namespace fs = std::filesystem;

// A phantom written as a run's input, and a directory for the outputs.
struct PhantomRun {
  PhantomSpec spec;
  Phantom phantom;
  std::string dir, input;

  // The phantom: 64x64x34 at 3x3x3.5 mm, 40 frames, up to 2 mm / 2 deg with
  // spikes and 1% noise, stored as int16 like a scanner would; rendered here.
  explicit PhantomRun(bool oblique = false) {
    spec.oblique = oblique;
    if (oblique) spec.seed = 5;
    phantom = make_phantom(spec);
    dir = realign::testing::temp_dir("pipeline");
    input = dir + "/phantom.nii.gz";
    write_phantom(phantom, input, dir + "/truth_rp.txt", "int16");
  }
  // A phantom that several tests read (realign::testing::shared_phantom): rendered once
  // per ctest run; only the outputs go to a directory of this process.
  explicit PhantomRun(const realign::testing::PhantomInput& shared)
      : spec(shared.spec),
        phantom(shared.phantom),
        dir(realign::testing::temp_dir("pipeline")),
        input(shared.path) {}
};

// Estimation only, with the given reference and settings; the error against the
// phantom's truth.
Displacement estimation_error(const std::string& input, const Phantom& ph, const std::string& out,
                              const std::string& reference = "mean",
                              const EstimateOptions& estimate = {}) {
  RunOptions opt;
  opt.input = input;
  opt.output = out;
  opt.reference = reference;
  opt.estimate = estimate;
  opt.reslice = false;
  const RunResult r = run_realign(opt);
  return run_displacement_difference(r.record.rp, ph.truth, ph.series.grid.centre_mm(), 50.0);
}

// The phantom, as int16 .nii.gz.
const PhantomRun& straight() {
  static const PhantomRun run(realign::testing::shared_phantom("straight"));
  return run;
}

TEST(Pipeline, RegisterToMeanRecoversPhantomMotion) {
  const PhantomRun& run = straight();
  RunOptions opt;
  opt.input = run.input;
  opt.output = run.dir + "/mean_ref.nii.gz";
  const RunResult r = run_realign(opt);
  ASSERT_EQ(r.record.rp.size(), 40u);
  const Displacement d = run_displacement_difference(r.record.rp, run.phantom.truth,
                                                     run.phantom.series.grid.centre_mm(), 50.0);
  RecordProperty("mean_mm", std::to_string(d.mean_mm));
  std::printf("phantom, --ref mean: mean %.4f mm, max %.4f mm\n", d.mean_mm, d.max_mm);
  EXPECT_LE(d.mean_mm, 0.015);
  EXPECT_LE(d.max_mm, 0.05);
  EXPECT_TRUE(r.record.unconverged.empty());
  // The rp file on disk is what the run returned.
  const auto on_disk = read_rp(run.dir + "/mean_ref_rp.txt");
  ASSERT_EQ(on_disk.size(), r.record.rp.size());
  for (std::size_t f = 0; f < r.record.rp.size(); ++f)
    for (int k = 0; k < 6; ++k) EXPECT_NEAR(on_disk[f][k], r.record.rp[f][k], 1e-7);
}

TEST(Pipeline, FirstFrameReferenceRecoversPhantomMotion) {
  const PhantomRun& run = straight();
  const Displacement d =
      estimation_error(run.input, run.phantom, run.dir + "/first_ref.nii", "first");
  std::printf("phantom, --ref first: mean %.4f mm, max %.4f mm\n", d.mean_mm, d.max_mm);
  EXPECT_LE(d.mean_mm, 0.015);
  EXPECT_LE(d.max_mm, 0.05);
  EXPECT_FALSE(fs::exists(run.dir + "/first_ref.nii"));
  EXPECT_TRUE(fs::exists(run.dir + "/first_ref_rp.txt"));
}

// Different motion and noise draws: the limits hold on average, and the worst frame
// of every draw stays under the max limit.
TEST(Pipeline, AccuracyHoldsAcrossMotionAndNoiseDraws) {
  double sum = 0;
  const int seeds = 4;
  for (int seed = 2; seed < 2 + seeds; ++seed) {
    PhantomSpec spec;
    spec.seed = seed;
    const Phantom ph = make_phantom(spec);
    const std::string dir = realign::testing::temp_dir("seeds");
    write_phantom(ph, dir + "/p.nii", dir + "/truth.txt", "int16");
    const Displacement d = estimation_error(dir + "/p.nii", ph, dir + "/r.nii");
    std::printf("seed %d: mean %.4f mm, max %.4f mm\n", seed, d.mean_mm, d.max_mm);
    EXPECT_LE(d.max_mm, 0.05) << "seed " << seed;
    sum += d.mean_mm;
  }
  EXPECT_LE(sum / seeds, 0.015);
}

// An oblique grid exercises the header path: sform, RAS, rotations about the world
// origin rather than the grid.
TEST(Pipeline, ObliqueHeaderPhantom) {
  const PhantomRun run(true);
  const Displacement d = estimation_error(run.input, run.phantom, run.dir + "/oblique.nii");
  std::printf("oblique phantom: mean %.4f mm, max %.4f mm\n", d.mean_mm, d.max_mm);
  EXPECT_LE(d.mean_mm, 0.015);
  EXPECT_LE(d.max_mm, 0.05);
}

// After reslicing every frame should look like frame 1: the residual differences inside
// the head shrink to noise and interpolation level.
TEST(Pipeline, ReslicedFramesLineUpWithTheFirst) {
  const PhantomRun& run = straight();
  RunOptions opt;
  opt.input = run.input;
  opt.output = run.dir + "/resliced.nii";
  run_realign(opt);
  const Series out = read_series(opt.output);
  const Series in = read_series(run.input);
  ASSERT_EQ(out.frames, in.frames);
  EXPECT_TRUE(out.grid.same_as(in.grid, 1e-4));
  EXPECT_NEAR(out.tr_s, run.spec.tr_s, 1e-6);
  const std::size_t nv = in.grid.voxels();
  double before = 0, after = 0;
  std::size_t n = 0;
  for (int f = 1; f < in.frames; ++f)
    for (std::size_t v = 0; v < nv; ++v) {
      const float a = out.frame(f)[v], b = out.frame(0)[v];
      if (!std::isfinite(a) || !std::isfinite(b) || in.frame(0)[v] < 300) continue;
      after += (a - b) * (a - b);
      before += (in.frame(f)[v] - in.frame(0)[v]) * (in.frame(f)[v] - in.frame(0)[v]);
      ++n;
    }
  ASSERT_GT(n, 10000u);
  const double rms_before = std::sqrt(before / n), rms_after = std::sqrt(after / n);
  std::printf("frame-vs-first RMS: before %.2f, after %.2f (noise sd %.2f)\n", rms_before,
              rms_after, run.phantom.noise_sd);
  EXPECT_LT(rms_after, rms_before / 3);
  // Two independent noise draws differ by sqrt(2) = 1.41 sd; interpolation adds a little.
  EXPECT_LT(rms_after, 1.8 * run.phantom.noise_sd);
  // The mean image is 3D on the same grid.
  const Volume mean = read_volume(run.dir + "/resliced_mean.nii");
  EXPECT_TRUE(mean.grid.same_as(in.grid, 1e-4));
}

// The resliced series carries the input's header: geometry, codes, timing, slice
// information and description; only the datatype (float32 by default) and scaling change.
TEST(Pipeline, OutputKeepsTheInputHeader) {
  PhantomSpec spec;
  spec.dim = {24, 24, 16};
  spec.frames = 4;
  spec.oblique = true;
  const Phantom ph = make_phantom(spec);
  const std::string dir = realign::testing::temp_dir("header");
  const std::string input = dir + "/in.nii";
  write_phantom(ph, input, dir + "/truth.txt", "int16");
  {
    // Fields a scanner conversion would set: dim_info, slice_start, slice_end, slice_code,
    // slice_duration, descrip (NIfTI-1 byte offsets).
    std::fstream f(input, std::ios::in | std::ios::out | std::ios::binary);
    const char dim_info = 0x39, slice_code = 3;
    const short slice_start = 1, slice_end = 14;
    const float slice_duration = 0.125f;
    f.seekp(39), f.write(&dim_info, 1);
    f.seekp(74), f.write(reinterpret_cast<const char*>(&slice_start), 2);
    f.seekp(120), f.write(reinterpret_cast<const char*>(&slice_end), 2);
    f.seekp(122), f.write(&slice_code, 1);
    f.seekp(132), f.write(reinterpret_cast<const char*>(&slice_duration), 4);
    f.seekp(148), f.write("scanner description", 20);
  }
  RunOptions opt;
  opt.input = input;
  opt.output = dir + "/out.nii";
  run_realign(opt);
  auto bytes = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::string h(348, '\0');
    f.read(h.data(), 348);
    return h;
  };
  const std::string a = bytes(input), b = bytes(opt.output);
  auto same = [&](int offset, int length, const char* what) {
    EXPECT_EQ(a.substr(offset, length), b.substr(offset, length)) << what;
  };
  same(39, 1, "dim_info");
  same(40, 16, "dim");
  same(56, 14, "intent parameters and code");
  same(74, 2, "slice_start");
  same(76, 4 * 5, "pixdim 0-4 (qfac, voxel sizes, TR)");
  same(120, 4, "slice_end, slice_code, xyzt_units");
  same(132, 4, "slice_duration");
  same(148, 80, "descrip");
  same(252, 4, "qform_code, sform_code");
  same(256, 24, "quaternion and offsets");
  same(280, 48, "srow_x, srow_y, srow_z");
  EXPECT_EQ(b.substr(70, 2), std::string("\x10\x00", 2)) << "datatype float32";
}

// Another estimation degree takes the general (non-vector) code path; it must be as
// accurate.
TEST(Pipeline, CubicEstimationAlsoRecoversMotion) {
  const PhantomRun& run = straight();
  EstimateOptions cubic;
  cubic.degree = 3;
  const Displacement d =
      estimation_error(run.input, run.phantom, run.dir + "/cubic.nii", "mean", cubic);
  std::printf("phantom, --est-degree 3: mean %.4f mm, max %.4f mm\n", d.mean_mm, d.max_mm);
  EXPECT_LE(d.mean_mm, 0.015);
  EXPECT_LE(d.max_mm, 0.05);
}

// A single-slice series fits in-plane motion only (tx, ty, yaw), as SPM: the other three
// parameters stay exactly zero, and the in-plane motion found is the phantom's. The phantom
// moves in the plane only (translations along x and y, rotations about z, the slice
// normal), so each frame is the same slice of the head moved within it and its truth is
// all there is to find.
TEST(Pipeline, SingleSliceSeriesFitsInPlaneMotion) {
  const double deg = M_PI / 180.0;
  FromVolumeSpec spec;
  spec.noise = 0.0;
  spec.given_motion = {
      {0.0, 0.0, 0.0, 0.0, 0.0, 0.0},          {0.8, -0.5, 0.0, 0.0, 0.0, 1.0 * deg},
      {-1.2, 0.4, 0.0, 0.0, 0.0, -0.7 * deg},  {1.5, 1.1, 0.0, 0.0, 0.0, 2.0 * deg},
      {-0.3, -1.4, 0.0, 0.0, 0.0, -1.5 * deg}, {0.6, 0.9, 0.0, 0.0, 0.0, 0.4 * deg}};
  // The middle slice (17 of 34) of the synthetic head, 64x64 at 3x3 mm.
  const Phantom ph = make_phantom_from_volume(realign::testing::synthetic_slab(17, 1), spec);
  ASSERT_EQ(ph.series.grid.dim[2], 1);
  const std::string dir = realign::testing::temp_dir("slice");
  write_phantom(ph, dir + "/slice.nii", dir + "/truth_rp.txt", "float32");
  RunOptions opt;
  opt.input = dir + "/slice.nii";
  opt.output = dir + "/r.nii";
  const RunResult r = run_realign(opt);
  ASSERT_EQ(r.record.rp.size(), ph.truth.size());
  for (std::size_t f = 0; f < ph.truth.size(); ++f) {
    const RigidParams& q = r.record.rp[f];
    const RigidParams& t = ph.truth[f];
    std::printf("frame %zu: tx %+.4f (%+.4f) ty %+.4f (%+.4f) mm, yaw %+.4f (%+.4f) deg\n", f + 1,
                q[0], t[0], q[1], t[1], q[5] / deg, t[5] / deg);
    EXPECT_EQ(q[2], 0.0) << "frame " << f + 1;
    EXPECT_EQ(q[3], 0.0) << "frame " << f + 1;
    EXPECT_EQ(q[4], 0.0) << "frame " << f + 1;
    EXPECT_NEAR(q[0], t[0], 0.01) << "tx, frame " << f + 1;
    EXPECT_NEAR(q[1], t[1], 0.01) << "ty, frame " << f + 1;
    EXPECT_NEAR(q[5], t[5], 0.01 * deg) << "yaw, frame " << f + 1;
  }
}

// A frame that cannot converge in the allowed iterations is reported (warning, JSON,
// plot) and the run still completes with every output.
TEST(Pipeline, UnconvergedFramesAreReportedAndTheRunCompletes) {
  const PhantomRun& run = straight();
  RunOptions opt;
  opt.input = run.input;
  opt.output = run.dir + "/capped.nii";
  opt.estimate.max_iter = 1;
  const RunResult r = run_realign(opt);
  EXPECT_GT(r.record.unconverged.size(), 30u);  // nearly every frame needs more than one
  // Frame numbers in the sidecar count from 1.
  const auto json = nlohmann::json::parse(std::ifstream(run.dir + "/capped_confounds.json"));
  std::vector<int> listed;
  for (const int f : r.record.unconverged) listed.push_back(f + 1);
  EXPECT_EQ(json.at("UnconvergedFrames").get<std::vector<int>>(), listed);
  for (const char* suffix :
       {".nii", "_mean.nii", "_rp.txt", "_motion.svg", "_xfm.txt", "_report.html"})
    EXPECT_TRUE(fs::exists(run.dir + "/capped" + suffix)) << suffix;
}

// DVARS measures the written (resliced) series; without one there is nothing to measure,
// and the table says n/a rather than the change of the unaligned input.
TEST(Pipeline, NoResliceLeavesDvarsNotAvailable) {
  const PhantomRun& run = straight();
  RunOptions opt;
  opt.input = run.input;
  opt.output = run.dir + "/est.nii";
  opt.reslice = false;
  opt.report = false;
  const RunResult r = run_realign(opt);
  EXPECT_TRUE(r.record.dvars.empty());
  std::ifstream tsv(run.dir + "/est_confounds.tsv");
  std::string header, row;
  std::getline(tsv, header);
  const auto names = realign::testing::split_tabs(header);
  const std::size_t k = std::find(names.begin(), names.end(), "dvars") - names.begin();
  ASSERT_LT(k, names.size());
  int rows = 0;
  while (std::getline(tsv, row)) {
    EXPECT_EQ(realign::testing::split_tabs(row)[k], "n/a");
    ++rows;
  }
  EXPECT_EQ(rows, 40);
  const auto json = nlohmann::json::parse(std::ifstream(run.dir + "/est_confounds.json"));
  EXPECT_NE(json["dvars"]["Description"].get<std::string>().find("--no-reslice"),
            std::string::npos);

  // With reslicing, DVARS is that of the resliced frames: small, since they line up.
  opt.reslice = true;
  opt.output = run.dir + "/resliced.nii";
  const RunResult w = run_realign(opt);
  ASSERT_EQ(w.record.dvars.size(), 40u);
  EXPECT_TRUE(std::isnan(w.record.dvars[0]));
  for (int f = 1; f < 40; ++f) EXPECT_GT(w.record.dvars[f], 0.0);
}

}  // namespace

namespace {

// Estimation of a phantom made from a volume (a synthetic slab or a real run), written as
// float32; the error against its truth, over all frames and (re-based) over frames from
// `from` on.
struct VolumeRun {
  Phantom phantom;
  std::string dir, input;
  VolumeRun(const Volume& source, const FromVolumeSpec& spec, const std::string& tag) {
    phantom = make_phantom_from_volume(source, spec);
    dir = realign::testing::temp_dir(tag);
    input = dir + "/phantom.nii";
    write_phantom(phantom, input, dir + "/truth_rp.txt", "float32");
  }
  RunResult run(RunOptions opt) const {
    opt.input = input;
    opt.output = dir + "/r.nii";
    opt.reslice = false;
    opt.report = false;
    return run_realign(opt);
  }
  Displacement error(const RunResult& r, int from = 0) const {
    std::vector<RigidParams> est, truth;
    const Mat4 e0 = rigid_matrix(r.record.rp[from]).inverse(),
               t0 = rigid_matrix(phantom.truth[from]).inverse();
    for (std::size_t f = from; f < r.record.rp.size(); ++f) {
      est.push_back(rigid_params(rigid_matrix(r.record.rp[f]) * e0));
      truth.push_back(rigid_params(rigid_matrix(phantom.truth[f]) * t0));
    }
    return run_displacement_difference(est, truth, phantom.series.grid.centre_mm(), 50.0);
  }
};

FromVolumeSpec volume_spec(int frames, unsigned seed) {
  FromVolumeSpec s;
  s.motion.frames = frames;
  s.motion.max_trans_mm = 2.5;
  s.motion.seed = seed;
  return s;
}

// rp rows are relative to frame 1 whatever the reference: with frame 10 as the
// reference the parameters still match the truth (the correction of frame 1 is taken
// off on the right side: SPM's M = inv(W1) * Wn, not Wn * inv(W1)).
TEST(Pipeline, ParametersAreRelativeToFrameOneForAnyReference) {
  const VolumeRun run(realign::testing::synthetic_slab(4, 26), volume_spec(24, 3), "conv");
  RunOptions first, tenth;
  first.reference = "first";
  tenth.reference = "10";
  const Displacement d1 = run.error(run.run(first)), d10 = run.error(run.run(tenth));
  std::printf("--ref first %.4f mm, --ref 10 %.4f mm\n", d1.mean_mm, d10.mean_mm);
  EXPECT_LT(d1.mean_mm, 0.01);
  EXPECT_LT(d10.mean_mm, 0.01);
  EXPECT_LT(std::fabs(d10.mean_mm - d1.mean_mm), 0.004);
}

// A slab that cuts through the head at its first and last slices: the edges must not
// pull the estimate towards "no motion".
TEST(Pipeline, SlabCutThroughTheHeadIsRecovered) {
  FromVolumeSpec spec = volume_spec(40, 7);
  spec.noise = 0.01;
  const VolumeRun run(realign::testing::synthetic_slab(6, 22), spec, "slab");
  const Displacement d = run.error(run.run(RunOptions{}));
  std::printf("slab phantom: mean %.4f mm, max %.4f mm\n", d.mean_mm, d.max_mm);
  EXPECT_LE(d.mean_mm, 0.008);
  EXPECT_LE(d.max_mm, 0.025);
}

// Bright first frames are found, kept out of the reference and put in the confounds;
// the steady frames are realigned as well as without them.
TEST(Pipeline, NonSteadyStateFramesAreDetectedAndDoNotHarmTheRest) {
  FromVolumeSpec spec = volume_spec(30, 4);
  spec.noise = 0.01;
  const Volume source = realign::testing::synthetic_slab(4, 26);
  const VolumeRun clean(source, spec, "steady");
  spec.realism.nonsteady_frames = 3;
  spec.realism.nonsteady_gain = 0.4;
  const VolumeRun bright(source, spec, "nonsteady");
  const RunResult r = bright.run(RunOptions{});
  EXPECT_EQ(r.record.nonsteady, 3);
  EXPECT_EQ(clean.run(RunOptions{}).record.nonsteady, 0);
  const Displacement with = bright.error(r, 3), without = clean.error(clean.run(RunOptions{}), 3);
  std::printf("steady frames: %.4f mm with 3 bright frames, %.4f mm without\n", with.mean_mm,
              without.mean_mm);
  EXPECT_LT(with.mean_mm, 1.5 * without.mean_mm + 0.001);
  // --dummy-scans says how many, whatever the detection finds.
  RunOptions given;
  given.dummy_scans = 1;
  EXPECT_EQ(bright.run(given).record.nonsteady, 1);
}

}  // namespace
