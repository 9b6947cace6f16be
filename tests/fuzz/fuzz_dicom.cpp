// libFuzzer target for what realign reads of DICOM files by itself, without GDCM: the
// header walk (io/dicom_tags), the Siemens CSA header (io/siemens_csa), a mosaic's layout
// and de-tiling (io/dicom_geometry) and the stacking of single slices into volumes
// (io/dicom_slices). An input is one DICOM file, or several cut apart at kNextFile (a
// series arriving file by file); each is walked, a mosaic de-tiled from a made-up image of
// its size, a slice given (with made-up pixels) to one stacker that all the input's files
// share. Beyond the sanitizers' own findings, it traps when the code breaks its contract:
// an exception other than a one-line InputError naming the file, a message of more than
// one line, a volume whose grid is not finite and invertible or whose voxels are not its
// grid's, a voxel taken from outside its image.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_target.hpp"
#include "realign/io/dicom_geometry.hpp"
#include "realign/io/dicom_slices.hpp"
#include "realign/io/dicom_tags.hpp"
#include "realign/io/errors.hpp"
#include "realign/io/siemens_csa.hpp"

namespace {

// Where one file of an input ends and the next begins (in the dictionary, dicom.dict).
const std::string kNextFile = "%REALIGN-NEXT-FILE%";
// More files than this per input only slow the fuzzer down.
constexpr std::size_t kMaxFiles = 64;
// Made-up images larger than this are not made (the header is still walked and checked).
constexpr std::size_t kMaxPixels = 1u << 18;

void require(bool ok) {
  if (!ok) std::abort();
}

void require_one_line(const std::string& message, const std::string& name) {
  require(message.rfind(name + ": ", 0) == 0 && message.size() > name.size() + 2);
  require(message.find('\n') == std::string::npos);
}

void require_volume(const realign::Grid& g, const std::vector<float>& data, std::size_t pixels) {
  require(g.dim[0] > 0 && g.dim[1] > 0 && g.dim[2] > 0);
  require(g.vox2world.allFinite());
  require(std::abs(g.vox2world.topLeftCorner<3, 3>().determinant()) > 0.0);
  require(data.size() == g.voxels());
  // Every voxel is a pixel of its image: the made-up values are the pixels' indices.
  for (float v : data) require(v >= 0.0f && v < static_cast<float>(pixels));
}

// The made-up image of a file: each pixel its index (exact in float up to 2^24).
std::vector<float> image_of(std::size_t pixels) {
  std::vector<float> image(pixels);
  for (std::size_t i = 0; i < pixels; ++i) image[i] = static_cast<float>(i);
  return image;
}

// One file; true when it gave a volume (a mosaic de-tiled, a volume stacked).
bool one_file(const std::string& name, const std::string& bytes, realign::SliceStacker& stacker) {
  using namespace realign;
  const DicomTags tags = read_dicom_tags(name, bytes.data(), bytes.size());
  const DicomKind kind = dicom_kind(name, tags);
  const std::size_t pixels = static_cast<std::size_t>(tags.rows) * tags.columns;
  if (kind == DicomKind::Volume) return false;  // several frames: GDCM's to read
  if (kind == DicomKind::Mosaic) {
    const std::vector<CsaElement> csa =
        parse_csa(name, tags.csa_image.data(), tags.csa_image.size());
    const MosaicLayout m = mosaic_layout(name, tags, mosaic_csa(name, csa));
    require(m.tiles * m.slice.rows == m.mosaic.rows &&
            m.tiles * m.slice.columns == m.mosaic.columns);
    if (pixels > kMaxPixels) return false;
    std::vector<float> volume(m.grid.voxels(), -1.0f);
    detile(m, image_of(pixels).data(), volume.data());
    require_volume(m.grid, volume, pixels);
    return true;
  }
  DicomSlice s = slice_of(name, tags);
  if (pixels > kMaxPixels) return false;
  s.pixels = image_of(pixels);
  bool stacked = false;
  for (const StackedVolume& v : stacker.add(std::move(s))) {
    require_volume(v.volume.grid, v.volume.data, pixels);
    require(v.number >= 1);
    stacked = true;
  }
  return stacked;
}

}  // namespace

namespace realign::fuzz {
Outcome last_outcome = Outcome::Refused;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace realign;
  const std::string input(reinterpret_cast<const char*>(data), size);
  SliceStacker stacker;
  bool refused = false, decoded = false;
  std::size_t from = 0;
  for (std::size_t n = 0; n < kMaxFiles && from <= input.size(); ++n) {
    const std::size_t to = std::min(input.find(kNextFile, from), input.size());
    const std::string name = "fuzz" + std::to_string(n) + ".dcm";
    try {
      decoded = one_file(name, input.substr(from, to - from), stacker) || decoded;
    } catch (const InputError& e) {
      require_one_line(e.what(), name);
      refused = true;
    }
    for (const std::string& lost : stacker.given_up())
      require(lost.find('\n') == std::string::npos);
    from = to + kNextFile.size();
  }
  for (const std::string& left : stacker.unfinished())
    require(left.find('\n') == std::string::npos);
  fuzz::last_outcome = decoded   ? fuzz::Outcome::Decoded
                       : refused ? fuzz::Outcome::Refused
                                 : fuzz::Outcome::HeaderOnly;
  return 0;
}
