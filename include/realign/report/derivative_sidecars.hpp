// The JSON sidecars of a run's BIDS derivatives, with the keys fMRIPrep's derivatives carry
// and tools read (nilearn and fMRIPrep take RepetitionTime from the series' sidecar).
// `sources` are BIDS URIs of the files each derivative was made from ("bids:raw:sub-01/func/
// sub-01_task-rest_bold.nii.gz", the dataset named raw in dataset_description.json's
// DatasetLinks).
#pragma once

#include <string>
#include <vector>

namespace realign {

// The preprocessed series: RepetitionTime (s), SkullStripped (false: realign keeps the
// whole head), Sources; and EchoTime (s) when given (> 0).
std::string preproc_sidecar(double tr_s, const std::vector<std::string>& sources,
                            double echo_time_s = 0.0);

// An image made from the series (the head-motion reference): Sources.
std::string sources_sidecar(const std::vector<std::string>& sources);

// How much of the brain every frame could see, for the brain mask's sidecar and the report.
struct BrainCoverage {
  long brain_voxels = 0;
  long unseen_voxels = 0;  // brain voxels outside the field of view of some frame
  double unseen_fraction() const {
    return brain_voxels > 0 ? static_cast<double>(unseen_voxels) / brain_voxels : 0.0;
  }
};

// The brain mask: Type Brain, the rule that made it, Sources, and the brain some frame
// could not see (set to 0 in every frame of the series).
std::string brain_mask_sidecar(const BrainCoverage& coverage,
                               const std::vector<std::string>& sources);

}  // namespace realign
