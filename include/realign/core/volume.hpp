// Dense float volumes and 4D series on a voxel grid with a RAS voxel-to-world matrix.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cstddef>
#include <vector>

namespace realign {

using Mat4 = Eigen::Matrix4d;
using Vec3 = Eigen::Vector3d;

// A voxel grid. Voxel indices are 0-based (i fastest); vox2world maps (i, j, k, 1) to
// NIfTI RAS millimetres.
struct Grid {
  std::array<int, 3> dim{0, 0, 0};
  Mat4 vox2world = Mat4::Identity();

  std::size_t voxels() const {
    return static_cast<std::size_t>(dim[0]) * static_cast<std::size_t>(dim[1]) *
           static_cast<std::size_t>(dim[2]);
  }
  // Length of each voxel axis in mm (column norms of the 3x3 part).
  Vec3 voxel_size_mm() const { return vox2world.topLeftCorner<3, 3>().colwise().norm(); }
  // World coordinates of the grid centre, ((dim-1)/2 in voxels).
  Vec3 centre_mm() const {
    Eigen::Vector4d c((dim[0] - 1) / 2.0, (dim[1] - 1) / 2.0, (dim[2] - 1) / 2.0, 1.0);
    return (vox2world * c).head<3>();
  }
  // Same dimensions and the same matrix within tol_mm on every entry.
  bool same_as(const Grid& o, double tol_mm = 1e-3) const {
    return dim == o.dim && (vox2world - o.vox2world).cwiseAbs().maxCoeff() <= tol_mm;
  }
};

// One 3D volume.
struct Volume {
  Grid grid;
  std::vector<float> data;  // grid.voxels() values, i fastest
};

// A 4D series: frames stored one after another, each grid.voxels() long.
struct Series {
  Grid grid;
  int frames = 0;
  double tr_s = 0.0;  // repetition time, 0 when unknown
  std::vector<float> data;
  std::size_t nonfinite_voxels = 0;  // NaN/Inf voxels found on reading, now 0

  std::size_t frame_voxels() const { return grid.voxels(); }
  float* frame(int n) { return data.data() + static_cast<std::size_t>(n) * grid.voxels(); }
  const float* frame(int n) const {
    return data.data() + static_cast<std::size_t>(n) * grid.voxels();
  }
};

}  // namespace realign
