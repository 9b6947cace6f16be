// The files a run writes, named from its output image: after the image's stem for a run
// alone (out.nii.gz -> out_mean.nii.gz, out_rp.txt, ...), or under BIDS-Derivatives names
// for `realign bids` (<entities>_desc-preproc_bold.nii.gz -> <entities>_boldref.nii.gz, ...).
// One table holds both namings (output_paths.cpp); docs/outputs.md lists it.
#pragma once

#include <string>
#include <vector>

#include "realign/app/run/run_options.hpp"

namespace realign {

struct OutputPaths {
  std::string image, mean, rp, tsv, json, xfm, plot, par, report;
  std::string itk;     // ITK transforms (BIDS; a run alone with --itk-xfm)
  std::string follow;  // realign follow: good time (a run alone's naming only)
  // BIDS only (empty for a run alone): fMRIPrep's head-motion reference and the sidecars.
  std::string hmc_ref, hmc_ref_json, image_json, brain_mask, brain_mask_json;
  // Further series resliced with the run's transforms (other echoes), and their sidecars.
  std::vector<std::string> companions, companions_json;

  std::vector<std::string> all() const;  // every name that is not empty
};

// From the output image's path. Throws OutputError when it is not .nii or .nii.gz, or (BIDS)
// does not end in _desc-preproc_bold.nii.gz.
OutputPaths output_paths(const std::string& output, OutputNaming naming = OutputNaming::Stem);

// A run's outputs: named from files.output, the series itself at files.image when given (a
// multi-echo run's estimation echo), and its companions' series.
OutputPaths output_paths(const RunFiles& files);

// Every output, one entry each (its name: OUT.nii.gz's, or a BIDS run's; what it holds),
// for --help.
std::string describe_outputs(OutputNaming naming);

// The outputs a run with these options writes (`apply`: the images only).
std::vector<std::string> written_by(const OutputPaths& paths, const RunOptions& opt);

// Before any work, refuses (OutputError) a missing output directory, an output image path
// that is a directory, a directory this process cannot write in, and any output that is the
// input. Outputs that exist already are replaced (with a warning) or, with opt.no_clobber,
// refused.
void check_output_paths(const OutputPaths& paths, const RunOptions& opt);

}  // namespace realign
