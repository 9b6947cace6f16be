// DICOM input: the files scanners export, recognised by their content (128 bytes, then
// "DICM"), whatever their names. Three kinds are read:
// - a multi-frame MR image (enhanced or legacy) whose frames are the slices of one volume,
//   placed as ITK's GDCM reader places it;
// - a Siemens mosaic, one volume's slices tiled in one image, de-tiled with its CSA
//   header's NumberOfImagesInMosaic and SliceNormalVector (io/siemens_csa) and placed as
//   dcm2niix places it (io/dicom_geometry);
// - one slice of a one-file-per-slice series, stacked into volumes by io/dicom_slices.
// DICOM's patient coordinates are LPS; the grids returned are NIfTI's RAS, so a DICOM
// volume and the NIfTI a converter makes of it have the same grid.
//
// realign walks each file's header itself (io/dicom_tags: a cut file refused before GDCM
// sees it, the file's kind told); the pixels are read by ITK's GDCM reader, in a module of
// its own (src/io/dicom/, the realign_dicom shared object), loaded the first time a DICOM
// file is read: linked into realign, GDCM would build its DICOM dictionary at every start
// (about 60 ms of CPU), in every MPI rank.
#pragma once

#include <string>

#include "realign/core/volume.hpp"
#include "realign/io/dicom_slices.hpp"
#include "realign/io/dicom_tags.hpp"
#include "realign/io/errors.hpp"
#include "realign/io/nifti_header.hpp"

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

// A DICOM file read and walked: its header, and what it holds.
struct DicomFile {
  std::string path;
  DicomTags tags;
  DicomKind kind = DicomKind::Volume;
};

// Reads a file and walks its header. Throws InputError "<path>: <problem>" (one line) when
// it is cut short (a file still being written), RefusedInput when it is whole but not an
// image read here (not DICOM, big endian, not greyscale, pixel data shorter than its
// image), and DicomSupportMissing, before anything else, for a DICOM file when the module
// is missing.
DicomFile open_dicom(const std::string& path);

// The 3D volume of a multi-frame image or a Siemens mosaic. Throws RefusedInput for a
// single slice (a series' slices are stacked from their directory) and when GDCM cannot
// read the pixels; as open_dicom otherwise.
DicomVolume read_dicom_volume(const DicomFile& file);
DicomVolume read_dicom_volume(const std::string& path);

// One slice of a one-file-per-slice series: its place, numbers and pixels. Throws as
// read_dicom_volume (and slice_of) do.
DicomSlice read_dicom_slice(const DicomFile& file);

// The NIfTI header a volume read from DICOM gets (it carries none): float32 voxels, sform
// = qform = the grid, scanner codes, `frames` frames of tr_s seconds. Its grid is the one
// the header holds (the matrix stored as float), so the volume and every reader of the
// header agree on it.
NiftiInfo dicom_nifti_info(const Grid& grid, int frames, double tr_s);

// Whether a file starts as a DICOM Part 10 file does: 128 bytes, then "DICM".
bool has_dicom_preamble(const std::string& path);

}  // namespace realign
