#include "realign/app/platform/threads.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>

namespace realign {
namespace {

// Set, with OMP_WAIT_POLICY, just before re-executing: tells the new image that the
// policy is realign's own and that it must not re-execute again.
constexpr const char* kReexecMark = "REALIGN_PASSIVE_WAIT_REEXEC";

bool is_set(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v != nullptr && *v != '\0';
}

// A whole positive decimal number (surrounding blanks allowed, as libgomp allows them);
// 0 for anything else, so that a malformed value counts as unset.
int positive_int(const std::string& text) {
  std::istringstream in(text);
  long v = 0;
  std::string rest;
  if (!(in >> v) || (in >> rest) || v <= 0 || v > 1 << 20) return 0;
  return static_cast<int>(v);
}

int env_int(const EnvLookup& env, const char* name) {
  const char* v = env(name);
  return v ? positive_int(v) : 0;
}

// OMP_NUM_THREADS may be a list for nested levels; realign's parallelism is one level.
int omp_num_threads(const EnvLookup& env) {
  const char* v = env("OMP_NUM_THREADS");
  if (!v) return 0;
  const std::string s(v);
  return positive_int(s.substr(0, s.find(',')));
}

int cpus_for(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  return static_cast<int>(std::max(1LL, (quota + period - 1) / period));
}

// The smaller of two limits where 0 means "no limit".
int least(int a, int b) { return a == 0 ? b : b == 0 ? a : std::min(a, b); }

// v2: cpu.max holds "QUOTA PERIOD", or "max PERIOD" without a quota.
int quota_v2(const std::string& dir) {
  std::ifstream f(dir + "/cpu.max");
  std::string quota;
  long long period = 0;
  if (!(f >> quota >> period) || quota == "max") return 0;
  return cpus_for(std::atoll(quota.c_str()), period);
}

// v1: cpu.cfs_quota_us is -1 without a quota.
int quota_v1(const std::string& dir) {
  std::ifstream q(dir + "/cpu.cfs_quota_us"), p(dir + "/cpu.cfs_period_us");
  long long quota = 0, period = 0;
  if (!(q >> quota) || !(p >> period)) return 0;
  return cpus_for(quota, period);
}

// A quota on any ancestor binds its descendants, and Slurm or systemd often set it on a
// parent of the process's own cgroup; inside a container the walk ends at the
// container's cgroup, which is the mount's root.
template <class Quota>
int least_up_the_tree(const std::string& mount, std::string path, Quota quota) {
  int best = 0;
  while (true) {
    if (path == "/") path.clear();
    best = least(best, quota(mount + path));
    if (path.empty()) return best;
    path.erase(path.rfind('/'));
  }
}

bool lists_cpu(const std::string& controllers) {
  std::istringstream in(controllers);
  std::string c;
  while (std::getline(in, c, ','))
    if (c == "cpu") return true;
  return false;
}

// Where a v1 hierarchy is mounted: named after its controllers ("cpu,cpuacct"), with a
// "cpu" link beside it on most systems.
std::string v1_mount(const std::string& root, const std::string& controllers) {
  const std::string named = root + "/" + controllers;
  return std::filesystem::is_directory(named) ? named : root + "/cpu";
}

// "affinity 2 CPUs, cgroup quota none, SLURM_CPUS_PER_TASK unset", for the log.
std::string describe(const CpuSources& s) {
  const auto or_word = [](int v, const char* word) {
    return v > 0 ? std::to_string(v) : std::string(word);
  };
  const std::string affinity = s.affinity == 0   ? "unknown"
                               : s.affinity == 1 ? "1 CPU"
                                                 : std::to_string(s.affinity) + " CPUs";
  return "affinity " + affinity + ", cgroup quota " + or_word(s.cgroup_quota, "none") +
         ", SLURM_CPUS_PER_TASK " + or_word(s.slurm, "unset");
}

}  // namespace

WaitDecision decide_wait_policy(const EnvLookup& env, int threads) {
  if (is_set(env, kReexecMark)) return {false, "passive"};
  if (is_set(env, "OMP_WAIT_POLICY"))
    return {false, std::string(env("OMP_WAIT_POLICY")) + " (OMP_WAIT_POLICY, set by the user)"};
  if (is_set(env, "GOMP_SPINCOUNT"))
    return {false, std::string("GOMP_SPINCOUNT=") + env("GOMP_SPINCOUNT") + " (set by the user)"};
  // A team of one never waits for another thread (each rank under mpirun's default
  // binding): not worth a second start of the program.
  if (threads == 1) return {false, "none needed (one thread)"};
  return {true, "passive"};
}

std::string make_openmp_wait_passive(char** argv, int threads) {
  const WaitDecision d = decide_wait_policy(std::getenv, threads);
  unsetenv(kReexecMark);  // it has done its job; nothing this process starts needs it
  if (!d.reexec) return d.note;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  setenv(kReexecMark, "1", 1);
  execv("/proc/self/exe", argv);
  // Still here: this image's OpenMP was set up without the variable, so it spins.
  const int err = errno;
  unsetenv(kReexecMark);
  unsetenv("OMP_WAIT_POLICY");
  return std::string(
             "OpenMP's default, spinning (re-executing with OMP_WAIT_POLICY=passive "
             "failed: ") +
         std::strerror(err) + ")";
}

int cgroup_cpu_quota(const CgroupFiles& files) {
  std::ifstream f(files.self);
  std::string line;
  int best = 0;
  while (std::getline(f, line)) {
    const std::size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers.empty())
      best = least(best, least_up_the_tree(files.root, path, quota_v2));
    else if (lists_cpu(controllers))
      best = least(best, least_up_the_tree(v1_mount(files.root, controllers), path, quota_v1));
  }
  return best;
}

int affinity_cpu_count() {
  // cpu_set_t holds 1024 CPUs; larger machines need a larger mask, and the kernel says
  // EINVAL while the mask is too small for its CPU numbers.
  for (int n = 1024; n <= 1 << 18; n *= 2) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (set == nullptr) return 0;
    const std::size_t size = CPU_ALLOC_SIZE(n);
    const int ok = sched_getaffinity(0, size, set);
    const int err = errno;
    const int count = ok == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (ok == 0 || err != EINVAL) return count;
  }
  return 0;
}

CpuSources read_cpu_sources(const CgroupFiles& files, const EnvLookup& env) {
  CpuSources s;
  s.affinity = affinity_cpu_count();
  if (s.affinity == 0) s.affinity = static_cast<int>(std::max(0L, sysconf(_SC_NPROCESSORS_ONLN)));
  s.cgroup_quota = cgroup_cpu_quota(files);
  s.slurm = env_int(env, "SLURM_CPUS_PER_TASK");
  s.omp_num_threads = omp_num_threads(env);
  return s;
}

int threads_alive() {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

ThreadChoice choose_threads(const CpuSources& s, int requested) {
  const std::string sources = describe(s);
  if (requested > 0) return {requested, "--threads; " + sources};
  if (s.omp_num_threads > 0) return {s.omp_num_threads, "OMP_NUM_THREADS; " + sources};
  int n = 0;
  for (int limit : {s.affinity, s.cgroup_quota, s.slurm}) n = least(n, limit);
  return {std::max(1, n), sources};
}

}  // namespace realign
