#include "realign/io/dicom_geometry.hpp"

#include <cmath>
#include <cstring>

#include "realign/io/errors.hpp"

namespace realign {
namespace {

// Beyond these a header is garbage, and its numbers would overflow the grid's arithmetic.
constexpr double kMaxPositionMm = 1e5;
constexpr double kMinSpacingMm = 1e-4, kMaxSpacingMm = 1e4;

bool usable_spacing(double mm) { return mm >= kMinSpacingMm && mm <= kMaxSpacingMm; }

}  // namespace

DicomPlane plane_of(const std::string& file, const DicomTags& tags) {
  DicomPlane p;
  if (tags.rows < 1 || tags.columns < 1)
    throw RefusedInput(file, "no Rows (0028,0010) and Columns (0028,0011)");
  p.rows = tags.rows;
  p.columns = tags.columns;
  if (!tags.orientation)
    throw RefusedInput(file, "no ImageOrientationPatient (0020,0037) of six numbers");
  const auto& o = *tags.orientation;
  Vec3 row(o[0], o[1], o[2]), column(o[3], o[4], o[5]);
  // Decimal strings of six or so digits: unit and perpendicular to about 1e-5.
  if (std::fabs(row.norm() - 1) > 0.01 || std::fabs(column.norm() - 1) > 0.01 ||
      std::fabs(row.dot(column)) > 0.01)
    throw RefusedInput(file,
                       "ImageOrientationPatient (0020,0037) is not two perpendicular unit vectors");
  p.along_row = row.normalized();
  p.down_column = column.normalized();
  if (!tags.pixel_spacing || !usable_spacing((*tags.pixel_spacing)[0]) ||
      !usable_spacing((*tags.pixel_spacing)[1]))
    throw RefusedInput(file, "no PixelSpacing (0028,0030) of two positive numbers");
  p.row_spacing = (*tags.pixel_spacing)[0];
  p.column_spacing = (*tags.pixel_spacing)[1];
  if (!tags.position)
    throw RefusedInput(file, "no ImagePositionPatient (0020,0032) of three numbers");
  p.position = Vec3((*tags.position)[0], (*tags.position)[1], (*tags.position)[2]);
  if (p.position.cwiseAbs().maxCoeff() > kMaxPositionMm)
    throw RefusedInput(file, "ImagePositionPatient (0020,0032) lies more than 100 m away");
  return p;
}

Grid stack_grid(const DicomPlane& plane, int slices, const Vec3& first, const Vec3& step) {
  Grid g;
  g.dim = {plane.columns, plane.rows, slices};
  // dcm2niix's layout: j counts the rows from the image's last, so its axis points up the
  // column and its origin is the last row's first pixel.
  Mat4 lps = Mat4::Identity();
  lps.block<3, 1>(0, 0) = plane.along_row * plane.column_spacing;
  lps.block<3, 1>(0, 1) = -plane.down_column * plane.row_spacing;
  lps.block<3, 1>(0, 2) = step;
  lps.block<3, 1>(0, 3) = first + plane.down_column * plane.row_spacing * (plane.rows - 1);
  g.vox2world = Eigen::Vector4d(-1.0, -1.0, 1.0, 1.0).asDiagonal() * lps;  // LPS to RAS
  return g;
}

void place_image(const DicomPlane& plane, const float* image, int k, float* volume) {
  const std::size_t columns = static_cast<std::size_t>(plane.columns);
  const std::size_t rows = static_cast<std::size_t>(plane.rows);
  float* slice = volume + static_cast<std::size_t>(k) * rows * columns;
  for (std::size_t r = 0; r < rows; ++r)
    std::memcpy(slice + (rows - 1 - r) * columns, image + r * columns, columns * sizeof(float));
}

MosaicLayout mosaic_layout(const std::string& file, const DicomTags& tags, const MosaicCsa& csa) {
  MosaicLayout m;
  m.images = csa.images;
  m.mosaic = plane_of(file, tags);
  m.tiles = 1;
  while (m.tiles * m.tiles < m.images) ++m.tiles;
  if (m.mosaic.rows % m.tiles != 0 || m.mosaic.columns % m.tiles != 0)
    throw RefusedInput(file, "NumberOfImagesInMosaic " + std::to_string(m.images) +
                                 " does not tile the " + std::to_string(m.mosaic.columns) + "x" +
                                 std::to_string(m.mosaic.rows) + " mosaic in " +
                                 std::to_string(m.tiles) + "x" + std::to_string(m.tiles) +
                                 " equal tiles");
  m.slice = m.mosaic;
  m.slice.rows /= m.tiles;
  m.slice.columns /= m.tiles;
  const double spacing = tags.slice_spacing > 0 ? tags.slice_spacing : tags.slice_thickness;
  if (!usable_spacing(spacing))
    throw RefusedInput(file,
                       "a mosaic without SpacingBetweenSlices (0018,0088) or SliceThickness "
                       "(0018,0050)");
  // Siemens gives the position a slice as large as the whole mosaic would have, centred
  // where the first tile is: the tile's own first pixel is half the difference further.
  m.slice.position =
      m.mosaic.position +
      m.mosaic.along_row * m.mosaic.column_spacing * ((m.mosaic.columns - m.slice.columns) / 2.0) +
      m.mosaic.down_column * m.mosaic.row_spacing * ((m.mosaic.rows - m.slice.rows) / 2.0);
  // The tiles follow one another along SliceNormalVector: on the side of the plane it
  // points to (sagittal slices often run against the plane's own normal).
  Vec3 normal = m.mosaic.normal();
  const double side = normal.dot(Vec3(csa.normal[0], csa.normal[1], csa.normal[2]));
  if (std::fabs(side) < 0.5)
    throw RefusedInput(file, "the CSA header's SliceNormalVector lies in the image's plane");
  if (side < 0) normal = -normal;
  m.grid = stack_grid(m.slice, m.images, m.slice.position, normal * spacing);
  return m;
}

void detile(const MosaicLayout& m, const float* mosaic, float* volume) {
  const std::size_t width = static_cast<std::size_t>(m.mosaic.columns);
  const std::size_t rows = static_cast<std::size_t>(m.slice.rows);
  const std::size_t columns = static_cast<std::size_t>(m.slice.columns);
  for (int k = 0; k < m.images; ++k) {
    const std::size_t top = static_cast<std::size_t>(k / m.tiles) * rows;
    const std::size_t left = static_cast<std::size_t>(k % m.tiles) * columns;
    float* slice = volume + static_cast<std::size_t>(k) * rows * columns;
    for (std::size_t r = 0; r < rows; ++r)  // rows flipped, as in place_image
      std::memcpy(slice + (rows - 1 - r) * columns, mosaic + (top + r) * width + left,
                  columns * sizeof(float));
  }
}

}  // namespace realign
