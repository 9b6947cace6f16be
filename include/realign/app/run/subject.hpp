// Several runs of one subject realigned into one space, as SPM12 realigns several
// sessions: the first run as a run alone (with its --ref), every later run registered to
// the first run's reference, and every run's parameters relative to frame 1 of the first
// run. Each run writes the outputs a run alone writes; the subject report shows them all.
#pragma once

#include <string>
#include <vector>

#include "realign/app/run/pipeline.hpp"
#include "realign/app/run/run_options.hpp"

namespace realign {

struct SubjectJob {
  std::vector<RunFiles> runs;  // the first run first; every run's files and names
  std::string report;          // the subject's HTML report; empty for none
};

// What `realign RUN1 RUN2 ... -o OUTDIR` runs: OUTDIR/<the input's file name> per run
// (so the input's extension), and OUTDIR/subject_report.html when `report`.
SubjectJob subject_job(const std::vector<std::string>& inputs, const std::string& outdir,
                       bool report);

// Collective. Before any run starts, rank 0 checks every input's header and that they
// share the first run's grid (dimensions and voxel-to-world matrix), that no two outputs
// coincide, and (--no-clobber) that none exists; a refusal is a RunError naming the file.
// The runs then go one after another, each over every rank, and every output of every run
// is renamed into place together at the end: a failure in any run leaves nothing behind.
// One result per run, in order (outputs and times on rank 0).
std::vector<RunResult> run_subject(const RunSettings& settings, const SubjectJob& job);

}  // namespace realign
