#include "realign/app/output_paths.hpp"

#include <filesystem>

#include "realign/io/errors.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

}  // namespace

OutputPaths output_paths(const std::string& output) {
  const auto [stem, ext] = split_image_path(output);
  if (ext.empty()) throw OutputError(output, "output must end in .nii or .nii.gz");
  OutputPaths p;
  p.image = output;
  p.mean = stem + "_mean" + ext;
  p.rp = stem + "_rp.txt";
  p.tsv = stem + "_confounds.tsv";
  p.json = stem + "_confounds.json";
  p.xfm = stem + "_xfm.txt";
  p.plot = stem + "_motion.svg";
  p.par = stem + ".par";
  p.report = stem + "_report.html";
  return p;
}

void check_output_paths(const OutputPaths& paths, const std::string& input) {
  const fs::path dir = fs::path(paths.image).parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::is_directory(dir, ec))
    throw OutputError(paths.image, "output directory does not exist");
  for (const std::string& out : paths.all())
    if (same_file(out, input)) throw OutputError(out, "output would overwrite the input");
}

}  // namespace realign
