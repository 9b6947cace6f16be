#include "realign/app/run/subject.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <set>
#include <stdexcept>

#include "realign/app/platform/distribute.hpp"
#include "realign/app/run/input_checks.hpp"
#include "realign/app/run/output_paths.hpp"
#include "realign/io/nifti_header.hpp"
#include "realign/report/subject_report.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

std::string grid_words(const Grid& g) {
  const Vec3 v = g.voxel_size_mm();
  return fmt::format("{}x{}x{} voxels of {:.4g}x{:.4g}x{:.4g} mm", g.dim[0], g.dim[1], g.dim[2],
                     v[0], v[1], v[2]);
}

// Rank 0: every input readable, 4D, on the first run's grid and with a TR that suits
// --fd-filter (the sidecar's when given, as the run will use it).
void check_inputs(const RunSettings& settings, const SubjectJob& job) {
  NiftiInfo first;
  const std::string& first_input = job.runs.front().input;
  for (std::size_t k = 0; k < job.runs.size(); ++k) {
    const std::string& input = job.runs[k].input;
    std::error_code ec;
    if (fs::is_directory(input, ec))
      throw InputError(input,
                       "is a directory: a run exported as DICOM is realigned alone (realign DIR "
                       "OUT.nii.gz); the runs of a subject are NIfTI files");
    const NiftiInfo info = read_nifti_header(input);
    if (info.frames < 2)
      throw InputError(input, "is a 3D image or has one frame; realign needs a 4D series");
    const double tr = job.runs[k].repetition_time_s > 0 ? job.runs[k].repetition_time_s : info.tr_s;
    check_fd_filter(run_options(settings, job.runs[k]), tr);
    if (k == 0) {
      first = info;
      continue;
    }
    if (info.grid.dim != first.grid.dim ||
        (info.grid.voxel_size_mm() - first.grid.voxel_size_mm()).cwiseAbs().maxCoeff() > 1e-4)
      throw InputError(input, "is on another grid (" + grid_words(info.grid) + ") than " +
                                  file_name(first_input) + " (" + grid_words(first.grid) +
                                  "); the runs of a subject must share one grid");
    if (!info.grid.same_as(first.grid, 1e-3))
      throw InputError(input, "has another voxel-to-world matrix than " + file_name(first_input) +
                                  "; realign puts runs in one space only when their headers "
                                  "place them alike (realign them one by one)");
  }
}

// Rank 0: no two runs write the same file, none overwrites an input, and with
// --no-clobber none exists.
void check_outputs(const RunSettings& settings, const SubjectJob& job) {
  std::set<std::string> seen;
  std::vector<std::string> all;
  for (const RunFiles& run : job.runs)
    for (const std::string& out : written_by(output_paths(run), run_options(settings, run)))
      all.push_back(out);
  if (!job.report.empty()) all.push_back(job.report);
  std::error_code ec;
  for (const std::string& out : all) {
    const std::string key = fs::weakly_canonical(out, ec).string();
    if (!seen.insert(key).second)
      throw OutputError(out,
                        "two runs of the subject would write this file; give the runs "
                        "different file names");
    for (const RunFiles& run : job.runs)
      if (fs::exists(run.input, ec) && fs::exists(out, ec) && fs::equivalent(run.input, out, ec))
        throw OutputError(out, "output would overwrite the input");
    if (settings.no_clobber && fs::exists(out, ec))
      throw OutputError(out, "output exists; --no-clobber keeps it");
  }
}

// Collective: rank 0 refuses the job before any run starts.
void check_subject(const RunSettings& settings, const SubjectJob& job) {
  if (job.runs.empty()) throw std::invalid_argument("run_subject: at least one run");
  on_root([&] {
    check_inputs(settings, job);
    check_outputs(settings, job);
  });
}

// Rank 0: the subject report, then every output of every run into place.
void finish(const RunSettings& settings, const SubjectJob& job,
            const std::vector<RunResult>& results, OutputSet& outs) {
  try {
    if (!job.report.empty()) {
      std::vector<SubjectRun> runs;
      for (std::size_t k = 0; k < results.size(); ++k) {
        const std::string report = output_paths(job.runs[k]).report;
        const fs::path dir = fs::path(job.report).parent_path();
        runs.push_back({&results[k].record,
                        settings.report ? fs::relative(report, dir.empty() ? "." : dir).string()
                                        : std::string()});
      }
      write_subject_report(outs.temp_for(job.report), runs);
    }
    outs.commit();
  } catch (const std::exception& e) {
    const std::string message = outs.with_final_names(e.what());
    outs.discard();
    throw RunError(message, exit_status_of(e));
  }
}

}  // namespace

SubjectJob subject_job(const std::vector<std::string>& inputs, const std::string& outdir,
                       bool report) {
  SubjectJob job;
  for (const std::string& in : inputs) {
    RunFiles run;
    run.input = in;
    run.output = (fs::path(outdir) / file_name(in)).string();
    job.runs.push_back(run);
  }
  if (report) job.report = (fs::path(outdir) / "subject_report.html").string();
  return job;
}

std::vector<RunResult> run_subject(const RunSettings& settings, const SubjectJob& job) {
  check_subject(settings, job);
  auto outs = mpi_rank() == 0 ? std::make_unique<OutputSet>() : nullptr;
  CommonReference common;
  std::vector<RunResult> results;
  for (std::size_t k = 0; k < job.runs.size(); ++k) {
    if (mpi_rank() == 0)
      spdlog::info("run {} of {}: {}", k + 1, job.runs.size(), file_name(job.runs[k].input));
    SubjectLink link;
    link.outputs = outs.get();
    if (k == 0)
      link.made = &common;
    else
      link.given = &common;
    results.push_back(run_realign(run_options(settings, job.runs[k]), link));
  }
  if (outs) finish(settings, job, results, *outs);
  return results;
}

}  // namespace realign
