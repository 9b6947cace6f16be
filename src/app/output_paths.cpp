#include "realign/app/output_paths.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "realign/app/bids_layout.hpp"
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

OutputPaths output_paths(const std::string& output, OutputNaming naming) {
  if (naming == OutputNaming::Bids) return bids_derivative_paths(output);
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

std::vector<std::string> written_by(const OutputPaths& p, const Options& opt) {
  std::vector<std::string> out;
  if (opt.reslice) out = {p.image, p.mean};
  if (!opt.apply_xfm.empty()) return out;
  for (const auto& f : {p.rp, p.tsv, p.json, p.xfm, p.plot}) out.push_back(f);
  if (opt.write_par) out.push_back(p.par);
  if (opt.report) out.push_back(p.report);
  return out;
}

void check_output_paths(const OutputPaths& paths, const Options& opt) {
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
