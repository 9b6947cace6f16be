#include "realign/io/dicom_io.hpp"

#include <nifti1_io.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <new>
#include <string>

#include "dicom_module.hpp"
#include "realign/io/dicom_geometry.hpp"
#include "realign/io/nifti_io.hpp"
#include "realign/io/siemens_csa.hpp"

namespace realign {
namespace {

constexpr int kFloat32 = 16;  // NIfTI's FLOAT32

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot be opened");
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

bool starts_as_dicom(const std::string& bytes) {
  return bytes.size() >= 132 && bytes.compare(128, 4, "DICM") == 0;
}

// Where the module puts a volume: its grid, TR and voxels, which it writes straight into
// the volume's data. Called from the module: nothing may be thrown back.
float* take_header(void* context, const RealignDicomHeader* h) noexcept {
  auto& out = *static_cast<DicomVolume*>(context);
  Grid& g = out.volume.grid;
  for (int axis = 0; axis < 3; ++axis) g.dim[axis] = h->dim[axis];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) g.vox2world(r, c) = h->vox2world[4 * r + c];
  out.tr_s = h->tr_s;
  try {
    out.volume.data.resize(g.voxels());
  } catch (const std::exception&) {  // bad_alloc, or length_error for an absurd size
    return nullptr;
  }
  return out.volume.data.data();
}

// Where the module puts an image's pixels, and their dimensions.
struct Pixels {
  int dim[3] = {0, 0, 0};
  std::vector<float> values;
};

float* take_pixels(void* context, const RealignDicomHeader* h) noexcept {
  auto& out = *static_cast<Pixels*>(context);
  std::copy(h->dim, h->dim + 3, out.dim);
  try {
    out.values.resize(static_cast<std::size_t>(h->dim[0]) * static_cast<std::size_t>(h->dim[1]) *
                      static_cast<std::size_t>(h->dim[2]));
  } catch (const std::exception&) {
    return nullptr;
  }
  return out.values.data();
}

// The stored image of a one-frame file, as GDCM reads it: what the walk found (columns x
// rows) or refused.
std::vector<float> image_of(const DicomFile& f) {
  const RealignDicomPixels read = dicom_pixels_reader(f.path);
  Pixels p;
  char problem[1024] = "";
  if (read(f.path.c_str(), &take_pixels, &p, problem, sizeof problem) != 0)
    throw RefusedInput(f.path, problem);
  if (p.dim[0] != f.tags.columns || p.dim[1] != f.tags.rows || p.dim[2] != 1)
    throw RefusedInput(
        f.path, "GDCM reads a " + std::to_string(p.dim[0]) + "x" + std::to_string(p.dim[1]) + "x" +
                    std::to_string(p.dim[2]) + " image where the header says " +
                    std::to_string(f.tags.columns) + "x" + std::to_string(f.tags.rows));
  return std::move(p.values);
}

DicomVolume read_mosaic(const DicomFile& f) {
  if (f.tags.csa_image.empty())
    throw RefusedInput(f.path,
                       "a Siemens mosaic without its CSA image header (0029,1010): the slices "
                       "in it cannot be told");
  const std::vector<CsaElement> csa =
      parse_csa(f.path, f.tags.csa_image.data(), f.tags.csa_image.size());
  const MosaicLayout layout = mosaic_layout(f.path, f.tags, mosaic_csa(f.path, csa));
  const std::vector<float> image = image_of(f);
  DicomVolume out;
  out.volume.grid = layout.grid;
  out.volume.data.resize(layout.grid.voxels());
  detile(layout, image.data(), out.volume.data.data());
  out.tr_s = f.tags.tr_ms / 1000.0;
  return out;
}

DicomVolume read_multiframe(const DicomFile& f) {
  const RealignDicomRead read = dicom_reader(f.path);
  DicomVolume out;
  char problem[1024] = "";
  if (read(f.path.c_str(), &take_header, &out, problem, sizeof problem) != 0)
    throw RefusedInput(f.path, problem);
  return out;
}

}  // namespace

bool has_dicom_preamble(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char head[132];
  return f.read(head, sizeof head) && std::memcmp(head + 128, "DICM", 4) == 0;
}

DicomFile open_dicom(const std::string& path) {
  DicomFile f;
  f.path = path;
  const std::string bytes = file_bytes(path);
  // The module first: without it no DICOM file can be read, whatever state this one is in.
  if (starts_as_dicom(bytes)) dicom_pixels_reader(path);
  f.tags = read_dicom_tags(path, bytes.data(), bytes.size());
  f.kind = dicom_kind(path, f.tags);
  return f;
}

DicomVolume read_dicom_volume(const DicomFile& f) {
  switch (f.kind) {
    case DicomKind::Volume:
      return read_multiframe(f);
    case DicomKind::Mosaic:
      return read_mosaic(f);
    case DicomKind::Slice:
      break;
  }
  throw RefusedInput(f.path,
                     "holds one slice, not a volume: the slices of a series are stacked into "
                     "volumes from the directory they are in");
}

DicomVolume read_dicom_volume(const std::string& path) {
  return read_dicom_volume(open_dicom(path));
}

DicomSlice read_dicom_slice(const DicomFile& f) {
  if (f.kind != DicomKind::Slice)
    throw std::invalid_argument("read_dicom_slice: " + f.path + " is not a single slice");
  DicomSlice s = slice_of(f.path, f.tags);  // the header's numbers first
  s.pixels = image_of(f);                   // columns x rows, as the header says
  return s;
}

NiftiInfo dicom_nifti_info(const Grid& grid, int frames, double tr_s) {
  const NiftiHeader made = make_header(grid, frames, tr_s, kFloat32);
  nifti_1_header h;
  std::memcpy(&h, made.raw.get(), sizeof h);
  h.vox_offset = kNiftiHeaderBytes;  // as the header of a .nii written from it says
  const std::uint64_t data = grid.voxels() * 4 * static_cast<std::uint64_t>(frames);
  return validate_nifti_header("DICOM volume", &h, sizeof h, kNiftiHeaderBytes + data, false);
}

}  // namespace realign
