#include "dicom_module.hpp"

#include "module_loader.hpp"
#include "realign/io/dicom_io.hpp"

namespace realign {

RealignDicomRead dicom_reader(const std::string& dicom_file) {
  // Loaded by the first reader, once, whichever thread that is.
  static const auto loaded =
      load_entry<RealignDicomRead>(REALIGN_DICOM_MODULE, REALIGN_DICOM_READ_SYMBOL);
  if (!loaded.entry)
    throw DicomSupportMissing(dicom_file, "DICOM support is missing: " + loaded.problem);
  return loaded.entry;
}

}  // namespace realign
