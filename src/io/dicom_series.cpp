#include "realign/io/dicom_series.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <utility>
#include <vector>

#include "realign/io/dicom_io.hpp"
#include "realign/io/errors.hpp"
#include "realign/io/frame_file.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

// In any case: exports from Windows shares and scanners come in capitals (VOL_0001.DCM).
bool ends_with(const std::string& s, const std::string& end) {
  if (s.size() < end.size()) return false;
  return std::equal(end.begin(), end.end(), s.end() - end.size(), [](char a, char b) {
    return a == std::tolower(static_cast<unsigned char>(b));
  });
}

// The name without its volume file extension; false when it has none of them.
bool volume_stem(const std::string& name, std::string& stem) {
  if (name.empty() || name[0] == '.') return false;
  for (const char* ext : {".nii.gz", ".nii", ".dcm", ".ima"})
    if (ends_with(name, ext)) {
      stem = name.substr(0, name.size() - std::string(ext).size());
      return true;
    }
  if (name.find('.') != std::string::npos) return false;
  stem = name;
  return true;
}

// The volumes of a series, checked to share the first one's grid, written in order.
class FrameWriter {
 public:
  FrameWriter(const std::string& dir, int fd, const std::string& fd_name)
      : dir_(dir), fd_(fd), fd_name_(fd_name) {}

  void add(const Volume& v, double tr_s, const std::string& file) {
    if (frames_ == 0) {
      grid_ = v.grid;
      tr_s_ = tr_s;
    } else if (!v.grid.same_as(grid_, 1e-3)) {
      throw InputError(file,
                       "is on another grid (dimensions or voxel-to-world matrix) than "
                       "the series' first volume, " +
                           first_ + "; a run is on one grid");
    }
    if (frames_ == 0) first_ = fs::path(file).filename().string();
    write_frame_bytes(fd_, reinterpret_cast<const char*>(v.data.data()),
                      v.data.size() * sizeof(float), fd_name_);
    ++frames_;
  }

  NiftiInfo info() const {
    if (frames_ == 0) throw InputError(dir_, "holds no DICOM volume");
    return dicom_nifti_info(grid_, frames_, tr_s_);
  }

 private:
  const std::string& dir_;
  int fd_;
  const std::string& fd_name_;
  int frames_ = 0;
  Grid grid_;
  double tr_s_ = 0.0;
  std::string first_;
};

}  // namespace

long volume_file_number(const std::string& name) {
  std::string stem;
  if (!volume_stem(name, stem)) return -1;
  const auto last = std::find_if(stem.rbegin(), stem.rend(), ::isdigit);
  if (last == stem.rend()) return -1;
  const auto first = std::find_if_not(last, stem.rend(), ::isdigit);
  const std::string digits(first.base(), last.base());
  return digits.size() > 9 ? -1 : std::stol(digits);
}

bool maybe_dicom_name(const std::string& name) {
  std::string stem;
  return volume_stem(name, stem) && !ends_with(name, ".nii") && !ends_with(name, ".nii.gz");
}

NiftiInfo write_dicom_series(const std::string& dir, int fd, const std::string& fd_name) {
  std::vector<std::pair<long, std::string>> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const long n = volume_file_number(name);
    if (n >= 0 && maybe_dicom_name(name) && e.is_regular_file(ec)) files.emplace_back(n, name);
  }
  if (ec) throw InputError(dir, "cannot be listed: " + ec.message());
  if (files.empty())
    throw InputError(dir,
                     "is a directory without numbered DICOM files (.dcm, .ima, or names "
                     "without an extension); realign reads a NIfTI file or a DICOM run");
  std::sort(files.begin(), files.end());
  FrameWriter frames(dir, fd, fd_name);
  SliceStacker stacker;
  bool slices = false, volumes = false;
  for (const auto& [n, name] : files) {
    const std::string path = (fs::path(dir) / name).string();
    const DicomFile f = open_dicom(path);
    if (f.kind == DicomKind::Slice) {
      slices = true;
      for (StackedVolume& v : stacker.add(read_dicom_slice(f)))
        frames.add(v.volume, v.tr_s, v.first_file);
      for (const std::string& lost : stacker.given_up()) throw InputError(dir, lost);
    } else {
      volumes = true;
      const DicomVolume v = read_dicom_volume(f);
      frames.add(v.volume, v.tr_s, path);
    }
    if (slices && volumes)
      throw InputError(path, "mixes single slices and whole volumes with the files before it");
  }
  for (const std::string& left : stacker.unfinished()) throw InputError(dir, left);
  return frames.info();
}

}  // namespace realign
