// How MPI starts, from the environment a launcher leaves (or does not leave) to each rank.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "realign/app/platform/mpi_start.hpp"
#include "test_support.hpp"

namespace {

using realign::decide_mpi_start;
using realign::EnvLookup;
using realign::MpiStart;

EnvLookup lookup(const std::map<std::string, std::string>& vars) {
  return [&vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(MpiStart, NoLauncherMeansOneProcessWithoutMpi) {
  const std::map<std::string, std::string> none;
  EXPECT_FALSE(decide_mpi_start(lookup(none)).start);
  const std::map<std::string, std::string> empty = {{"OMPI_COMM_WORLD_SIZE", ""}};
  EXPECT_FALSE(decide_mpi_start(lookup(empty)).start);
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    const std::map<std::string, std::string> one = {{name, "0"}};
    EXPECT_TRUE(decide_mpi_start(lookup(one)).start) << name;
  }
}

TEST(MpiStart, SharedMemoryLayerWhenEveryRankIsOnOneNode) {
  std::map<std::string, std::string> env = {{"OMPI_COMM_WORLD_SIZE", "2"},
                                            {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}};
  MpiStart s = decide_mpi_start(lookup(env));
  EXPECT_TRUE(s.start);
  EXPECT_EQ(s.pml, "ob1");
  env["OMPI_COMM_WORLD_LOCAL_SIZE"] = "1";  // two nodes: the fabric is MPI's to choose
  s = decide_mpi_start(lookup(env));
  EXPECT_EQ(s.pml, "");
  EXPECT_EQ(s.note, "point-to-point layer chosen by MPI");
  env["OMPI_COMM_WORLD_LOCAL_SIZE"] = "2";
  env["OMPI_MCA_pml"] = "ucx";  // the user's choice stands
  s = decide_mpi_start(lookup(env));
  EXPECT_EQ(s.pml, "");
  EXPECT_EQ(s.note, "point-to-point layer ucx (OMPI_MCA_pml, set by the user)");
  const std::map<std::string, std::string> pmix = {{"PMIX_RANK", "0"}};  // not Open MPI's
  EXPECT_EQ(decide_mpi_start(lookup(pmix)).pml, "");
}

// What a running realign says it did, with -v, alone and under mpirun on this node.
std::string realign_log(const std::string& launcher) {
  const std::string dir = realign::testing::temp_dir("mpi_start");
  realign::testing::write_small_series(dir);
  const std::string cmd =
      "cd " + dir + " && " + launcher + " " REALIGN_BINARY " -v --no-report s.nii out.nii 2>&1";
  const realign::testing::CommandOutput out = realign::testing::run_command(cmd);
  EXPECT_EQ(out.status, 0) << out.text;
  return out.text;
}

TEST(MpiStart, RunningRealignSaysHowMpiStarted) {
  std::string out = realign_log("env -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK -u PMI_RANK -u PMI_SIZE");
  EXPECT_NE(out.find("MPI: not started (no MPI launcher"), std::string::npos) << out;
  out = realign_log("env -u OMPI_MCA_pml mpirun --oversubscribe -n 2");
  EXPECT_NE(out.find("MPI: point-to-point layer ob1"), std::string::npos) << out;
}

}  // namespace
