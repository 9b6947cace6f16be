#include "realign/app/run/write_outputs.hpp"

#include "realign/io/motion_files.hpp"
#include "realign/report/confounds.hpp"
#include "realign/report/motion_plot.hpp"
#include "realign/report/report.hpp"

namespace realign {
namespace {

void write_motion_files(const OutputPaths& paths, const MotionRecord& record, const RunOptions& opt,
                        OutputSet& outs) {
  write_rp(outs.temp_for(paths.rp), record.rp);
  if (opt.write_par) write_par(outs.temp_for(paths.par), record.rp);
  write_confounds(outs.temp_for(paths.tsv), outs.temp_for(paths.json), record);
  write_xfm(outs.temp_for(paths.xfm), record.xfm);
  write_motion_plot(outs.temp_for(paths.plot), record);
}

}  // namespace

void write_outputs(const RunPlan& plan, const MotionRecord& record, const RunImages& images,
                   const RunOptions& opt, OutputSet& outs) {
  if (!images.mean_after.empty())
    write_image(outs.temp_for(plan.paths.mean), plan.input.header, plan.input.grid, 1,
                images.mean_after.data(), opt.datatype);
  // `apply` writes only the images: the parameters are the caller's own.
  if (!plan.applying()) {
    write_motion_files(plan.paths, record, opt, outs);
    if (opt.report) {
      QcReport qc;
      qc.motion = &record;
      qc.mean_before = images.mean_before;
      qc.mean_after = images.mean_after;
      write_qc_report(outs.temp_for(plan.paths.report), qc);
    }
  }
}

}  // namespace realign
