// libFuzzer target for the NIfTI reader: any bytes are a file held in memory, read as
// SeriesFile reads a file from disk (header checks, gzip inflated with its cap, voxels
// decoded). Beyond the sanitizers' own findings, it traps when the reader breaks its
// contract: an exception other than a one-line InputError naming the file, an accepted
// header whose numbers disagree with each other, or a non-finite value handed out.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_target.hpp"
#include "realign/io/nifti_io.hpp"

namespace {

// Decoding more than this per input only slows the fuzzer down; headers are still checked.
constexpr std::uint64_t kMaxDecodedBytes = 64u << 20;

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

namespace realign::fuzz {
Outcome last_outcome = Outcome::Refused;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace realign;
  const std::string name = "fuzz.nii";
  fuzz::last_outcome = fuzz::Outcome::Refused;
  try {
    const NiftiInfo info = read_nifti_header(name, data, size);
    const std::uint64_t voxels = info.grid.voxels();
    require(voxels > 0 && info.frames > 0);
    require(info.data_bytes == voxels * static_cast<std::uint64_t>(info.frames) *
                                   static_cast<std::uint64_t>(info.bytes_per_voxel));
    require(info.vox_offset >= kNiftiHeaderBytes);
    require(info.gzip || info.image_bytes() <= size);
    require(!info.gzip || info.image_bytes() <= kMaxDeflateRatio * size);
    require(info.grid.vox2world.allFinite() && info.tr_s >= 0.0 && std::isfinite(info.tr_s));
    require(std::abs(info.grid.vox2world.topLeftCorner<3, 3>().determinant()) > 0.0);
    if (info.data_bytes > kMaxDecodedBytes) {
      fuzz::last_outcome = fuzz::Outcome::HeaderOnly;
      return 0;
    }
    const SeriesFile file(name, std::vector<char>(data, data + size));
    std::vector<float> frame(voxels);
    for (int f = 0; f < file.frames(); ++f) {
      file.read_frames(f, f + 1, frame.data());
      for (float v : frame) require(std::isfinite(v));
    }
    fuzz::last_outcome = fuzz::Outcome::Decoded;
  } catch (const InputError& e) {
    const std::string message = e.what();
    require(message.rfind(name + ": ", 0) == 0 && message.size() > name.size() + 2);
    require(message.find('\n') == std::string::npos);
  }
  return 0;
}
