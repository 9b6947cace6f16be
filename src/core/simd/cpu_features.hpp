// What the CPU running this process offers, asked once: the kernels built for AVX2 are
// chosen at run time, so that one portable binary suits every x86-64 node.
#pragma once

namespace realign {

inline bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
#else
  return false;
#endif
}

}  // namespace realign
