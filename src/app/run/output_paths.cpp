#include "realign/app/run/output_paths.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <tuple>

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

namespace {

// Every output's name after the run's stem: as a run alone names it ("{ext}": the output
// image's extension, .nii or .nii.gz; null: not written by a run alone), as `realign bids`
// does, after fMRIPrep (BIDS-Derivatives: the entities of the source, then desc, then the
// suffix), and, where they differ, as fMRIPrep's development branch expects them
// (`--fmriprep-names next`).
struct OutputName {
  std::string OutputPaths::*field;
  const char* plain;
  const char* bids;
  const char* bids_next;  // null: as bids
  const char* what;       // for --help
};
constexpr const char* kBidsImage = "_desc-preproc_bold.nii.gz";
const OutputName kOutputNames[] = {
    {&OutputPaths::image, "{ext}", kBidsImage, nullptr,
     "resliced series (float32 unless --datatype input)"},
    {&OutputPaths::image_json, nullptr, "_desc-preproc_bold.json", nullptr,
     "the series' sidecar: RepetitionTime, SkullStripped, Sources"},
    {&OutputPaths::mean, "_mean{ext}", "_boldref.nii.gz", nullptr, "mean of the resliced frames"},
    {&OutputPaths::rp, "_rp.txt", "_desc-rp_motion.txt", nullptr,
     "SPM-style motion parameters: tx ty tz (mm) pitch roll yaw (rad)"},
    {&OutputPaths::tsv, "_confounds.tsv", "_desc-confounds_timeseries.tsv", nullptr,
     "trans_*, rot_*, framewise_displacement, rmsd, dvars, std_dvars, the 24-parameter "
     "motion expansion and one-hot outlier columns (fMRIPrep's names)"},
    {&OutputPaths::json, "_confounds.json", "_desc-confounds_timeseries.json", nullptr,
     "the confounds' sidecar: each column's description and units, the conventions"},
    {&OutputPaths::xfm, "_xfm.txt", "_desc-realign_xfm.txt", nullptr,
     "per-frame 4x4 world (RAS mm) matrices, as realign apply --xfm reads them"},
    {&OutputPaths::itk, "_itk_xfm.txt", "_from-orig_to-boldref_mode-image_desc-hmc_xfm.txt",
     "_from-orig_to-run_mode-image_desc-hmc_xfm.txt",
     "per-frame transforms in ITK's text format, boldref to frame in LPS mm, as fMRIPrep "
     "and antsApplyTransforms read them (a run alone: with --itk-xfm)"},
    {&OutputPaths::hmc_ref, nullptr, "_desc-hmc_boldref.nii.gz",
     "_space-orig_desc-hmc_boldref.nii.gz",
     "the image the ITK transforms start from (fMRIPrep's head-motion reference)"},
    {&OutputPaths::hmc_ref_json, nullptr, "_desc-hmc_boldref.json",
     "_space-orig_desc-hmc_boldref.json", "its sidecar: Sources"},
    {&OutputPaths::brain_mask, nullptr, "_desc-brain_mask.nii.gz", nullptr,
     "brain mask of the boldref (voxels above an eighth of its mean, as SPM's spm_global)"},
    {&OutputPaths::brain_mask_json, nullptr, "_desc-brain_mask.json", nullptr,
     "its sidecar: how much of the brain some frame could not see"},
    {&OutputPaths::plot, "_motion.svg", "_desc-motion_bold.svg", nullptr,
     "motion plot (translations, rotations, FD)"},
    {&OutputPaths::par, ".par", "_desc-mcflirt_motion.par", nullptr,
     "with --par: the rp columns in FSL MCFLIRT's order"},
    {&OutputPaths::report, "_report.html", "_desc-realign_report.html", nullptr,
     "QC report: summary, motion plots, mean image before and after"},
    {&OutputPaths::follow, "_follow.json", nullptr, nullptr,
     "realign follow only: good time at each --good-fd threshold (and the further scan time "
     "with --criterion-minutes)"},
};

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string with_extension(std::string name, const std::string& ext) {
  const std::size_t at = name.find("{ext}");
  if (at != std::string::npos) name.replace(at, 5, ext);
  return name;
}

const char* name_for(const OutputName& n, OutputNaming naming) {
  if (naming == OutputNaming::Stem) return n.plain;
  if (naming == OutputNaming::BidsNext && n.bids_next) return n.bids_next;
  return n.bids;
}

// A BIDS image's sidecar: the same name with .json for .nii[.gz].
std::string sidecar_of(const std::string& image) { return split_image_path(image).first + ".json"; }

// `words` broken into lines of at most 78 characters, each after `indent` spaces but the
// first, which follows what the caller already wrote up to that column.
std::string wrapped(const std::string& words, std::size_t indent) {
  std::string text, word;
  std::size_t column = indent;
  std::istringstream in(words);
  while (in >> word) {
    if (column > indent && column + 1 + word.size() > 78) {
      text += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (column > indent) {
      text += ' ';
      ++column;
    }
    text += word;
    column += word.size();
  }
  return text + "\n";
}

}  // namespace

std::vector<std::string> OutputPaths::all() const {
  std::vector<std::string> out;
  for (const OutputName& n : kOutputNames)
    if (!(this->*n.field).empty()) out.push_back(this->*n.field);
  out.insert(out.end(), companions.begin(), companions.end());
  out.insert(out.end(), companions_json.begin(), companions_json.end());
  return out;
}

OutputPaths output_paths(const std::string& output, OutputNaming naming) {
  std::string stem, ext;
  if (naming != OutputNaming::Stem) {
    if (!ends_with(output, kBidsImage))
      throw OutputError(output, std::string("a BIDS derivative must end in ") + kBidsImage);
    stem = output.substr(0, output.size() - std::string(kBidsImage).size());
  } else {
    std::tie(stem, ext) = split_image_path(output);
    if (ext.empty()) throw OutputError(output, "output must end in .nii or .nii.gz");
  }
  OutputPaths p;
  for (const OutputName& n : kOutputNames)
    if (const char* name = name_for(n, naming)) p.*n.field = stem + with_extension(name, ext);
  return p;
}

OutputPaths output_paths(const RunFiles& files) {
  OutputPaths p = output_paths(files.output, files.naming);
  const bool bids = files.naming != OutputNaming::Stem;
  if (!files.image.empty()) {
    p.image = files.image;
    if (bids) p.image_json = sidecar_of(files.image);
  }
  for (const Companion& c : files.companions) {
    p.companions.push_back(c.output);
    if (bids) p.companions_json.push_back(sidecar_of(c.output));
  }
  return p;
}

std::string describe_outputs(OutputNaming naming) {
  std::string text;
  for (const OutputName& n : kOutputNames) {
    const char* name = name_for(n, naming);
    if (!name) continue;
    if (naming != OutputNaming::Stem)
      text += "  <run>" + std::string(name) + "\n      " + wrapped(n.what, 6);
    else
      text +=
          fmt::format("  {:<20}", "OUT" + with_extension(name, ".nii.gz")) + wrapped(n.what, 22);
  }
  return text;
}

std::vector<std::string> written_by(const OutputPaths& p, const RunOptions& opt) {
  const bool bids = opt.naming != OutputNaming::Stem;
  std::vector<std::string> out;
  if (opt.reslice) {
    out = {p.image, p.mean};
    out.insert(out.end(), p.companions.begin(), p.companions.end());
    if (bids) {
      out.push_back(p.image_json);
      out.insert(out.end(), p.companions_json.begin(), p.companions_json.end());
    }
  }
  if (!opt.apply_xfm.empty()) return out;
  for (const auto& f : {p.rp, p.tsv, p.json, p.xfm, p.plot}) out.push_back(f);
  if (bids)
    for (const auto& f : {p.itk, p.hmc_ref, p.hmc_ref_json, p.brain_mask, p.brain_mask_json})
      out.push_back(f);
  else if (opt.itk_xfm)
    out.push_back(p.itk);
  if (opt.write_par) out.push_back(p.par);
  if (opt.report) out.push_back(p.report);
  if (opt.follow && !p.follow.empty()) out.push_back(p.follow);
  return out;
}

void check_output_paths(const OutputPaths& paths, const RunOptions& opt) {
  const fs::path dir = fs::path(paths.image).parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::is_directory(dir, ec))
    throw OutputError(paths.image, "output directory does not exist");
  if (fs::is_directory(paths.image, ec))
    throw OutputError(paths.image, "is a directory; give the output image's file name");
  const std::string where = dir.empty() ? std::string(".") : dir.string();
  if (access(where.c_str(), W_OK | X_OK) != 0)
    throw OutputError(paths.image, "cannot write in " + where + ": " + std::strerror(errno));
  for (const std::string& out : paths.all())
    if (same_file(out, opt.input)) throw OutputError(out, "output would overwrite the input");
  std::vector<std::string> existing;
  for (const std::string& out : written_by(paths, opt))
    if (fs::exists(out, ec)) existing.push_back(fs::path(out).filename().string());
  if (existing.empty()) return;
  const std::string list = fmt::format("{}", fmt::join(existing, ", "));
  if (opt.no_clobber)
    throw OutputError(paths.image, "outputs exist (" + list + "); --no-clobber keeps them");
  spdlog::warn("replacing existing outputs: {} (--no-clobber refuses instead)", list);
}

}  // namespace realign
