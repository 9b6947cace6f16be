// The files a run writes, all named from the output path's stem.
#pragma once

#include <string>
#include <vector>

namespace realign {

struct OutputPaths {
  std::string image, mean, rp, tsv, json, xfm, plot, par, report;
  std::vector<std::string> all() const {
    return {image, mean, rp, tsv, json, xfm, plot, par, report};
  }
};

// From "dir/out.nii.gz": dir/out.nii.gz, dir/out_mean.nii.gz, dir/out_rp.txt, ... Throws
// OutputError when the output is not .nii or .nii.gz.
OutputPaths output_paths(const std::string& output);

// Refuses (OutputError) a missing output directory and any output that is the input.
void check_output_paths(const OutputPaths& paths, const std::string& input);

}  // namespace realign
