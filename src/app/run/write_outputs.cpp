#include "realign/app/run/write_outputs.hpp"

#include <nifti1.h>

#include "realign/app/run/reslice_stream.hpp"
#include "realign/core/metrics.hpp"
#include "realign/io/itk_transforms.hpp"
#include "realign/io/motion_files.hpp"
#include "realign/io/nifti_io.hpp"
#include "realign/io/text_io.hpp"
#include "realign/report/confounds.hpp"
#include "realign/report/derivative_sidecars.hpp"
#include "realign/report/motion_plot.hpp"
#include "realign/report/report.hpp"

namespace realign {
namespace {

// The rp and .par files keep SPM's convention for several runs (relative to the first
// run's first frame); `shown`, what the confounds, the plot and the report describe, is in
// BIDS derivatives each run's motion relative to its own first frame, as fMRIPrep's.
void write_motion_files(const OutputPaths& paths, const MotionRecord& record,
                        const MotionRecord& shown, const RunOptions& opt, OutputSet& outs) {
  write_rp(outs.temp_for(paths.rp), record.rp);
  if (opt.write_par) write_par(outs.temp_for(paths.par), record.rp);
  write_confounds(outs.temp_for(paths.tsv), outs.temp_for(paths.json), shown);
  write_xfm(outs.temp_for(paths.xfm), record.xfm);
  write_motion_plot(outs.temp_for(paths.plot), shown);
}

// The brain of the head-motion reference and how much of it some frame could not see.
BrainCoverage brain_coverage(const std::vector<std::uint8_t>& brain, const RowIntervals& seen,
                             const Grid& grid) {
  std::vector<float> inside(grid.voxels(), 1.0f);
  seen.apply(inside.data(), 0.0f);
  BrainCoverage c;
  for (std::size_t i = 0; i < brain.size(); ++i) {
    if (!brain[i]) continue;
    ++c.brain_voxels;
    if (inside[i] == 0.0f) ++c.unseen_voxels;
  }
  return c;
}

// What fMRIPrep takes as its head-motion correction: the reference image, the transforms
// from it to every frame, in ITK's format; and the brain mask of that reference, with how
// much of the brain some frame could not see.
BrainCoverage write_bids_extras(const RunPlan& plan, const MotionRecord& record,
                                const RunImages& images, const RunOptions& opt, OutputSet& outs) {
  const OutputPaths& p = plan.paths;
  const NiftiHeader& header = plan.input.header;
  const Grid& grid = plan.input.grid;
  if (opt.reslice)
    text::write_file(outs.temp_for(p.image_json),
                     preproc_sidecar(plan.input.tr_s, opt.sources, opt.echo_time_s));
  write_itk_transforms(outs.temp_for(p.itk), record.xfm);
  write_image(outs.temp_for(p.hmc_ref), with_datatype(header, DT_FLOAT32), grid, 1,
              images.mean_seen.data(), OutputType::Float32);
  text::write_file(outs.temp_for(p.hmc_ref_json), sources_sidecar(opt.sources));
  const std::vector<std::uint8_t> brain = brain_mask(images.mean_seen);
  const std::vector<float> mask(brain.begin(), brain.end());
  write_image(outs.temp_for(p.brain_mask), with_datatype(header, DT_UINT8), grid, 1, mask.data(),
              OutputType::Input);
  const BrainCoverage coverage = brain_coverage(brain, seen_by_every_frame(record.xfm, grid), grid);
  text::write_file(outs.temp_for(p.brain_mask_json), brain_mask_sidecar(coverage, opt.sources));
  return coverage;
}

}  // namespace

void write_outputs(const RunPlan& plan, const MotionRecord& record, const RunImages& images,
                   const RunOptions& opt, OutputSet& outs) {
  if (!images.mean_after.empty())
    write_image(outs.temp_for(plan.paths.mean), plan.input.header, plan.input.grid, 1,
                images.mean_after.data(), opt.datatype);
  // `apply` writes only the images: the parameters are the caller's own.
  if (plan.applying()) return;
  const MotionRecord shown = opt.bids() ? relative_to_own_run(record) : record;
  write_motion_files(plan.paths, record, shown, opt, outs);
  QcReport qc;
  if (opt.bids())
    qc.unseen_brain_fraction = write_bids_extras(plan, record, images, opt, outs).unseen_fraction();
  else if (opt.itk_xfm)
    write_itk_transforms(outs.temp_for(plan.paths.itk), record.xfm);
  if (opt.report) {
    qc.motion = &shown;
    qc.mean_before = images.mean_before;
    qc.mean_after = images.mean_after;
    write_qc_report(outs.temp_for(plan.paths.report), qc);
  }
}

void write_companion_sidecar(double tr_s, const Companion& companion, OutputSet& outs) {
  text::write_file(outs.temp_for(split_image_path(companion.output).first + ".json"),
                   preproc_sidecar(tr_s, companion.sources, companion.echo_time_s));
}

}  // namespace realign
