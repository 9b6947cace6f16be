#include "realign/app/run/reference_choice.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "realign/core/reference.hpp"

namespace realign {

ReferenceChoice parse_reference(const std::string& ref, int frames, const std::string& input) {
  ReferenceChoice c;
  if (ref == "mean") return c;
  if (ref == "first" || ref == "median" || ref == "middle") {
    c.kind = ReferenceChoice::Frame;
    c.median = ref == "median";
    // MCFLIRT's default reference: volume n/2, counted from 0.
    if (ref == "middle") c.frame = frames / 2;
    return c;
  }
  char* end = nullptr;
  const long n = std::strtol(ref.c_str(), &end, 10);
  if (end && *end == 0 && !ref.empty()) {
    if (n < 1 || n > frames)
      throw InputError(input, "--ref " + ref + " is not a frame of this series (1-" +
                                  std::to_string(frames) + ")");
    c.kind = ReferenceChoice::Frame;
    c.frame = static_cast<int>(n - 1);
    return c;
  }
  c.kind = ReferenceChoice::File;
  return c;
}

std::string describe_reference(const ReferenceChoice& c, const std::string& ref) {
  switch (c.kind) {
    case ReferenceChoice::Mean:
      return fmt::format(
          "mean of the frames (two passes, as SPM: every frame to frame {}, then every frame "
          "to the mean)",
          c.frame + 1);
    case ReferenceChoice::Frame:
      return fmt::format("frame {}{}", c.frame + 1,
                         c.median          ? " (closest to the run's median)"
                         : ref == "first"  ? " (first)"
                         : ref == "middle" ? " (middle, as MCFLIRT)"
                                           : "");
    case ReferenceChoice::File:
      break;
  }
  return "file " + std::filesystem::path(ref).filename().string();
}

int median_frame(const FrameFile& file, int first, int stride) {
  const Grid& g = file.grid();
  std::vector<float> frame(g.voxels());
  std::vector<std::vector<float>> samples(file.frames() - first);
  for (int f = first; f < file.frames(); ++f) {
    file.read(f, frame.data());
    std::vector<float>& s = samples[f - first];
    for (int z = 0; z < g.dim[2]; z += stride)
      for (int y = 0; y < g.dim[1]; y += stride)
        for (int x = 0; x < g.dim[0]; x += stride)
          s.push_back(frame[(static_cast<std::size_t>(z) * g.dim[1] + y) * g.dim[0] + x]);
  }
  return first + median_frame(samples);
}

void check_not_constant(const std::vector<float>& v, const std::string& file,
                        const std::string& what) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  if (lo == v.end() || *lo == *hi)
    throw InputError(file, what + " is constant (every voxel " +
                               (lo == v.end() ? std::string("missing") : fmt::format("{:g}", *lo)) +
                               ", NaN/Inf count as 0): nothing to align to");
}

std::vector<float> reference_volume(const ReferenceChoice& c, const std::string& ref,
                                    const FrameFile& input, const std::string& input_path) {
  if (c.kind == ReferenceChoice::File) {
    Volume v = read_volume(ref);
    if (!v.grid.same_as(input.grid(), 1e-3))
      throw InputError(ref, "reference is on a different grid from the input");
    check_not_constant(v.data, ref, "the reference");
    return std::move(v.data);
  }
  std::vector<float> v(input.grid().voxels());
  input.read(c.frame, v.data());
  check_not_constant(v, input_path,
                     fmt::format("frame {}, the reference{},", c.frame + 1,
                                 c.kind == ReferenceChoice::Mean ? " of the first pass" : ""));
  return v;
}

}  // namespace realign
