// The files a run writes, all named from the output path's stem.
#pragma once

#include <string>
#include <vector>

#include "realign/app/options.hpp"

namespace realign {

struct OutputPaths {
  std::string image, mean, rp, tsv, json, xfm, plot, par, report;
  std::vector<std::string> all() const {
    return {image, mean, rp, tsv, json, xfm, plot, par, report};
  }
};

// From "dir/out.nii.gz": dir/out.nii.gz, dir/out_mean.nii.gz, dir/out_rp.txt, ... Throws
// OutputError when the output is not .nii or .nii.gz. OutputNaming::Bids: the names of
// bids_derivative_paths (bids_layout.hpp) from dir/<entities>_desc-preproc_bold.nii.gz.
OutputPaths output_paths(const std::string& output, OutputNaming naming = OutputNaming::Stem);

// The outputs a run with these options writes (`apply`: the images only).
std::vector<std::string> written_by(const OutputPaths& paths, const Options& opt);

// Before any work, refuses (OutputError) a missing output directory, an output image path
// that is a directory, a directory this process cannot write in, and any output that is the
// input. Outputs that exist already are replaced (with a warning) or, with opt.no_clobber,
// refused.
void check_output_paths(const OutputPaths& paths, const Options& opt);

}  // namespace realign
