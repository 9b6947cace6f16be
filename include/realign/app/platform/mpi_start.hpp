// How MPI starts, decided from the environment before MPI_Init: not at all for a single
// process that no launcher started, and over shared memory alone when every rank shares
// one node. Both are start-up time: Open MPI 4.1's singleton start takes about 0.4 s, and
// probing UCX on a node without a fabric 0.2 s more per job.
#pragma once

#include <string>

#include "realign/app/platform/threads.hpp"

namespace realign {

struct MpiStart {
  bool start = true;  // call MPI_Init (false: one process, no launcher)
  std::string pml;    // Open MPI's point-to-point layer to ask for (empty: its own choice)
  std::string note;   // for the log
};

// A launcher (Open MPI's mpirun, PMIx, Slurm's srun with PMI, MPICH's Hydra) leaves its
// variables in each rank's environment; without any of them the process is alone and MPI
// is not started: realign then runs as one rank, as it would under `mpirun -n 1`. Under
// Open MPI with every rank on one node and no point-to-point layer chosen by the user
// (OMPI_MCA_pml), ob1 is asked for: its shared-memory transport is all a one-node job
// uses, and it skips the UCX probe.
MpiStart decide_mpi_start(const EnvLookup& env);

}  // namespace realign
