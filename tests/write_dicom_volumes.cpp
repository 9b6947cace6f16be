// realign-test-dicom RUN.nii[.gz] DIR [--mosaic | --slices [--names PREFIX]]: each frame of
// a 4D NIfTI as DICOM in DIR, written by ITK's GDCM writer (values rounded to int16), for
// the tests that feed DICOM through scripts/simulate-scanner.sh and the batch:
//   (default)  one multi-frame file per volume, DIR/vol_00001.dcm ...
//   --mosaic   one Siemens mosaic per volume (CSA header included), DIR/vol_00001.dcm ...
//   --slices   one file per slice, as GE's real-time export writes them: DIR/I0, I1, ...
//              (InstanceNumber from 1, volume after volume; ImagesInAcquisition given);
//              --names PREFIX names them PREFIX00001, PREFIX00002, ... instead (no
//              extension), which sort in their order.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>

#include "dicom_writer.hpp"
#include "realign/io/nifti_io.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: realign-test-dicom RUN.nii[.gz] DIR [--mosaic | --slices [--names P]]\n");
    return 2;
  }
  const std::string mode = argc > 3 ? argv[3] : "";
  const std::string prefix = argc > 5 && std::strcmp(argv[4], "--names") == 0 ? argv[5] : "";
  try {
    const realign::Series run = realign::read_series(argv[1]);
    std::filesystem::create_directories(argv[2]);
    const std::string dir = argv[2];
    const int slices = run.grid.dim[2];
    for (int f = 0; f < run.frames; ++f) {
      realign::Volume v{run.grid, std::vector<float>(run.frame(f), run.frame(f + 1))};
      char name[64];
      std::snprintf(name, sizeof name, "/vol_%05d.dcm", f + 1);
      realign::testing::ImageTags t;
      t.tr_ms = run.tr_s * 1000.0;
      t.instance = t.acquisition = f + 1;
      if (mode == "--mosaic") {
        realign::testing::write_mosaic(v, dir + name, t);
      } else if (mode == "--slices") {
        t.images_in_acquisition = slices;
        t.manufacturer = "GE MEDICAL SYSTEMS";
        for (int k = 0; k < slices; ++k) {
          t.instance = f * slices + k + 1;
          t.acquisition = 1;
          if (prefix.empty())
            std::snprintf(name, sizeof name, "/I%d", t.instance - 1);
          else
            std::snprintf(name, sizeof name, "/%s%05d", prefix.c_str(), t.instance);
          realign::testing::write_slice(v, k, dir + name, t);
        }
      } else if (mode.empty()) {
        realign::testing::write_dicom(v, dir + name, t.tr_ms);
      } else {
        std::fprintf(stderr, "realign-test-dicom: unknown mode %s\n", mode.c_str());
        return 2;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "realign-test-dicom: %s\n", e.what());
    return 1;
  }
  return 0;
}
