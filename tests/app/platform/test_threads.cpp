// The good-neighbour rules: the default thread count from each source (affinity mask,
// cgroup quota files, SLURM_CPUS_PER_TASK, OMP_NUM_THREADS, --threads), and the OpenMP
// wait policy, both as decided and as libgomp holds it in a running realign.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "realign/app/platform/threads.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;
namespace fs = std::filesystem;

// An environment of the test's own making, so the real one does not matter.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      const auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

// A cgroup tree under a temporary directory: /proc/self/cgroup's stand-in and the files.
struct FakeCgroup {
  fs::path dir = realign::testing::temp_dir("cgroup");
  CgroupFiles files{(dir / "self_cgroup").string(), (dir / "fs").string()};
  explicit FakeCgroup(const std::string& self) { realign::testing::write_file(files.self, self); }
  void put(const std::string& rel, const std::string& text) {
    realign::testing::write_file((fs::path(files.root) / rel).string(), text);
  }
  int quota() const { return cgroup_cpu_quota(files); }
};

CpuSources sources(int affinity, int quota, int slurm, int omp = 0) {
  CpuSources s;
  s.affinity = affinity;
  s.cgroup_quota = quota;
  s.slurm = slurm;
  s.omp_num_threads = omp;
  return s;
}

TEST(Threads, DefaultIsTheLeastOfAffinityQuotaAndSlurm) {
  EXPECT_EQ(choose_threads(sources(8, 0, 0), 0).threads, 8);
  EXPECT_EQ(choose_threads(sources(1, 0, 0), 0).threads, 1);
  EXPECT_EQ(choose_threads(sources(8, 3, 0), 0).threads, 3);
  EXPECT_EQ(choose_threads(sources(8, 3, 2), 0).threads, 2);
  EXPECT_EQ(choose_threads(sources(2, 4, 6), 0).threads, 2);
  EXPECT_EQ(choose_threads(sources(0, 0, 0), 0).threads, 1);  // nothing known: one thread
}

TEST(Threads, ThreadsOptionWinsThenOmpNumThreads) {
  EXPECT_EQ(choose_threads(sources(2, 1, 1, 6), 5).threads, 5);
  EXPECT_EQ(choose_threads(sources(2, 1, 1, 6), 0).threads, 6);
  EXPECT_EQ(choose_threads(sources(2, 1, 1, 0), 4).threads, 4);
}

TEST(Threads, ReasonNamesTheRuleAndEverySource) {
  EXPECT_EQ(choose_threads(sources(2, 4, 0), 0).reason,
            "affinity 2 CPUs, cgroup quota 4, SLURM_CPUS_PER_TASK unset");
  EXPECT_EQ(choose_threads(sources(1, 0, 3), 0).reason,
            "affinity 1 CPU, cgroup quota none, SLURM_CPUS_PER_TASK 3");
  EXPECT_EQ(choose_threads(sources(2, 0, 0, 3), 0).reason.rfind("OMP_NUM_THREADS; ", 0), 0u);
  EXPECT_EQ(choose_threads(sources(2, 0, 0, 3), 7).reason.rfind("--threads; ", 0), 0u);
}

TEST(Threads, ReadsSlurmAndOmpNumThreadsFromTheEnvironment) {
  FakeCgroup none("0::/\n");
  FakeEnv env;
  env.vars = {{"SLURM_CPUS_PER_TASK", "3"}, {"OMP_NUM_THREADS", " 4,2"}};
  CpuSources s = read_cpu_sources(none.files, env.lookup());
  EXPECT_EQ(s.slurm, 3);
  EXPECT_EQ(s.omp_num_threads, 4);  // the outer level of a nested list
  EXPECT_EQ(s.cgroup_quota, 0);
  EXPECT_GE(s.affinity, 1);
  // Malformed or zero values count as unset, as libgomp ignores them.
  for (const char* bad : {"", "0", "-2", "two", "3x"}) {
    env.vars = {{"SLURM_CPUS_PER_TASK", bad}, {"OMP_NUM_THREADS", bad}};
    s = read_cpu_sources(none.files, env.lookup());
    EXPECT_EQ(s.slurm, 0) << bad;
    EXPECT_EQ(s.omp_num_threads, 0) << bad;
  }
}

TEST(Threads, CgroupV2QuotaRoundsUpAndTakesTheLeastAncestor) {
  FakeCgroup cg("0::/job/step\n");
  EXPECT_EQ(cg.quota(), 0);  // no files: no quota
  cg.put("job/step/cpu.max", "max 100000\n");
  EXPECT_EQ(cg.quota(), 0);
  cg.put("job/cpu.max", "150000 100000\n");  // 1.5 CPUs on the parent
  EXPECT_EQ(cg.quota(), 2);
  cg.put("job/step/cpu.max", "50000 100000\n");  // half a CPU still gets one thread
  EXPECT_EQ(cg.quota(), 1);
}

TEST(Threads, CgroupV2QuotaAtTheMountRoot) {
  FakeCgroup cg("0::/\n");
  cg.put("cpu.max", "400000 100000\n");  // inside a container: its own cgroup is the root
  EXPECT_EQ(cg.quota(), 4);
}

TEST(Threads, CgroupV1QuotaFromCfsFiles) {
  FakeCgroup cg("12:memory:/slurm/job\n4:cpu,cpuacct:/slurm/job\n0::/\n");
  cg.put("cpu,cpuacct/slurm/job/cpu.cfs_quota_us", "-1\n");
  cg.put("cpu,cpuacct/slurm/job/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(cg.quota(), 0);
  cg.put("cpu,cpuacct/slurm/job/cpu.cfs_quota_us", "300000\n");
  EXPECT_EQ(cg.quota(), 3);
  cg.put("cpu,cpuacct/slurm/cpu.cfs_quota_us", "250000\n");
  cg.put("cpu,cpuacct/slurm/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(cg.quota(), 3);  // the parent allows 2.5 CPUs: rounded up
  cg.put("cpu,cpuacct/slurm/cpu.cfs_quota_us", "120000\n");
  EXPECT_EQ(cg.quota(), 2);
}

TEST(Threads, CgroupV1MountNamedCpu) {
  FakeCgroup cg("3:cpuacct,cpu:/a\n2:cpuset:/b\n");
  cg.put("cpu/a/cpu.cfs_quota_us", "200000\n");
  cg.put("cpu/a/cpu.cfs_period_us", "100000\n");
  cg.put("cpuset/b/cpu.cfs_quota_us", "100000\n");  // not the cpu controller: ignored
  cg.put("cpuset/b/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(cg.quota(), 2);
}

// This machine's cgroup CPU quota, found here with code of the test's own: for each line
// "id:controllers:path" of /proc/self/cgroup that is v2 (no controllers) or a v1 hierarchy
// with the cpu controller, the quota files of the process's cgroup and of every ancestor up
// to the mount: cpu.max ("QUOTA PERIOD" or "max PERIOD") under /sys/fs/cgroup for v2,
// cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us under every /sys/fs/cgroup/<dir> whose
// name lists cpu ("cpu", "cpu,cpuacct") for v1. Each quota / period rounded up, the least of
// them; 0 when there is none. What was read goes into `read`.
int quota_read_here(std::string& read) {
  const auto least = [](int a, int b) { return a == 0 ? b : b == 0 ? a : std::min(a, b); };
  const auto cpus = [](long long quota, long long period) {
    return static_cast<int>(std::ceil(static_cast<double>(quota) / static_cast<double>(period)));
  };
  const fs::path mount_root = "/sys/fs/cgroup";
  int best = 0;
  std::ifstream self("/proc/self/cgroup");
  for (std::string line; std::getline(self, line);) {
    read += "/proc/self/cgroup: " + line + "\n";
    const std::size_t first = line.find(':'), second = line.find(':', first + 1);
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const fs::path path = line.substr(second + 1);
    std::vector<fs::path> mounts;
    bool v1_cpu = false;
    std::istringstream names(controllers);
    for (std::string c; std::getline(names, c, ',');) v1_cpu = v1_cpu || c == "cpu";
    if (controllers.empty()) {
      mounts.push_back(mount_root);
    } else if (v1_cpu) {
      std::error_code ec;
      for (const fs::directory_entry& e : fs::directory_iterator(mount_root, ec)) {
        std::istringstream parts(e.path().filename().string());
        for (std::string c; std::getline(parts, c, ',');)
          if (c == "cpu" && e.is_directory()) mounts.push_back(e.path());
      }
    }
    for (const fs::path& mount : mounts) {
      for (fs::path p = path;; p = p.parent_path()) {
        const fs::path dir = mount / p.relative_path();
        long long quota = 0, period = 0;
        if (controllers.empty()) {
          std::ifstream max(dir / "cpu.max");
          std::string q;
          if (max >> q >> period) {
            read += (dir / "cpu.max").string() + ": " + q + " " + std::to_string(period) + "\n";
            if (q != "max") best = least(best, cpus(std::stoll(q), period));
          }
        } else {
          std::ifstream q(dir / "cpu.cfs_quota_us"), per(dir / "cpu.cfs_period_us");
          if (q >> quota && per >> period) {
            read += (dir / "cpu.cfs_quota_us").string() + ": " + std::to_string(quota) + ", " +
                    (dir / "cpu.cfs_period_us").string() + ": " + std::to_string(period) + "\n";
            if (quota > 0) best = least(best, cpus(quota, period));
          }
        }
        if (p == p.root_path() || p.empty()) break;
      }
    }
  }
  return best;
}

TEST(Threads, CgroupQuotaReadsThisMachine) {
  // Where this was written (Linux with cgroup v1 and v2 side by side; the process in the
  // root cgroup of each hierarchy) it read /sys/fs/cgroup/cpu/cpu.cfs_quota_us -1 (no
  // quota) with cpu.cfs_period_us 100000, and found no cpu.max (the v2 hierarchy, mounted
  // at /sys/fs/cgroup/unified, does not hold the cpu controller): 0 expected, and 0 is
  // what the library must say there too.
  std::string read;
  const int expected = quota_read_here(read);
  EXPECT_EQ(cgroup_cpu_quota(CgroupFiles{}), expected) << "read here:\n" << read;
}

// The affinity count follows the mask: narrowed to one CPU, it says 1.
TEST(Threads, AffinityCountFollowsTheMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(affinity_cpu_count(), CPU_COUNT(&saved));
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const int narrowed = affinity_cpu_count();
  const int threads = choose_threads(read_cpu_sources({}, FakeEnv{}.lookup()), 0).threads;
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(narrowed, 1);
  EXPECT_EQ(threads, 1);
}

TEST(Threads, WaitPolicyPassiveUnlessTheUserChose) {
  FakeEnv env;
  WaitDecision d = decide_wait_policy(env.lookup(), 0);
  EXPECT_TRUE(d.reexec);
  EXPECT_EQ(d.note, "passive");
  env.vars = {{"OMP_WAIT_POLICY", ""}};  // empty: not a choice
  EXPECT_TRUE(decide_wait_policy(env.lookup(), 0).reexec);
  env.vars = {{"OMP_WAIT_POLICY", "active"}};
  d = decide_wait_policy(env.lookup(), 0);
  EXPECT_FALSE(d.reexec);
  EXPECT_EQ(d.note, "active (OMP_WAIT_POLICY, set by the user)");
  env.vars = {{"GOMP_SPINCOUNT", "10000"}};
  d = decide_wait_policy(env.lookup(), 0);
  EXPECT_FALSE(d.reexec);
  EXPECT_EQ(d.note, "GOMP_SPINCOUNT=10000 (set by the user)");
}

TEST(Threads, WaitPolicyNotNeededForOneThread) {
  FakeEnv env;
  WaitDecision d = decide_wait_policy(env.lookup(), 1);
  EXPECT_FALSE(d.reexec);
  EXPECT_EQ(d.note, "none needed (one thread)");
  EXPECT_TRUE(decide_wait_policy(env.lookup(), 2).reexec);
  env.vars = {{"OMP_WAIT_POLICY", "active"}};  // the user's choice is still reported
  EXPECT_EQ(decide_wait_policy(env.lookup(), 1).note, "active (OMP_WAIT_POLICY, set by the user)");
}

TEST(Threads, WaitPolicyReexecutesAtMostOnce) {
  FakeEnv env;
  // What the program sets before re-executing itself.
  env.vars = {{"OMP_WAIT_POLICY", "passive"}, {"REALIGN_PASSIVE_WAIT_REEXEC", "1"}};
  const WaitDecision d = decide_wait_policy(env.lookup(), 0);
  EXPECT_FALSE(d.reexec);
  EXPECT_EQ(d.note, "passive");
}

// What libgomp itself holds in a running realign: OMP_DISPLAY_ENV=verbose makes it print
// its settings when it is loaded, once per program image. The run starts (the options are
// completed, the policy decided) and then stops at once: its output directory is missing.
std::string openmp_display(const std::string& env_settings, const std::string& args = "",
                           const std::string& command = "/no-such-dir/in.nii /no-such-dir/out.nii",
                           int status = 3) {
  const std::string cmd = "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " + env_settings +
                          " OMP_DISPLAY_ENV=verbose " REALIGN_BINARY " " + args + " " + command +
                          " 2>&1";
  const realign::testing::CommandOutput out = realign::testing::run_command(cmd);
  EXPECT_EQ(WEXITSTATUS(out.status), status) << out.text;
  return out.text;
}

// The spin count of the last image (the one that runs), as libgomp prints it.
std::string last_spincount(const std::string& display) {
  const std::string key = "GOMP_SPINCOUNT = '";
  const std::size_t at = display.rfind(key);
  if (at == std::string::npos) return "absent";
  const std::size_t begin = at + key.size();
  return display.substr(begin, display.find('\'', begin) - begin);
}

TEST(Threads, RunningRealignWaitsPassivelyByDefault) {
  const std::string out = openmp_display("");
  EXPECT_EQ(realign::testing::count_of(out, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 2u) << out;
  EXPECT_EQ(last_spincount(out), "0") << out;  // passive: threads sleep at once
}

// One thread (each rank under mpirun's default binding) never waits: no second start.
TEST(Threads, RunningRealignWithOneThreadStartsOnce) {
  std::string out = openmp_display("OMP_NUM_THREADS=1");
  EXPECT_EQ(realign::testing::count_of(out, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 1u) << out;
  // --threads decides before the default does.
  out = openmp_display("", "--threads 1");
  EXPECT_EQ(realign::testing::count_of(out, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 1u) << out;
  out = openmp_display("OMP_NUM_THREADS=1", "--threads=2");
  EXPECT_EQ(realign::testing::count_of(out, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 2u) << out;
  EXPECT_EQ(last_spincount(out), "0") << out;
}

// What ends at the command line (--help, --version, a usage error) starts once: no work
// follows that could wait.
TEST(Threads, RealignThatOnlyParsesStartsOnce) {
  for (const auto& [command, status] :
       {std::pair<std::string, int>{"--version", 0}, {"bids --help", 0}, {"--fwhm x a b", 2}}) {
    const std::string out = openmp_display("", "", command, status);
    EXPECT_EQ(realign::testing::count_of(out, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 1u) << out;
  }
}

TEST(Threads, RunningRealignKeepsTheUsersWaitPolicy) {
  std::string out = openmp_display("OMP_WAIT_POLICY=active");
  EXPECT_EQ(realign::testing::count_of(out, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 1u) << out;
  EXPECT_NE(last_spincount(out), "0") << out;
  out = openmp_display("GOMP_SPINCOUNT=12345");
  EXPECT_EQ(realign::testing::count_of(out, "OPENMP DISPLAY ENVIRONMENT BEGIN"), 1u) << out;
  EXPECT_EQ(last_spincount(out), "12345") << out;
}

}  // namespace
