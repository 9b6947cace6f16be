// Where the pixels of a DICOM image lie, and the grid of the volume they make: a Siemens
// mosaic (slices tiled in one image) de-tiled, or a stack of single-slice images. The
// volume is laid out and placed as dcm2niix converts the same files, so that the motion of
// a DICOM volume is the motion of its NIfTI conversion: i along a row, j up the rows (the
// image's last row first: dcm2niix flips the rows), k through the slices; DICOM's LPS
// patient coordinates turned into NIfTI's RAS. GDCM is not needed here (the pixels come
// in as floats), so the checks of this untrusted data run in the fuzz target too.
#pragma once

#include <string>

#include "realign/core/volume.hpp"
#include "realign/io/dicom_tags.hpp"
#include "realign/io/siemens_csa.hpp"

namespace realign {

// The plane of one image as its header places it, in LPS millimetres.
struct DicomPlane {
  int rows = 0, columns = 0;
  Vec3 along_row = Vec3::UnitX();    // ImageOrientationPatient's first three (unit length)
  Vec3 down_column = Vec3::UnitY();  // its last three (unit length)
  double row_spacing = 1.0;          // PixelSpacing's first: between rows, down a column
  double column_spacing = 1.0;       // its second: between columns, along a row
  Vec3 position = Vec3::Zero();      // ImagePositionPatient: the first pixel's centre

  Vec3 normal() const { return along_row.cross(down_column); }
};

// The plane of an image from its header. Throws RefusedInput naming the file when
// ImagePositionPatient, ImageOrientationPatient or PixelSpacing is missing or unusable
// (the orientation not two perpendicular unit vectors, a spacing not positive).
DicomPlane plane_of(const std::string& file, const DicomTags& tags);

// The RAS grid of `slices` images of `plane`'s size whose first pixels lie at `first`,
// `first + step`, ... (LPS, mm), in dcm2niix's layout (rows flipped).
Grid stack_grid(const DicomPlane& plane, int slices, const Vec3& first, const Vec3& step);

// Copies one image (rows x columns, columns fastest, as DICOM stores it) into slice k of a
// volume of that plane's size, in the layout of stack_grid.
void place_image(const DicomPlane& plane, const float* image, int k, float* volume);

// A Siemens mosaic: `images` slices of rows x columns tiled row by row in a square of
// tiles x tiles (the smallest that holds them) in one image of the mosaic's plane.
struct MosaicLayout {
  int images = 0, tiles = 0;
  DicomPlane mosaic;  // the whole image, as the header says
  DicomPlane slice;   // one tile: its size and the first slice's position
  Grid grid;          // the de-tiled volume's
};

// The layout of a mosaic from its header and CSA image header: the tiles' size, the first
// slice's true position (the header's position is the corner of a slice as large as the
// whole image, centred on the first tile), and the slices' direction (SliceNormalVector's
// side of the plane) and spacing (SpacingBetweenSlices, else SliceThickness), as dcm2niix
// places them. Throws RefusedInput naming the file when the count does not tile the
// image, or what the geometry needs is missing.
MosaicLayout mosaic_layout(const std::string& file, const DicomTags& tags, const MosaicCsa& csa);

// The volume of a mosaic image (the mosaic's rows x columns, columns fastest): its first
// `images` tiles as slices, in the layout of stack_grid; `volume` holds layout.grid's voxels.
void detile(const MosaicLayout& layout, const float* mosaic, float* volume);

}  // namespace realign
