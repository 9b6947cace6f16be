// The ITK transform module: ITK's transform writer behind the plain entry point of
// transform_writer_abi.h, built as a shared object of its own (realign_itk_transforms).
#include <itkAffineTransform.h>
#include <itkTransformFileWriter.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "transform_writer_abi.h"

namespace {

void say(const std::string& what, char* error, size_t error_size) {
  if (error_size == 0) return;
  std::string line = what;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::strncpy(error, line.c_str(), error_size - 1);
  error[error_size - 1] = '\0';
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int realign_write_itk_transforms_v1(
    const char* path, const double* parameters, size_t count, char* error, size_t error_size) {
  using Transform = itk::AffineTransform<double, 3>;
  try {
    auto writer = itk::TransformFileWriterTemplate<double>::New();
    for (size_t k = 0; k < count; ++k) {
      auto t = Transform::New();
      Transform::ParametersType p(12);
      for (unsigned i = 0; i < 12; ++i) p[i] = parameters[12 * k + i];
      Transform::FixedParametersType centre(3);
      centre.Fill(0.0);
      t->SetFixedParameters(centre);
      t->SetParameters(p);
      writer->AddTransform(t);
    }
    writer->SetFileName(path);
    writer->Update();
    return 0;
  } catch (const itk::ExceptionObject& e) {
    say(e.GetDescription(), error, error_size);
  } catch (const std::exception& e) {
    say(e.what(), error, error_size);
  } catch (...) {
    say("unknown failure in ITK's transform writer", error, error_size);
  }
  return 1;
}
