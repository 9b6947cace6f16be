// Volumes made of one-file-per-slice DICOM series (GE's and Philips' real-time exports,
// Siemens without mosaics): slices given one by one as they arrive, each volume handed
// out when its last slice is in.
//
// Which volume a slice belongs to: InstanceNumber counts the series' images from 1, a
// volume's slices one after another, so slice n (from 1) is in volume (n - 1) / S, S the
// slices per volume: ImagesInAcquisition (0020,1002) when the header gives it, else the
// distance in InstanceNumber between two slices at the same position (known once the
// first slice of the second volume is in). Within a volume the slices are stacked by
// their position along the plane's normal (row direction x column direction), ascending,
// whatever the order of their numbers, as dcm2niix stacks them; they must be evenly spaced
// on one line, or the volume is refused. The grid is stack_grid's (dcm2niix's layout).
//
// The headers are untrusted: a slice that cannot belong to the series, a volume whose
// slices do not stack, or slices that never complete a volume each end in a one-line
// message, and what is held stays bounded (a few volumes' slices).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "realign/core/volume.hpp"
#include "realign/io/dicom_geometry.hpp"

namespace realign {

// One single-slice image: where its header puts it, its numbers and its pixels.
struct DicomSlice {
  std::string file;  // for messages
  DicomPlane plane;
  std::string series;  // SeriesInstanceUID
  long instance = 0;   // InstanceNumber
  std::optional<long> acquisition;
  long per_volume = 0;  // ImagesInAcquisition, 0 when the header does not give it
  double thickness_mm = 0.0, spacing_mm = 0.0;  // SliceThickness, SpacingBetweenSlices
  double tr_s = 0.0;
  std::vector<float> pixels;  // plane.rows x plane.columns, columns fastest, as stored
};

// The slice a file's header describes, without its pixels (to be read into `pixels`);
// throws RefusedInput when it has no InstanceNumber, and as plane_of does.
DicomSlice slice_of(const std::string& file, const DicomTags& tags);

struct StackedVolume {
  long number = 0;  // from 1, in the series
  Volume volume;
  double tr_s = 0.0;
  std::string first_file, last_file;  // its lowest and highest InstanceNumber's files
};

class SliceStacker {
 public:
  // At most this many slices per volume, and volumes held incomplete at once: beyond
  // that a header is taken for garbage, and memory must not grow with it.
  static constexpr long kMaxSlices = 1024;
  static constexpr std::size_t kMaxOpenVolumes = 4;

  // Takes a slice; returns the volumes it completes (one, or none; more only when it is the
  // slice that makes the slices per volume known), in order. Volumes come out in their
  // order: one that completes while an earlier one is incomplete gives the earlier up
  // (given_up()).
  // Throws RefusedInput naming the slice's file when it cannot belong to the series (another
  // series, another plane, an InstanceNumber seen before or of a volume already handed out
  // or given up); the stacker is then as it was before the slice. A volume that completes
  // but does not stack (slices not evenly spaced on a line) is given up.
  std::vector<StackedVolume> add(DicomSlice slice);

  // The volumes given up since the last call, one line each ("volume 3 (a.dcm to c.dcm):
  // 14 of 15 slices; never completed"), in order.
  std::vector<std::string> given_up();

  // The volumes still incomplete, one line each: at the end of a series.
  std::vector<std::string> unfinished() const;

  // Slices per volume, 0 while not yet known.
  long slices_per_volume() const { return per_volume_; }

 private:
  struct Open {
    std::map<long, DicomSlice> slices;  // by InstanceNumber
  };
  void check_series(const DicomSlice& s) const;
  bool learn_slices_per_volume(const DicomSlice& s);
  std::optional<std::string> file(DicomSlice s, std::vector<StackedVolume>& done);
  std::optional<StackedVolume> stack(long volume, const Open& open, std::string& why) const;
  std::string describe(long volume, const Open& open, const std::string& why) const;
  void give_up_before(long volume);

  std::optional<DicomSlice> first_;  // the series' first slice: its plane and UID, no pixels
  long per_volume_ = 0;
  std::map<long, DicomSlice> waiting_;  // while per_volume_ is unknown, by InstanceNumber
  std::map<long, Open> open_;           // volumes (from 0) with some slices in
  long next_ = 0;                       // the lowest volume not yet handed out or given up
  std::vector<std::string> given_up_;
};

}  // namespace realign
