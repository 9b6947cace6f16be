// The entry points of the DICOM module (realign_dicom, a CMake MODULE library loaded with
// dlopen by src/io/dicom_module.cpp) and everything that crosses them.
//
// The module exists so that only a run that reads a DICOM volume loads ITK's GDCM reader:
// GDCM builds its whole DICOM dictionary in static initialisers, about 60 ms of CPU at every
// start of any executable linked with it, paid by every MPI rank and twice by a run that
// re-executes itself.
//
// The interface is plain C although both sides are built together against the same
// libstdc++: it states exactly what crosses (no C++ exception, no allocation made on one
// side and freed on the other), and a callback lets the module write the voxels straight
// into the caller's Volume, with no copy. The caller owns every byte: the error buffer and
// the voxels.
#ifndef REALIGN_IO_DICOM_GDCM_READER_ABI_H
#define REALIGN_IO_DICOM_GDCM_READER_ABI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// The symbol's name carries the interface's version: a module left over from another build
// with another interface is then refused by name (dlsym) instead of misread. Change the
// number with anything below.
#define REALIGN_DICOM_READ_SYMBOL "realign_dicom_read_v1"

// What the header says of a volume, once the module has found it to be one.
struct RealignDicomHeader {
  int dim[3];
  double vox2world[16];  // NIfTI's RAS, row by row
  double tr_s;           // RepetitionTime (0018,0080) in seconds, 0 when the file has none
};

// Called once per read, after the header: returns where dim[0]*dim[1]*dim[2] floats go, or
// NULL when there is no memory for them (the module then reports that). Must not throw.
typedef float* (*RealignDicomVoxels)(void* context, const struct RealignDicomHeader* header);

// Reads one DICOM file (already checked to be whole by the caller) as a 3D volume: the
// voxels as float with rescale slope and intercept applied, NaN and Inf made 0. Returns 0,
// or not 0 with the problem, one line without the file's name, in error (always
// NUL-terminated, cut to error_size). Never throws.
typedef int (*RealignDicomRead)(const char* path, RealignDicomVoxels voxels, void* context,
                                char* error, size_t error_size);

// The second entry point: the pixels of one greyscale image as the file stores them,
// whatever they are (a single slice, a Siemens mosaic, or frames), for the caller to place
// from its own reading of the header (io/dicom_geometry). header->dim is columns, rows,
// frames; vox2world is the identity and tr_s 0. Values as RealignDicomRead gives them;
// returns and reports as it does.
#define REALIGN_DICOM_PIXELS_SYMBOL "realign_dicom_pixels_v1"
typedef int (*RealignDicomPixels)(const char* path, RealignDicomVoxels voxels, void* context,
                                  char* error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif
