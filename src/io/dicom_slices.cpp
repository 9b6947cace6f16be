#include "realign/io/dicom_slices.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "realign/io/errors.hpp"

namespace realign {
namespace {

// Two slices this close are at the same position: positions are decimal strings, equal
// from volume to volume when the stack does not move.
constexpr double kSamePositionMm = 0.01;

std::string name(const std::string& file) {
  return std::filesystem::path(file).filename().string();
}

bool same_plane(const DicomPlane& a, const DicomPlane& b) {
  const auto close = [](double x, double y) { return std::fabs(x - y) <= 1e-4 * std::fabs(x); };
  return a.rows == b.rows && a.columns == b.columns && (a.along_row - b.along_row).norm() <= 1e-3 &&
         (a.down_column - b.down_column).norm() <= 1e-3 && close(a.row_spacing, b.row_spacing) &&
         close(a.column_spacing, b.column_spacing);
}

}  // namespace

DicomSlice slice_of(const std::string& file, const DicomTags& tags) {
  DicomSlice s;
  s.file = file;
  s.plane = plane_of(file, tags);
  if (!tags.instance)
    throw RefusedInput(file,
                       "one slice without an InstanceNumber (0020,0013): its volume cannot be "
                       "told");
  s.instance = *tags.instance;
  s.series = tags.series_uid;
  s.acquisition = tags.acquisition;
  s.per_volume = std::max(0L, tags.images_in_acquisition.value_or(0));
  s.thickness_mm = tags.slice_thickness;
  s.spacing_mm = tags.slice_spacing;
  s.tr_s = tags.tr_ms / 1000.0;
  return s;
}

std::vector<StackedVolume> SliceStacker::add(DicomSlice s) {
  if (s.pixels.size() != static_cast<std::size_t>(s.plane.rows) * s.plane.columns)
    throw std::invalid_argument("SliceStacker::add: " + s.file + ": pixels not rows x columns");
  if (s.instance < 1)
    throw RefusedInput(s.file,
                       fmt::format("InstanceNumber {}: a series' images count from 1", s.instance));
  if (first_) {
    check_series(s);
  } else {
    if (s.per_volume > kMaxSlices)
      throw RefusedInput(s.file, fmt::format("ImagesInAcquisition (0020,1002) {}: more slices "
                                             "per volume than realign takes ({})",
                                             s.per_volume, kMaxSlices));
    first_ = s;
    first_->pixels = {};
    per_volume_ = s.per_volume;
  }
  std::vector<StackedVolume> done;
  if (per_volume_ == 0) {
    if (waiting_.count(s.instance))
      throw RefusedInput(s.file, fmt::format("a second image with InstanceNumber {}", s.instance));
    if (!learn_slices_per_volume(s)) {
      if (static_cast<long>(waiting_.size()) >= kMaxSlices) {
        given_up_.push_back(fmt::format(
            "{} slices from {}: no ImagesInAcquisition (0020,1002) and no position came twice, "
            "so the slices per volume are unknown; not used",
            waiting_.size(), name(waiting_.begin()->second.file)));
        waiting_.clear();
      }
      waiting_.emplace(s.instance, std::move(s));
      return done;
    }
    // The slices that waited for the count are filed first, in their order.
    std::map<long, DicomSlice> waiting;
    waiting.swap(waiting_);
    for (auto& [n, w] : waiting) {
      const std::string file = w.file;
      if (const auto problem = this->file(std::move(w), done))
        given_up_.push_back(name(file) + ": " + *problem + "; not used");
    }
  }
  const std::string file = s.file;
  if (const auto problem = this->file(std::move(s), done)) throw RefusedInput(file, *problem);
  return done;
}

std::vector<std::string> SliceStacker::given_up() {
  std::vector<std::string> out;
  out.swap(given_up_);
  return out;
}

std::vector<std::string> SliceStacker::unfinished() const {
  std::vector<std::string> out;
  if (!waiting_.empty())
    out.push_back(
        fmt::format("{} slices from {} to {}: the slices per volume never became known (no "
                    "ImagesInAcquisition (0020,1002), and no position came twice)",
                    waiting_.size(), name(waiting_.begin()->second.file),
                    name(waiting_.rbegin()->second.file)));
  for (const auto& [v, open] : open_) out.push_back(describe(v, open, "never completed"));
  return out;
}

void SliceStacker::check_series(const DicomSlice& s) const {
  const DicomSlice& f = *first_;
  if (!f.series.empty() && !s.series.empty() && f.series != s.series)
    throw RefusedInput(s.file, "of another series (SeriesInstanceUID " + s.series + ") than " +
                                   name(f.file) + ", the series' first slice");
  if (!same_plane(f.plane, s.plane))
    throw RefusedInput(s.file, "another image plane (size, orientation or pixel spacing) than " +
                                   name(f.file) + ", the series' first slice");
}

// The slices per volume from the first position that comes twice: the nearest
// InstanceNumber at the same position is a volume away.
bool SliceStacker::learn_slices_per_volume(const DicomSlice& s) {
  long nearest = 0;
  for (const auto& [n, w] : waiting_)
    if ((w.plane.position - s.plane.position).norm() <= kSamePositionMm) {
      const long apart = std::labs(n - s.instance);
      if (nearest == 0 || apart < nearest) nearest = apart;
    }
  if (nearest == 0 || nearest > kMaxSlices) return false;
  per_volume_ = nearest;
  return true;
}

// Files one slice under its volume; a volume it completes joins `done`. Returns why the
// slice cannot be filed (the stacker unchanged), or nothing.
std::optional<std::string> SliceStacker::file(DicomSlice s, std::vector<StackedVolume>& done) {
  const long v = (s.instance - 1) / per_volume_;
  if (v < next_)
    return fmt::format("InstanceNumber {} is of volume {}, handed out or given up already",
                       s.instance, v + 1);
  auto it = open_.find(v);
  if (it != open_.end()) {
    if (it->second.slices.count(s.instance))
      return fmt::format("a second image with InstanceNumber {}", s.instance);
    const DicomSlice& other = it->second.slices.begin()->second;
    if (other.acquisition && s.acquisition && *other.acquisition != *s.acquisition)
      return fmt::format("AcquisitionNumber {}, the other slices of volume {} have {}",
                         *s.acquisition, v + 1, *other.acquisition);
  } else {
    if (open_.size() >= kMaxOpenVolumes) {  // memory stays bounded: the oldest goes
      const long oldest = open_.begin()->first;
      given_up_.push_back(describe(oldest, open_.begin()->second, "never completed"));
      open_.erase(open_.begin());
      next_ = oldest + 1;
      if (v < next_)
        return fmt::format("InstanceNumber {} is of volume {}, given up already", s.instance,
                           v + 1);
    }
    it = open_.emplace(v, Open{}).first;
  }
  it->second.slices.emplace(s.instance, std::move(s));
  if (static_cast<long>(it->second.slices.size()) < per_volume_) return std::nullopt;

  give_up_before(v);
  const Open complete = std::move(it->second);
  open_.erase(v);
  next_ = v + 1;
  std::string why;
  if (auto volume = stack(v, complete, why))
    done.push_back(std::move(*volume));
  else
    given_up_.push_back(describe(v, complete, why + "; not used"));
  return std::nullopt;
}

void SliceStacker::give_up_before(long volume) {
  while (!open_.empty() && open_.begin()->first < volume) {
    given_up_.push_back(describe(open_.begin()->first, open_.begin()->second, "never completed"));
    open_.erase(open_.begin());
  }
}

std::string SliceStacker::describe(long volume, const Open& open, const std::string& why) const {
  return fmt::format("volume {} ({} to {}): {} of {} slices; {}", volume + 1,
                     name(open.slices.begin()->second.file),
                     name(open.slices.rbegin()->second.file), open.slices.size(), per_volume_, why);
}

std::optional<StackedVolume> SliceStacker::stack(long volume, const Open& open,
                                                 std::string& why) const {
  const DicomPlane& plane = first_->plane;
  const Vec3 normal = plane.normal();
  std::vector<const DicomSlice*> order;
  for (const auto& [n, s] : open.slices) order.push_back(&s);
  const DicomSlice& lowest = *order.front();
  const auto depth = [&](const DicomSlice* s) { return normal.dot(s->plane.position); };
  std::stable_sort(order.begin(), order.end(),
                   [&](const DicomSlice* a, const DicomSlice* b) { return depth(a) < depth(b); });
  const std::size_t n = order.size();
  Vec3 step;
  if (n == 1) {
    const double depth_mm = lowest.spacing_mm > 0 ? lowest.spacing_mm : lowest.thickness_mm;
    if (!(depth_mm > 1e-4 && depth_mm < 1e4)) {
      why = "one slice per volume and no SliceThickness (0018,0050) to give it a depth";
      return std::nullopt;
    }
    step = normal * depth_mm;
  } else {
    const double s = normal.dot(order.back()->plane.position - order.front()->plane.position) /
                     static_cast<double>(n - 1);
    if (s < 1e-3) {
      why = "its slices all lie at one position";
      return std::nullopt;
    }
    for (std::size_t k = 1; k < n; ++k) {
      const Vec3 off = order[k]->plane.position - order[0]->plane.position -
                       normal * (s * static_cast<double>(k));
      if (off.norm() > 0.05 * std::fabs(s)) {
        why = fmt::format(
            "its slices are not evenly spaced on a line along their normal ({} lies {:.3g} mm "
            "off)",
            name(order[k]->file), off.norm());
        return std::nullopt;
      }
    }
    step = normal * s;
  }
  StackedVolume out;
  out.number = volume + 1;
  out.volume.grid = stack_grid(plane, static_cast<int>(n), order.front()->plane.position, step);
  out.volume.data.resize(out.volume.grid.voxels());
  for (std::size_t k = 0; k < n; ++k)
    place_image(plane, order[k]->pixels.data(), static_cast<int>(k), out.volume.data.data());
  out.tr_s = lowest.tr_s;
  out.first_file = lowest.file;
  out.last_file = open.slices.rbegin()->second.file;
  return out;
}

}  // namespace realign
