// A run exported as DICOM: a directory of files, one per volume (Siemens mosaics,
// multi-frame images) or one per slice, read as one 4D series. Which files, and in which
// order, are `realign follow`'s rules (the same names, the same order), so that a batch run
// on the directory and a follow of it agree.
#pragma once

#include <string>

#include "realign/io/nifti_header.hpp"

namespace realign {

// The number in a volume file's name: its last group of digits ("vol_0012.nii.gz" -> 12,
// "I37" -> 37); -1 when there is none or the name is not one of a volume file: NIfTI (.nii,
// .nii.gz), DICOM by name (.dcm, .ima) or a name without an extension, which its content
// makes DICOM or not (GE's real-time export writes I0, I1, ...); in any case; a name that
// starts with a dot (hidden, a writer's temporary) is none.
long volume_file_number(const std::string& name);

// Whether a volume file's name is a DICOM one (.dcm, .ima or no extension): its content
// decides.
bool maybe_dicom_name(const std::string& name);

// Reads the DICOM files of `dir` (named as volume_file_number takes them, in the order of
// their numbers), stacks one-file-per-slice series into volumes (io/dicom_slices), and
// writes the volumes in order into the open file `fd` as float32 frames from byte 0, this
// machine's byte order. Returns their header (dicom_nifti_info): the first volume's grid
// and RepetitionTime. Throws InputError naming the file (or the directory) for a file that
// is not read, a volume left incomplete or on another grid than the first, fewer than one
// volume; OutputError naming fd_name when fd cannot hold them.
NiftiInfo write_dicom_series(const std::string& dir, int fd, const std::string& fd_name);

}  // namespace realign
