// Finding and loading the DICOM module (src/io/dicom/, a shared object of its own) the
// first time a DICOM volume is read, so that ITK's GDCM reader costs nothing to a run that
// reads none. Private to the io layer: read_dicom_volume is the public face.
#pragma once

#include <string>

#include "dicom/gdcm_reader_abi.h"

namespace realign {

// The module's entry point, loaded once per process. Throws DicomSupportMissing naming
// dicom_file when the module cannot be found or loaded: where it looked, or dlerror.
RealignDicomRead dicom_reader(const std::string& dicom_file);

}  // namespace realign
