#include "realign/report/derivative_sidecars.hpp"

#include <nlohmann/json.hpp>

namespace realign {
namespace {

using json = nlohmann::ordered_json;

std::string dumped(const json& j) { return j.dump(2) + "\n"; }

}  // namespace

std::string preproc_sidecar(double tr_s, const std::vector<std::string>& sources,
                            double echo_time_s) {
  json j = {{"RepetitionTime", tr_s}, {"SkullStripped", false}};
  if (echo_time_s > 0) j["EchoTime"] = echo_time_s;
  j["Sources"] = sources;
  return dumped(j);
}

std::string sources_sidecar(const std::vector<std::string>& sources) {
  return dumped(json{{"Sources", sources}});
}

std::string brain_mask_sidecar(const BrainCoverage& coverage,
                               const std::vector<std::string>& sources) {
  json j = {
      {"Type", "Brain"},
      {"Description",
       "voxels of the head-motion reference above an eighth of its global mean (the rule of "
       "SPM's spm_global)"},
      {"BrainVoxels", coverage.brain_voxels},
      {"BrainVoxelsUnseenBySomeFrame", coverage.unseen_voxels},
      {"BrainFractionUnseenBySomeFrame", coverage.unseen_fraction()},
      {"UnseenVoxels",
       "brain voxels outside the field of view of at least one frame after realignment: 0 in "
       "every frame of the preprocessed series (no frame has edge artefacts the others lack)"},
      {"Sources", sources}};
  return dumped(j);
}

}  // namespace realign
