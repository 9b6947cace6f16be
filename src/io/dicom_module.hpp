// Finding and loading the DICOM module (src/io/dicom/, a shared object of its own) the
// first time a DICOM file is read, so that ITK's GDCM reader costs nothing to a run that
// reads none. Private to the io layer: io/dicom_io is the public face.
#pragma once

#include <string>

#include "dicom/gdcm_reader_abi.h"

namespace realign {

// The module's entry points, loaded once per process. Throw DicomSupportMissing naming
// dicom_file when the module cannot be found or loaded: where it looked, or dlerror.
RealignDicomRead dicom_reader(const std::string& dicom_file);
RealignDicomPixels dicom_pixels_reader(const std::string& dicom_file);

}  // namespace realign
