#include "dicom_module.hpp"

#include "module_loader.hpp"
#include "realign/io/dicom_io.hpp"

namespace realign {
namespace {

struct Loaded {
  RealignDicomRead read = nullptr;
  std::string problem;  // why read is null
};

Loaded load() {
  Loaded out;
  out.read = reinterpret_cast<RealignDicomRead>(
      module_entry(REALIGN_DICOM_MODULE, REALIGN_DICOM_READ_SYMBOL, out.problem));
  return out;
}

}  // namespace

RealignDicomRead dicom_reader(const std::string& dicom_file) {
  // Loaded by the first reader, once, whichever thread that is.
  static const Loaded loaded = load();
  if (!loaded.read)
    throw DicomSupportMissing(dicom_file, "DICOM support is missing: " + loaded.problem);
  return loaded.read;
}

}  // namespace realign
