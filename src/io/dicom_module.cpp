#include "dicom_module.hpp"

#include "module_loader.hpp"
#include "realign/io/dicom_io.hpp"

namespace realign {
namespace {

template <class Entry>
Entry entry_or_throw(const LoadedEntry<Entry>& loaded, const std::string& dicom_file) {
  if (!loaded.entry)
    throw DicomSupportMissing(dicom_file, "DICOM support is missing: " + loaded.problem);
  return loaded.entry;
}

}  // namespace

RealignDicomRead dicom_reader(const std::string& dicom_file) {
  // Loaded by the first reader, once, whichever thread that is.
  static const auto loaded =
      load_entry<RealignDicomRead>(REALIGN_DICOM_MODULE, REALIGN_DICOM_READ_SYMBOL);
  return entry_or_throw(loaded, dicom_file);
}

RealignDicomPixels dicom_pixels_reader(const std::string& dicom_file) {
  static const auto loaded =
      load_entry<RealignDicomPixels>(REALIGN_DICOM_MODULE, REALIGN_DICOM_PIXELS_SYMBOL);
  return entry_or_throw(loaded, dicom_file);
}

}  // namespace realign
