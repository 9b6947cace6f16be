#include "realign/app/platform/memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

namespace realign {
namespace {

constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kMiB = 1024 * 1024;

// "<key>: <number> kB" lines of /proc files; kUnlimited when absent.
std::uint64_t proc_kb(const char* path, const std::string& key) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, key.size(), key) != 0 || line.size() <= key.size() ||
        line[key.size()] != ':')
      continue;
    std::istringstream in(line.substr(key.size() + 1));
    std::uint64_t kb = 0;
    if (in >> kb) return kb * 1024;
  }
  return kUnlimited;
}

// A file holding one number ("max" or absent: no limit).
std::uint64_t number_in(const std::string& path) {
  std::ifstream f(path);
  std::string word;
  if (!(f >> word) || word == "max") return kUnlimited;
  try {
    return std::stoull(word);
  } catch (...) {
    return kUnlimited;
  }
}

// The limit of this process's cgroup less what it already uses. Slurm and systemd put
// jobs in cgroups whose limit is far below the node's free memory.
std::uint64_t cgroup_headroom() {
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  std::uint64_t best = kUnlimited;
  while (std::getline(f, line)) {
    const std::size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), where = line.substr(b + 1);
    std::uint64_t limit = kUnlimited, used = 0;
    if (controllers.empty()) {  // v2
      limit = number_in("/sys/fs/cgroup" + where + "/memory.max");
      used = number_in("/sys/fs/cgroup" + where + "/memory.current");
    } else if (controllers.find("memory") != std::string::npos) {  // v1
      limit = number_in("/sys/fs/cgroup/memory" + where + "/memory.limit_in_bytes");
      used = number_in("/sys/fs/cgroup/memory" + where + "/memory.usage_in_bytes");
    }
    if (limit == kUnlimited) continue;
    if (used == kUnlimited) used = 0;
    best = std::min(best, limit > used ? limit - used : 0);
  }
  return best;
}

std::uint64_t address_space_headroom() {
  rlimit lim{};
  if (getrlimit(RLIMIT_AS, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return kUnlimited;
  const std::uint64_t mapped = proc_kb("/proc/self/status", "VmSize");
  const std::uint64_t used = mapped == kUnlimited ? 0 : mapped;
  return lim.rlim_cur > used ? lim.rlim_cur - used : 0;
}

}  // namespace

std::uint64_t estimate_node_bytes(const MemoryPlan& p) {
  const std::uint64_t ranks = static_cast<std::uint64_t>(std::max(1, p.ranks));
  const std::uint64_t per_rank = 12 * p.frame_bytes + 40 * kMiB;
  // Rank 0: a double and a float per voxel for each rank's block of the mean image.
  const std::uint64_t root = 3 * p.frame_bytes * ranks;
  return root + per_rank * static_cast<std::uint64_t>(std::max(1, p.ranks_here));
}

std::uint64_t available_bytes() {
  const std::uint64_t best = std::min(
      {proc_kb("/proc/meminfo", "MemAvailable"), cgroup_headroom(), address_space_headroom()});
  return best == kUnlimited ? 0 : best;
}

}  // namespace realign
