#include "realign/io/itk_transforms.hpp"

#include "itk/transform_writer_abi.h"
#include "module_loader.hpp"
#include "realign/io/errors.hpp"

namespace realign {

std::array<double, 12> itk_parameters(const Mat4& frame_to_reference) {
  Mat4 flip = Mat4::Identity();
  flip(0, 0) = flip(1, 1) = -1.0;
  const Mat4 t = flip * frame_to_reference.inverse() * flip;
  std::array<double, 12> p{};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) p[3 * r + c] = t(r, c);
    p[9 + r] = t(r, 3);
  }
  return p;
}

void write_itk_transforms(const std::string& path, const std::vector<Mat4>& frame_to_reference) {
  static const auto loaded = load_entry<RealignWriteItkTransforms>(
      REALIGN_ITK_TRANSFORMS_MODULE, REALIGN_WRITE_ITK_TRANSFORMS_SYMBOL);
  if (!loaded.entry) throw OutputError(path, "ITK transform support is missing: " + loaded.problem);
  std::vector<double> parameters;
  for (const Mat4& a : frame_to_reference) {
    const std::array<double, 12> p = itk_parameters(a);
    parameters.insert(parameters.end(), p.begin(), p.end());
  }
  char error[512] = {};
  if (loaded.entry(path.c_str(), parameters.data(), frame_to_reference.size(), error,
                   sizeof error) != 0)
    throw OutputError(path, std::string("ITK could not write the transforms: ") + error);
}

}  // namespace realign
