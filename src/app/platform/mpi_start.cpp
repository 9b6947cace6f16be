#include "realign/app/platform/mpi_start.hpp"

#include <initializer_list>

namespace realign {
namespace {

const char* value(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

MpiStart decide_mpi_start(const EnvLookup& env) {
  MpiStart s;
  bool launched = false;
  for (const char* name :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    launched = launched || value(env, name) != nullptr;
  if (!launched) {
    s.start = false;
    s.note = "not started (no MPI launcher in the environment: one process)";
    return s;
  }
  const char* size = value(env, "OMPI_COMM_WORLD_SIZE");
  const char* local = value(env, "OMPI_COMM_WORLD_LOCAL_SIZE");
  if (const char* chosen = value(env, "OMPI_MCA_pml")) {
    s.note = std::string("point-to-point layer ") + chosen + " (OMPI_MCA_pml, set by the user)";
  } else if (size && local && std::string(size) == local) {
    s.pml = "ob1";
    s.note = "point-to-point layer ob1 (every rank on one node: shared memory)";
  } else {
    s.note = "point-to-point layer chosen by MPI";
  }
  return s;
}

}  // namespace realign
