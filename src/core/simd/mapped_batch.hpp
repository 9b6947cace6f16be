// Sample points mapped into a frame a batch at a time, for the loops that interpolate the
// frame at them: the points that fall inside its interior go to the batch interpolation
// together (batch::value_gradients, batch::padded_values).
#pragma once

#include <cstddef>

#include "realign/core/sampling.hpp"
#include "realign/core/volume.hpp"

namespace realign {

struct MappedBatch {
  static constexpr int kMax = 16;
  int n = 0;  // how many of the points were inside
  std::size_t index[kMax];
  double x[kMax], y[kMax], z[kMax];  // frame voxels
};

// Points p0, p0 + stride, ... below p1 (at most MappedBatch::kMax of them) of s mapped by a
// (reference voxels to frame voxels): those inside `in`, in order.
inline void map_inside(const SampleSet& s, const Mat4& a, const Interior& in, std::size_t p0,
                       std::size_t p1, std::size_t stride, MappedBatch& out) {
  out.n = 0;
  for (std::size_t p = p0; p < p1; p += stride) {
    const Eigen::Vector4d t = a * Eigen::Vector4d(s.x[p], s.y[p], s.z[p], 1.0);
    if (!in.contains(t[0], t[1], t[2])) continue;
    out.index[out.n] = p;
    out.x[out.n] = t[0];
    out.y[out.n] = t[1];
    out.z[out.n] = t[2];
    ++out.n;
  }
}

}  // namespace realign
