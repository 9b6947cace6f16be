// The ITK transform file that fMRIPrep and antsApplyTransforms read (--itk-xfm, and every
// `realign bids` run), checked with ITK itself: ITK's transform reader reads it back, and
// each frame resampled through its transform by ITK's ResampleImageFilter, with ITK's own
// B-spline interpolator of the same degree, onto the mean's grid, gives realign's resliced
// frame. The phantom's grid is oblique, so the LPS/RAS flip and the direction cosines are
// all exercised.
#include <gtest/gtest.h>
#include <itkBSplineInterpolateImageFunction.h>
#include <itkExtractImageFilter.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageRegionConstIterator.h>
#include <itkNiftiImageIO.h>
#include <itkResampleImageFilter.h>
#include <itkTransformFileReader.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "phantom.hpp"
#include "realign/app/run/output_paths.hpp"
#include "realign/app/run/pipeline.hpp"
#include "realign/app/run/reslice_stream.hpp"
#include "realign/io/itk_transforms.hpp"
#include "test_support.hpp"

namespace {

using namespace realign;
using Image3 = itk::Image<float, 3>;
using Image4 = itk::Image<float, 4>;
using Transform = itk::Transform<double, 3, 3>;

// Through ITK's NIfTI reader, so the geometry is ITK's own reading of the header.
template <class Image>
typename Image::Pointer read_itk(const std::string& path) {
  auto reader = itk::ImageFileReader<Image>::New();
  reader->SetImageIO(itk::NiftiImageIO::New());
  reader->SetFileName(path);
  reader->Update();
  return reader->GetOutput();
}

Image3::Pointer frame_of(const Image4::Pointer& series, int f) {
  auto extract = itk::ExtractImageFilter<Image4, Image3>::New();
  Image4::RegionType region = series->GetLargestPossibleRegion();
  Image4::SizeType size = region.GetSize();
  Image4::IndexType start = region.GetIndex();
  size[3] = 0;
  start[3] = f;
  extract->SetExtractionRegion(Image4::RegionType(start, size));
  extract->SetInput(series);
  extract->SetDirectionCollapseToSubmatrix();
  extract->Update();
  return extract->GetOutput();
}

std::vector<Transform::Pointer> read_transforms(const std::string& path) {
  auto reader = itk::TransformFileReaderTemplate<double>::New();
  reader->SetFileName(path);
  reader->Update();
  std::vector<Transform::Pointer> out;
  for (const auto& t : *reader->GetTransformList())
    out.push_back(dynamic_cast<Transform*>(t.GetPointer()));
  return out;
}

struct ItkRun {
  std::string dir, input, output;
  RunResult result;
  OutputPaths paths;

  ItkRun() {
    PhantomSpec spec;
    spec.dim = {40, 44, 24};
    spec.frames = 8;
    spec.oblique = true;
    spec.seed = 11;
    dir = realign::testing::temp_dir("itk_xfm");
    input = dir + "/in.nii";
    write_phantom(make_phantom(spec), input, dir + "/truth_rp.txt", "float32");
    RunOptions opt;
    opt.input = input;
    opt.output = dir + "/out.nii";
    opt.itk_xfm = true;
    opt.report = false;
    result = run_realign(opt);
    paths = output_paths(opt.output);
  }
};

const ItkRun& itk_run() {
  static const ItkRun run;
  return run;
}

TEST(ItkTransforms, ItksReaderReadsOneMatrixTransformPerFrame) {
  const ItkRun& run = itk_run();
  const std::vector<Transform::Pointer> t = read_transforms(run.paths.itk);
  ASSERT_EQ(t.size(), run.result.record.xfm.size());
  for (std::size_t f = 0; f < t.size(); ++f) {
    ASSERT_NE(t[f], nullptr);
    EXPECT_EQ(t[f]->GetTransformTypeAsString(), "AffineTransform_double_3_3");
    const std::array<double, 12> want = itk_parameters(run.result.record.xfm[f]);
    const auto p = t[f]->GetParameters();
    ASSERT_EQ(p.size(), 12u);
    for (unsigned k = 0; k < 12; ++k) EXPECT_DOUBLE_EQ(p[k], want[k]) << "frame " << f;
    const auto centre = t[f]->GetFixedParameters();
    for (unsigned k = 0; k < 3; ++k) EXPECT_EQ(centre[k], 0.0);
  }
}

// ITK's convention on a point: the transform takes a point of the reference (the mean's
// space) to the same anatomy in the frame. Checked on the frame's own voxel-to-world: the
// reference point of a frame voxel, x = A M v, maps back to M v (LPS both).
TEST(ItkTransforms, MapAReferencePointToTheFramesPoint) {
  const ItkRun& run = itk_run();
  const std::vector<Transform::Pointer> t = read_transforms(run.paths.itk);
  const Grid& g = run.result.record.grid;
  for (std::size_t f = 0; f < t.size(); ++f) {
    const Eigen::Vector4d v(7.0, 11.0, 5.0, 1.0);
    const Eigen::Vector4d frame_ras = g.vox2world * v;
    const Eigen::Vector4d reference_ras = run.result.record.xfm[f] * frame_ras;
    Transform::InputPointType p;
    p[0] = -reference_ras[0];
    p[1] = -reference_ras[1];
    p[2] = reference_ras[2];
    const Transform::OutputPointType q = t[f]->TransformPoint(p);
    EXPECT_NEAR(q[0], -frame_ras[0], 1e-9);
    EXPECT_NEAR(q[1], -frame_ras[1], 1e-9);
    EXPECT_NEAR(q[2], frame_ras[2], 1e-9);
  }
}

// The limit: realign reslices with single-precision inner loops (sums in double), ITK in
// double throughout, so they agree to single precision: measured, at most 4.3e-4 for values
// up to 1050 (4e-7 of the largest), 5e-5 on average; asserted, 2e-6 and 2e-7 of the largest
// value, in every voxel realign keeps (those every frame sees:
// ITK's reader makes realign's NaN outside them 0, so they are found from the transforms).
TEST(ItkTransforms, ItksResamplingThroughThemGivesRealignsResliceFrames) {
  const ItkRun& run = itk_run();
  const std::vector<Transform::Pointer> t = read_transforms(run.paths.itk);
  std::vector<float> kept(run.result.record.grid.voxels(), 1.0f);
  seen_by_every_frame(run.result.record.xfm, run.result.record.grid).apply(kept.data(), 0.0f);
  const Image4::Pointer input = read_itk<Image4>(run.input);
  const Image4::Pointer resliced = read_itk<Image4>(run.paths.image);
  const Image3::Pointer grid = read_itk<Image3>(run.paths.mean);
  for (std::size_t f = 0; f < t.size(); ++f) {
    auto interpolator = itk::BSplineInterpolateImageFunction<Image3, double, double>::New();
    interpolator->SetSplineOrder(4);
    auto resample = itk::ResampleImageFilter<Image3, Image3, double, double>::New();
    resample->SetInput(frame_of(input, static_cast<int>(f)));
    resample->SetTransform(t[f]);
    resample->SetInterpolator(interpolator);
    resample->SetOutputParametersFromImage(grid);
    resample->SetDefaultPixelValue(std::nanf(""));
    resample->Update();
    const Image3::Pointer ours = frame_of(resliced, static_cast<int>(f));
    itk::ImageRegionConstIterator<Image3> a(resample->GetOutput(),
                                            resample->GetOutput()->GetLargestPossibleRegion());
    itk::ImageRegionConstIterator<Image3> b(ours, ours->GetLargestPossibleRegion());
    double peak = 0, worst = 0, sum = 0;
    long compared = 0;
    for (std::size_t i = 0; !a.IsAtEnd(); ++a, ++b, ++i) {
      if (kept[i] == 0.0f) continue;
      ASSERT_TRUE(std::isfinite(a.Get())) << "ITK sampled outside frame " << f;
      const double d = std::fabs(static_cast<double>(a.Get()) - b.Get());
      peak = std::max(peak, std::fabs(static_cast<double>(a.Get())));
      worst = std::max(worst, d);
      sum += d;
      ++compared;
    }
    ASSERT_GT(compared, 10000);
    std::printf("frame %zu: %ld voxels, largest difference %.3g, mean %.3g (peak %.4g)\n", f,
                compared, worst, sum / compared, peak);
    EXPECT_LE(worst, 2e-6 * peak) << "frame " << f;
    EXPECT_LE(sum / compared, 2e-7 * peak) << "frame " << f;
  }
}

}  // namespace
