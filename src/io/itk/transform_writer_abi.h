// The one entry point of the ITK transform module (realign_itk_transforms, a CMake MODULE
// library loaded with dlopen by src/io/itk_transforms.cpp) and everything that crosses it.
//
// The module exists so that only a run that writes ITK transforms loads ITK's transform
// I/O: linked into realign, ITK's libraries cost every start (each MPI rank, and a run
// that re-executes itself) about 8 ms of CPU and 30 ms of loading.
//
// Plain C, as the DICOM module's interface: no C++ exception and no allocation crosses it;
// the caller owns every byte.
#ifndef REALIGN_IO_ITK_TRANSFORM_WRITER_ABI_H
#define REALIGN_IO_ITK_TRANSFORM_WRITER_ABI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// The version is in the name: a module of another build with another interface is refused
// by dlsym instead of misread. Change the number with anything below.
#define REALIGN_WRITE_ITK_TRANSFORMS_SYMBOL "realign_write_itk_transforms_v1"

// Writes `count` transforms, in order, to one file in ITK's text transform format (the
// format follows the name's extension, .txt or .tfm), with ITK's own transform writer: each
// an AffineTransform_double_3_3 (a type every ITK reader knows; ANTs and nitransforms read
// it as fMRIPrep's own MatrixOffsetTransformBase files) whose 12 parameters are
// parameters[12 k .. 12 k + 11] (the 3x3 matrix row by row, then the translation; ITK's
// order, LPS millimetres) and whose centre is the origin. Returns 0, or not 0 with the problem, one
// line without the file's name, in error (always NUL-terminated, cut to error_size). Never throws.
typedef int (*RealignWriteItkTransforms)(const char* path, const double* parameters, size_t count,
                                         char* error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif
