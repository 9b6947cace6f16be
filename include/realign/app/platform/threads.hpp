// Being a good neighbour on a shared machine: OpenMP threads that sleep rather than spin
// while they wait, and as many threads as this process may really run at once (its CPU
// affinity mask, its cgroup's CPU quota, Slurm's allocation), not as many as the node has.
#pragma once

#include <functional>
#include <string>

namespace realign {

// Reads one environment variable (nullptr when unset); tests pass their own.
using EnvLookup = std::function<const char*(const char*)>;

// What must happen to the OpenMP wait policy before OpenMP starts.
struct WaitDecision {
  bool reexec = false;  // re-execute with OMP_WAIT_POLICY=passive
  std::string note;     // the policy in force, for the log
};

// Passive unless the user chose: OMP_WAIT_POLICY or GOMP_SPINCOUNT set (non-empty) are
// left alone; the variable this program sets before re-executing itself means "already
// done", so the re-execution happens at most once. A process that will run `threads` == 1
// thread needs no policy (0: not known yet).
WaitDecision decide_wait_policy(const EnvLookup& env, int threads);

// Called in main once the command line is parsed and completed (`threads`, the count this
// process will run), before MPI_Init: when decide_wait_policy asks for it, re-executes
// /proc/self/exe with the same argv and OMP_WAIT_POLICY=passive (libgomp reads it once,
// when it is loaded, before main). Returns the note on the policy in force; it returns
// only when no re-execution happened (not needed, or exec failed).
std::string make_openmp_wait_passive(char** argv, int threads);

// Where this process's cgroup is described; tests point these at a fake tree.
struct CgroupFiles {
  std::string self = "/proc/self/cgroup";  // "id:controllers:path" lines
  std::string root = "/sys/fs/cgroup";     // v2 mount, or the parent of the v1 mounts
};

// The CPUs a cgroup CPU quota allows: quota / period rounded up (at least 1), the least
// over the process's cgroup and its ancestors, v2 (cpu.max) or v1 (cpu.cfs_quota_us and
// cpu.cfs_period_us). 0 when there is no quota or nothing can be read.
int cgroup_cpu_quota(const CgroupFiles& files);

// CPUs in this thread's affinity mask (taskset, mpirun --bind-to, srun --cpu-bind,
// cpusets); 0 when it cannot be read.
int affinity_cpu_count();

// Everything the default thread count depends on; 0 means "unset" or "no limit".
struct CpuSources {
  int affinity = 0;         // CPUs in the affinity mask
  int cgroup_quota = 0;     // cgroup_cpu_quota
  int slurm = 0;            // SLURM_CPUS_PER_TASK
  int omp_num_threads = 0;  // the first (outermost) value of OMP_NUM_THREADS
};

// Reads the sources: the affinity mask of the calling thread (the online CPUs if it cannot
// be read), the cgroup files, and the variables through `env`.
CpuSources read_cpu_sources(const CgroupFiles& files, const EnvLookup& env);

struct ThreadChoice {
  int threads = 1;
  std::string reason;  // for the log: which rule and what each source said
};

// Threads of this process alive now (/proc/self/task): in a process without MPI, the main
// thread and the workers of the largest OpenMP team it ran (libgomp keeps them), so at the
// end of a run what the thread grant allowed it; 0 when it cannot be read.
int threads_alive();

// --threads (`requested` > 0) wins, then OMP_NUM_THREADS, then the least of the affinity
// mask, the cgroup quota and SLURM_CPUS_PER_TASK (1 when none is known).
ThreadChoice choose_threads(const CpuSources& sources, int requested);

}  // namespace realign
