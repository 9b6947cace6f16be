// Siemens' CSA headers: the private elements (0029,xx10) (image) and (0029,xx20) (series)
// in which Siemens MR scanners keep what DICOM's own elements do not say; for a mosaic, how
// many slices are tiled in the image and which way the slices follow one another. Read here
// in their "SV10" layout (syngo VB13 on), without GDCM, every count and length checked
// against the bytes there are: the header is untrusted binary data (tests/fuzz).
//
// The layout, as it is publicly described (nibabel's and dcm2niix's documentation):
//   "SV10", 4 bytes, uint32 number of elements, uint32 (77)
//   per element: name (64 bytes, NUL-terminated), int32 VM, VR (4 bytes), int32 SyngoDT,
//                int32 number of items, int32 (77 or 205)
//   per item:    four int32, the second the length of its value, then the value (text,
//                NUL-terminated) padded to a multiple of 4 bytes
// All little endian.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace realign {

struct CsaElement {
  std::string name;
  std::string vr;
  std::vector<std::string> values;  // the items' text, trimmed; empty items left out
};

// The elements of an SV10 CSA header held in `bytes`. Throws RefusedInput
// "<file>: Siemens CSA header: <problem>" (one line) when the bytes are not one: no SV10
// mark, a count or a length that does not fit in them.
std::vector<CsaElement> parse_csa(const std::string& file, const char* bytes, std::size_t size);

// What a mosaic needs of the CSA image header.
struct MosaicCsa {
  int images = 0;                  // NumberOfImagesInMosaic: slices tiled in the image
  std::array<double, 3> normal{};  // SliceNormalVector (LPS), unit length
};

// NumberOfImagesInMosaic (a whole number from 1 to 65535) and SliceNormalVector (three
// finite numbers, not all 0) of a parsed CSA image header. Throws RefusedInput naming the
// file and what is missing.
MosaicCsa mosaic_csa(const std::string& file, const std::vector<CsaElement>& csa);

}  // namespace realign
