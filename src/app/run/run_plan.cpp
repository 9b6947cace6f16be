#include "realign/app/run/run_plan.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "realign/app/platform/distribute.hpp"
#include "realign/app/run/input_checks.hpp"
#include "realign/io/dicom_series.hpp"
#include "realign/io/motion_files.hpp"

namespace realign {
namespace {

// Rank 0: the transforms of `apply`, one per frame of the input.
std::vector<Mat4> given_transforms(const RunOptions& opt, int frames) {
  std::vector<Mat4> xfm = read_xfm(opt.apply_xfm);
  if (static_cast<int>(xfm.size()) != frames)
    throw InputError(opt.apply_xfm, fmt::format("holds {} transforms, {} has {} frames", xfm.size(),
                                                opt.input, frames));
  spdlog::info("applying {} transforms from {}", xfm.size(), opt.apply_xfm);
  return xfm;
}

// Rank 0: the reference, the non-steady-state frames and the reference volume.
void choose_reference(const RunOptions& opt, RunPlan& plan) {
  const FrameFile& file = *plan.frames;
  if (file.frames() < 2)
    throw InputError(opt.input, "is a 3D image or has one frame; realign needs a 4D series");
  plan.reference = parse_reference(opt.reference, file.frames(), opt.input);
  const NonsteadyFrames nonsteady = nonsteady_frames(opt, file);
  plan.nonsteady = nonsteady.count;
  // The first pass of register-to-mean aligns to the first steady-state frame.
  if (plan.reference.kind == ReferenceChoice::Mean) plan.reference.frame = plan.nonsteady;
  if (plan.reference.median) plan.reference.frame = median_frame(file, plan.nonsteady);
  plan.reference_volume = reference_volume(plan.reference, opt.reference, file, opt.input);
  spdlog::info("reference: {}", describe_reference(plan.reference, opt.reference));
  log_nonsteady(nonsteady, plan.reference,
                fmt::format("--ref mean leaves them out of the reference, --ref {} takes the "
                            "first steady frame",
                            plan.nonsteady + 1));
}

// Rank 0, a later run of a subject: the first run's reference, on the same grid.
void take_common_reference(const RunOptions& opt, RunPlan& plan) {
  const FrameFile& file = *plan.frames;
  if (file.frames() < 2)
    throw InputError(opt.input, "is a 3D image or has one frame; realign needs a 4D series");
  if (!file.grid().same_as(plan.common->grid, 1e-3))
    throw InputError(opt.input, "is on another grid (dimensions or voxel-to-world matrix) than " +
                                    plan.common->first_run +
                                    "; the runs of a subject must share one grid");
  plan.reference.kind = ReferenceChoice::File;
  const NonsteadyFrames nonsteady = nonsteady_frames(opt, file);
  plan.nonsteady = nonsteady.count;
  plan.reference_volume = plan.common->volume;
  spdlog::info("reference: {}", plan.common->words);
  log_nonsteady(nonsteady, plan.reference, "");
}

// Where every rank reads the voxels: the file, the first voxel byte, whether swapped.
struct VoxelSource {
  std::string path;
  std::uint64_t offset = 0;
  bool swapped = false;
};

VoxelSource source_of(const RunOptions& opt, const RunPlan& plan) {
  if (plan.scratch) return {plan.scratch->path(), 0, false};  // inflated in this byte order
  return {opt.input, plan.input.vox_offset, plan.input.swapped};
}

// Rank 0: the input's header. A directory is a run exported as DICOM: its volumes are
// read once, here, into a scratch file of float32 frames beside the output that every rank
// reads its frames from (as from an inflated .nii.gz), under a header made from their
// geometry, which the outputs then carry.
NiftiInfo input_header(const RunOptions& opt, RunPlan& plan) {
  std::error_code ec;
  if (!std::filesystem::is_directory(opt.input, ec)) return read_nifti_header(opt.input);
  plan.scratch = std::make_unique<ScratchFile>(plan.paths.image);
  const std::string dir = std::filesystem::path(plan.paths.image).parent_path().string();
  return write_dicom_series(opt.input, plan.scratch->fd(), dir.empty() ? "." : dir);
}

// Rank 0: a .nii.gz is inflated once, into a scratch file beside the output, that every
// rank reads its frames from; a .nii is read in place (and a DICOM run was read already).
// One process inflates it `on_demand`: as its threads first need the frames (frame 1 for
// the reference, then each frame as pass 1 takes it), so that reading overlaps fitting.
void open_frames(const RunOptions& opt, RunPlan& plan, bool on_demand) {
  if (plan.input.gzip) {
    plan.scratch = std::make_unique<ScratchFile>(plan.paths.image);
    plan.frames = FrameFile::inflate_on_demand(opt.input, plan.input, plan.scratch->fd(),
                                               plan.scratch->path());
    if (!on_demand) {
      plan.frames->finish();
      return;
    }
    // One process holds the scratch file open already: its name can go at once, so that
    // no interruption during the run can leave it behind (failure_modes found one in
    // eight runs stopped by SIGTERM while inflating left it, cause not found).
    plan.scratch->remove();
    return;
  }
  const VoxelSource s = source_of(opt, plan);
  plan.frames = std::make_unique<FrameFile>(s.path, plan.input, s.offset, s.swapped, opt.input);
}

// Every rank opens the voxels rank 0 opened; then the scratch file's name can go.
void open_frames_everywhere(const RunOptions& opt, RunPlan& plan) {
  std::vector<char> where;
  std::vector<double> numbers;
  if (mpi_rank() == 0) {
    const VoxelSource s = source_of(opt, plan);
    where.assign(s.path.begin(), s.path.end());
    numbers = {static_cast<double>(s.offset), s.swapped ? 1.0 : 0.0};
  }
  broadcast(where);
  broadcast(numbers);
  bool opened = true;
  if (mpi_rank() != 0) {
    try {
      plan.frames = std::make_unique<FrameFile>(std::string(where.begin(), where.end()), plan.input,
                                                static_cast<std::uint64_t>(numbers[0]),
                                                numbers[1] != 0.0, opt.input);
    } catch (const InputError&) {
      opened = false;
    }
  }
  opened = on_every_rank(opened);
  if (plan.scratch) plan.scratch->remove();
  if (!opened)
    throw RunError(opt.input + ": cannot be read on every rank: each rank reads its own frames, " +
                       "from the input (.nii) or from a scratch copy beside the output " +
                       "(.nii.gz), which must be on a file system every node sees",
                   kExitInput);
}

// Rank 0: the TR the caller knows better (a BIDS sidecar) replaces the header's.
void use_given_tr(const RunOptions& opt, RunPlan& plan) {
  const double header_tr = plan.input.tr_s;
  if (std::abs(header_tr - opt.repetition_time_s) > 1e-4 * opt.repetition_time_s)
    spdlog::warn(
        "{}: header TR (pixdim[4]) {:g} s differs from the sidecar's RepetitionTime "
        "{:g} s; the outputs carry {:g} s",
        opt.input, header_tr, opt.repetition_time_s, opt.repetition_time_s);
  plan.input = with_repetition_time(plan.input, opt.repetition_time_s);
}

// Rank 0: the series resliced with the run's transforms (other echoes) must be on the run's
// grid with as many frames: refused, naming the file, before any work.
void check_companions(const RunOptions& opt, const NiftiInfo& input) {
  for (const Companion& c : opt.companions) {
    const NiftiInfo info = read_nifti_header(c.input);
    if (info.grid.dim != input.grid.dim || !info.grid.same_as(input.grid, 1e-3))
      throw InputError(c.input, "is on another grid than " + opt.input +
                                    ": the echoes of a run must share one grid");
    if (info.frames != input.frames)
      throw InputError(c.input, fmt::format("has {} frames, {} has {}: the echoes of a run must "
                                            "have as many frames",
                                            info.frames, opt.input, input.frames));
  }
}

// Rank 0: everything that can refuse the run, before any rank commits to work.
void decide(const RunOptions& opt, int ranks_here, RunPlan& plan) {
  plan.paths = output_paths(opt);
  check_output_paths(plan.paths, opt);
  // Sized from the header alone, before the file's bytes are read.
  plan.input = input_header(opt, plan);
  check_companions(opt, plan.input);
  if (opt.repetition_time_s > 0) use_given_tr(opt, plan);
  check_fd_filter(opt, plan.input.tr_s);
  check_memory(opt, plan.input, ranks_here);
  open_frames(opt, plan, mpi_size() == 1);
  frame_format(plan.input.header, opt.datatype, opt.output);  // refuses what cannot be written
  if (!opt.apply_xfm.empty())
    plan.given_xfm = given_transforms(opt, plan.frames->frames());
  else if (plan.common)
    take_common_reference(opt, plan);
  else
    choose_reference(opt, plan);
}

// The decisions in as few messages as possible: the packed header, four numbers, and
// the reference volume or the transforms.
void share_decisions(RunPlan& plan, const RunOptions& opt) {
  std::vector<char> header = mpi_rank() == 0 ? pack_header(plan.input) : std::vector<char>{};
  broadcast(header);
  if (mpi_rank() != 0) plan.input = unpack_header(opt.input, header);
  std::vector<double> numbers = {
      static_cast<double>(plan.reference.kind), static_cast<double>(plan.reference.frame),
      plan.reference.median ? 1.0 : 0.0, static_cast<double>(plan.nonsteady)};
  broadcast(numbers);
  plan.reference.kind = static_cast<ReferenceChoice::Kind>(numbers[0]);
  plan.reference.frame = static_cast<int>(numbers[1]);
  plan.reference.median = numbers[2] != 0.0;
  plan.nonsteady = static_cast<int>(numbers[3]);
  broadcast(plan.reference_volume);
  std::vector<double> xfm;
  for (const Mat4& m : plan.given_xfm) xfm.insert(xfm.end(), m.data(), m.data() + 16);
  broadcast(xfm);
  plan.given_xfm.resize(xfm.size() / 16);
  for (std::size_t f = 0; f < plan.given_xfm.size(); ++f)
    plan.given_xfm[f] = Eigen::Map<const Mat4>(&xfm[16 * f]);
}

}  // namespace

RunPlan share_companion(const RunOptions& opt, const Companion& companion,
                        const std::vector<Mat4>& xfm) {
  RunOptions own = opt;
  own.input = companion.input;
  own.output = companion.output;
  RunPlan plan;
  plan.paths.image = companion.output;  // a .nii.gz is inflated beside it
  on_root([&] {
    plan.input = read_nifti_header(own.input);
    if (own.repetition_time_s > 0) use_given_tr(own, plan);
    open_frames(own, plan, false);
  });
  std::vector<char> header = mpi_rank() == 0 ? pack_header(plan.input) : std::vector<char>{};
  broadcast(header);
  if (mpi_rank() != 0) plan.input = unpack_header(own.input, header);
  plan.given_xfm = xfm;
  open_frames_everywhere(own, plan);
  plan.format = frame_format(plan.input.header, own.datatype, own.output);
  return plan;
}

RunPlan plan_seen_run(const RunOptions& opt, std::unique_ptr<FrameFile> frames,
                      ReferenceChoice reference, std::string reference_words,
                      std::vector<float> reference_volume, const std::vector<double>& means) {
  RunPlan plan;
  plan.input = frames->info();
  plan.frames = std::move(frames);
  plan.paths = output_paths(opt.output, opt.naming);
  plan.format = frame_format(plan.input.header, opt.datatype, opt.output);
  plan.reference = reference;
  plan.reference_words = std::move(reference_words);
  plan.reference_volume = std::move(reference_volume);
  RunOptions clamped = opt;
  clamped.dummy_scans = std::min(opt.dummy_scans, plan.input.frames - 2);
  const NonsteadyFrames nonsteady = nonsteady_frames(clamped, means, plan.input.frames);
  plan.nonsteady = nonsteady.count;
  log_nonsteady(nonsteady, plan.reference,
                "give --ref a steady volume's file (a previous run's mean, say)");
  return plan;
}

RunPlan share_run(const RunOptions& opt, const CommonReference* common) {
  RunPlan plan;
  plan.common = common;
  const int ranks_here = ranks_on_root_node();
  on_root([&] { decide(opt, ranks_here, plan); });
  share_decisions(plan, opt);
  open_frames_everywhere(opt, plan);
  plan.format = frame_format(plan.input.header, opt.datatype, opt.output);
  plan.reference_words = common ? common->words : describe_reference(plan.reference, opt.reference);
  return plan;
}

}  // namespace realign
