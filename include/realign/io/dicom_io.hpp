// DICOM input for `realign follow`: one file that holds one whole 3D volume (an enhanced
// or legacy multi-frame MR image whose frames are the slices), read with ITK's GDCM
// reader. DICOM's patient coordinates are LPS; the grid returned is NIfTI's RAS, so a
// DICOM volume and the NIfTI a converter makes of it have the same grid. A file that
// holds one slice (per-slice exports) or a Siemens mosaic is refused with a message that
// says so: those go through a converter (dcm2niix) first.
//
// The GDCM reader is a module of its own (src/io/dicom/, the realign_dicom shared object),
// loaded the first time a volume is read: linked into realign, GDCM would build its DICOM
// dictionary at every start (about 60 ms of CPU), in every MPI rank.
#pragma once

#include <string>

#include "realign/core/volume.hpp"
#include "realign/io/errors.hpp"

namespace realign {

struct DicomVolume {
  Volume volume;      // rescale slope and intercept applied; NaN/Inf made 0
  double tr_s = 0.0;  // RepetitionTime (0018,0080) in seconds, 0 when the file has none
};

// The DICOM module cannot be found or loaded: no DICOM file can be read, so a follow ends
// rather than wait for the file to change as it does for a partial one.
class DicomSupportMissing : public InputError {
 public:
  using InputError::InputError;
};

// Reads one DICOM file as a 3D volume. Throws InputError "<path>: <problem>" (one line)
// when the file is not DICOM, is cut short (a partial file), or holds no 3D volume, and
// DicomSupportMissing (one line, naming the file) when the module is missing.
DicomVolume read_dicom_volume(const std::string& path);

// Whether a file starts as a DICOM Part 10 file does: 128 bytes, then "DICM".
bool has_dicom_preamble(const std::string& path);

}  // namespace realign
