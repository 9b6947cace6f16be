// realign-test-dicom RUN.nii[.gz] DIR: each frame of a 4D NIfTI as one multi-frame DICOM
// file, DIR/vol_00001.dcm ..., written by ITK's GDCM writer (values rounded to int16), for
// the follow tests that feed DICOM through scripts/simulate-scanner.sh.
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "dicom_writer.hpp"
#include "realign/io/nifti_io.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: realign-test-dicom RUN.nii[.gz] DIR\n");
    return 2;
  }
  try {
    const realign::Series run = realign::read_series(argv[1]);
    std::filesystem::create_directories(argv[2]);
    for (int f = 0; f < run.frames; ++f) {
      realign::Volume v{run.grid, std::vector<float>(run.frame(f), run.frame(f + 1))};
      char name[32];
      std::snprintf(name, sizeof name, "/vol_%05d.dcm", f + 1);
      realign::testing::write_dicom(v, argv[2] + std::string(name), run.tr_s * 1000.0);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "realign-test-dicom: %s\n", e.what());
    return 1;
  }
  return 0;
}
