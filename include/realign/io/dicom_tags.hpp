// What realign reads of a DICOM file's header by itself, without GDCM: one walk over the
// bytes of a Part 10 file (little endian, explicit or implicit VR) that checks every data
// element lies whole inside the file and keeps the few top-level values that tell a
// multi-frame volume, a Siemens mosaic and a single slice apart and place a slice or a
// mosaic's tiles in space. GDCM reads the pixels (the realign_dicom module); this walk
// decides first whether the file is whole (a file being written is a cut file, on which
// Debian's GDCM may abort) and what it is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace realign {

struct DicomTags {
  std::string transfer_syntax;  // (0002,0010)
  std::string image_type;       // (0008,0008), e.g. ORIGINAL\PRIMARY\M\ND\MOSAIC
  std::string series_uid;       // (0020,000E)
  // Values absent from the file, or not of their VR's form, are left unset (0 or empty):
  // the reader that needs one says so.
  int rows = 0, columns = 0;                           // (0028,0010), (0028,0011)
  int bits_allocated = 0, samples_per_pixel = 1;       // (0028,0100), (0028,0002)
  long frames = 1;                                     // (0028,0008) NumberOfFrames
  std::optional<long> instance;                        // (0020,0013) InstanceNumber
  std::optional<long> acquisition;                     // (0020,0012) AcquisitionNumber
  std::optional<long> images_in_acquisition;           // (0020,1002)
  std::optional<std::array<double, 3>> position;       // (0020,0032) ImagePositionPatient
  std::optional<std::array<double, 6>> orientation;    // (0020,0037) ImageOrientationPatient
  std::optional<std::array<double, 2>> pixel_spacing;  // (0028,0030): between rows, columns
  double slice_thickness = 0.0;                        // (0018,0050), mm
  double slice_spacing = 0.0;                          // (0018,0088) SpacingBetweenSlices, mm
  double tr_ms = 0.0;                                  // (0018,0080) RepetitionTime
  // The Siemens CSA image header, (0029,xx10) in the block whose private creator is
  // "SIEMENS CSA HEADER": its bytes as stored, empty when there is none.
  std::string csa_image;
  // The pixel data element: its length, or that it is encapsulated (compressed fragments).
  std::uint64_t pixel_bytes = 0;
  bool encapsulated = false;

  // ImageType says MOSAIC: a Siemens mosaic, its slices tiled in one image.
  bool mosaic() const;
  // Whether the pixels are stored as they are (not compressed), so their size is known.
  bool native() const;
};

// What a file holds: one volume in several frames (its slices), a Siemens mosaic (a
// volume's slices tiled in one frame), or one slice of a one-file-per-slice series.
enum class DicomKind { Volume, Mosaic, Slice };

// The kind of a walked file. Throws RefusedInput naming it when it is no greyscale image
// realign reads: several samples per pixel, no frames, pixel data (not compressed) shorter
// than its image.
DicomKind dicom_kind(const std::string& name, const DicomTags& tags);

// Walks the bytes of a DICOM Part 10 file; `name` is used in messages. Throws InputError
// "<name>: cut short ..." when the file ends inside an element or before its pixel data
// (a file still being written, or cut), and RefusedInput for a whole file that is not
// read: no "DICM" at byte 128, big endian or deflated, sequences without their
// delimiters or nested too deep.
DicomTags read_dicom_tags(const std::string& name, const char* bytes, std::size_t size);

}  // namespace realign
