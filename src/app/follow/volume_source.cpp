#include "realign/app/follow/volume_source.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <ctime>
#include <deque>
#include <filesystem>
#include <map>
#include <vector>

#include "realign/io/dicom_io.hpp"
#include "realign/io/dicom_series.hpp"
#include "realign/io/frame_stream.hpp"
#include "realign/io/nifti_io.hpp"

namespace realign {
namespace {

namespace fs = std::filesystem;

double file_time(const struct timespec& t) { return t.tv_sec + t.tv_nsec * 1e-9; }

// A single file given as SOURCE that is DICOM by its name or its content.
bool dicom_file(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  return (maybe_dicom_name(name) && name.find('.') != std::string::npos) ||
         has_dicom_preamble(path);
}

// An error's problem without the "<path>: " it starts with.
std::string problem_of(const InputError& e, const std::string& path) {
  const std::string message = e.what();
  return message.rfind(path + ": ", 0) == 0 ? message.substr(path.size() + 2) : message;
}

// One 3D NIfTI.
void read_nifti_volume(const std::string& path, ArrivedVolume& out) {
  SeriesFile file(path);
  if (file.frames() != 1) throw RefusedInput(path, "holds several frames, not one volume");
  out.info = file.info();
  out.volume.grid = file.grid();
  out.volume.data.resize(file.grid().voxels());
  file.read_frames(0, 1, out.volume.data.data());
}

// A volume read from DICOM, under the header it gets (its grid the header's).
void take_dicom_volume(Volume volume, double tr_s, ArrivedVolume& out) {
  out.info = dicom_nifti_info(volume.grid, 1, tr_s);
  out.volume.grid = out.info.grid;
  out.volume.data = std::move(volume.data);
}

// Sleeps in poll() on the inotify descriptor (or just sleeps without one) for up to
// `seconds`; a signal ends the wait early.
void wait_on(int fd, double seconds) {
  struct pollfd p = {fd, POLLIN, 0};
  const int ms = std::max(1, static_cast<int>(seconds * 1000.0));
  poll(&p, fd >= 0 ? 1 : 0, ms);
}

// A 4D file read frame by frame: a replay. Every frame is complete when read.
class StreamSource : public VolumeSource {
 public:
  explicit StreamSource(const std::string& path) : path_(path), stream_(path) {
    bytes_.resize(stream_.frame_bytes());
  }

  Status next(double, ArrivedVolume& out) override {
    if (stream_.position() >= stream_.info().frames) return Status::Ended;
    out.picked_s = unix_now();
    out.name =
        fmt::format("{}, frame {}", fs::path(path_).filename().string(), stream_.position() + 1);
    out.info = stream_.info();
    out.volume.grid = out.info.grid;
    out.volume.data.resize(out.info.grid.voxels());
    stream_.next(bytes_.data());
    decode_frame(out.info, bytes_.data(), out.volume.data.data());
    out.read_s = unix_now();
    out.complete_s = out.picked_s;  // the bytes were there when the reading began
    return Status::Volume;
  }

 private:
  std::string path_;
  FrameStream stream_;
  std::vector<char> bytes_;
};

// A file in the directory that may be (or become) a volume, or a slice of one.
struct Candidate {
  std::string path;
  long long size = -1, failed_size = -2;  // the size last seen, and when a read failed
  bool closed = false;                    // closed after writing or renamed into place
  std::string error;                      // why the last read failed
};

class DirectorySource : public VolumeSource {
 public:
  explicit DirectorySource(const FollowOptions& opt)
      : dir_(opt.source), gap_wait_s_(opt.gap_wait_s), settle_s_(opt.settle_s) {}
  ~DirectorySource() override {
    if (fd_ >= 0) close(fd_);
  }

  Status next(double wait_s, ArrivedVolume& out) override {
    const double deadline = monotonic_now() + wait_s;
    for (;;) {
      if (take_stacked(out)) return Status::Volume;
      if (fd_ < 0 && !start_watching()) {
        if (monotonic_now() >= deadline) return Status::Waiting;
        wait_on(-1, std::min(0.1, deadline - monotonic_now()));
        continue;
      }
      drain_events();
      if (take_next(out)) return Status::Volume;
      const double left = deadline - monotonic_now();
      if (left <= 0) return Status::Waiting;
      // Short waits: a file without close or rename events is judged by its size.
      wait_on(fd_, std::min(left, 0.05));
    }
  }

  void report_unfinished() const override {
    for (const auto& [n, c] : files_)
      spdlog::warn("{}: never completed ({}): not used", fs::path(c.path).filename().string(),
                   c.error.empty() ? "still being written" : c.error);
    for (const std::string& volume : stacker_.unfinished())
      spdlog::warn("{}: {}: not used", dir_, volume);
  }

 private:
  // What reading a file gave.
  enum class Read { Volume, Slice, Refused, Failed };

  bool start_watching();
  void drain_events();
  void note(const std::string& name, bool closed);
  void scan();
  bool ready(Candidate& c);
  Read read(Candidate& c, ArrivedVolume& out);
  void read_dicom(const std::string& path, ArrivedVolume& out, Read& kind);
  bool take_stacked(ArrivedVolume& out);
  bool take_next(ArrivedVolume& out);
  bool skip_gap();

  std::string dir_;
  double gap_wait_s_, settle_s_;
  int fd_ = -1;
  bool waiting_logged_ = false;
  std::map<long, Candidate> files_;    // by frame number
  long expected_ = LONG_MIN;           // the next frame number; LONG_MIN before the first
  double gap_since_s_ = -1.0;          // since when a later volume waits for `expected_`
  SliceStacker stacker_;               // one-file-per-slice series: slices into volumes
  std::deque<ArrivedVolume> stacked_;  // volumes the last slice completed, to hand out
};

bool DirectorySource::start_watching() {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    if (!waiting_logged_) spdlog::info("{}: waiting for the directory to appear", dir_);
    waiting_logged_ = true;
    return false;
  }
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) throw InputError(dir_, "cannot watch the directory (inotify_init1 failed)");
  const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_DELETE_SELF |
                        IN_MOVE_SELF | IN_ONLYDIR;
  if (inotify_add_watch(fd_, dir_.c_str(), mask) < 0)
    throw InputError(dir_, "cannot watch the directory (inotify_add_watch failed)");
  scan();  // files written before the watch began: tried at once (a partial one fails)
  return true;
}

void DirectorySource::scan() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.is_regular_file(ec)) note(e.path().filename().string(), true);
}

void DirectorySource::note(const std::string& name, bool closed) {
  const long n = frame_number(name);
  if (n < 0) return;
  if (expected_ != LONG_MIN && n < expected_) {
    if (closed) spdlog::warn("{}: arrived after later volumes were processed: ignored", name);
    return;
  }
  Candidate& c = files_[n];
  const std::string path = (fs::path(dir_) / name).string();
  if (c.path != path && !c.path.empty())
    spdlog::warn("{}: a second file with frame number {} (first {}): the newer is used", name, n,
                 fs::path(c.path).filename().string());
  c.path = path;
  if (closed) {  // closed or renamed into place: worth a try even at a size that failed
    c.closed = true;
    c.failed_size = -2;
  }
}

void DirectorySource::drain_events() {
  alignas(struct inotify_event) char buf[16384];
  for (;;) {
    const ssize_t got = ::read(fd_, buf, sizeof buf);
    if (got <= 0) break;
    for (char* p = buf; p < buf + got;) {
      const auto* e = reinterpret_cast<const struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + e->len;
      if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT))
        throw InputError(dir_, "the directory disappeared or moved: stopping");
      if (e->mask & IN_Q_OVERFLOW) scan();
      if (e->len == 0) continue;
      spdlog::trace("{}: event {:#x} {}", dir_, e->mask, e->name);
      const bool done = e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO);
      if (e->mask & IN_MODIFY) {
        auto it = files_.find(frame_number(e->name));
        if (it != files_.end()) it->second.closed = false;  // written again
      }
      note(e->name, done);
    }
  }
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) throw InputError(dir_, "the directory disappeared: stopping");
}

// Complete enough to try: closed or renamed into place, or its size unchanged for
// settle_s (writers seen without those events), and not the size a read already failed at.
bool DirectorySource::ready(Candidate& c) {
  struct stat st {};
  if (stat(c.path.c_str(), &st) != 0) return false;
  c.size = st.st_size;
  // The file's own times: a file written before the follower started is settled already.
  const double changed = std::max(file_time(st.st_mtim), file_time(st.st_ctim));
  if (c.size <= 0 || c.size == c.failed_size) return false;
  return c.closed || unix_now() - changed >= settle_s_;
}

DirectorySource::Read DirectorySource::read(Candidate& c, ArrivedVolume& out) {
  struct stat st {};
  if (stat(c.path.c_str(), &st) != 0) return Read::Failed;
  out.picked_s = unix_now();
  out.complete_s = std::min(out.picked_s, std::max(file_time(st.st_mtim), file_time(st.st_ctim)));
  out.name = fs::path(c.path).filename().string();
  Read kind = Read::Volume;
  try {
    if (maybe_dicom_name(out.name))
      read_dicom(c.path, out, kind);
    else
      read_nifti_volume(c.path, out);
  } catch (const DicomSupportMissing&) {
    throw;  // no later change of the file would make it readable
  } catch (const RefusedInput& e) {
    // Whole, and not what is read here: said once, and the next file judged on its own.
    spdlog::warn("{}: refused: {}", out.name, problem_of(e, c.path));
    return Read::Refused;
  } catch (const InputError& e) {
    c.failed_size = c.size;
    c.error = e.what();
    spdlog::debug("{} (will try again when it changes)", c.error);
    return Read::Failed;
  }
  out.read_s = unix_now();
  return kind;
}

// A DICOM file: a volume (multi-frame, mosaic), or a slice for the stacker, which may
// complete volumes (queued in stacked_, each stamped with this slice's times).
void DirectorySource::read_dicom(const std::string& path, ArrivedVolume& out, Read& kind) {
  const DicomFile file = open_dicom(path);
  if (file.kind != DicomKind::Slice) {
    DicomVolume d = read_dicom_volume(file);
    take_dicom_volume(std::move(d.volume), d.tr_s, out);
    kind = Read::Volume;
    return;
  }
  std::vector<StackedVolume> done = stacker_.add(read_dicom_slice(file));
  for (const std::string& lost : stacker_.given_up()) spdlog::warn("{}: {}", dir_, lost);
  for (StackedVolume& v : done) {
    ArrivedVolume a;
    a.name = fs::path(v.first_file).filename().string();
    a.complete_s = out.complete_s;
    a.picked_s = out.picked_s;
    take_dicom_volume(std::move(v.volume), v.tr_s, a);
    a.read_s = unix_now();
    spdlog::debug("{}: completes volume {} ({} to {})", out.name, v.number, a.name,
                  fs::path(v.last_file).filename().string());
    stacked_.push_back(std::move(a));
  }
  kind = Read::Slice;
}

bool DirectorySource::take_stacked(ArrivedVolume& out) {
  if (stacked_.empty()) return false;
  out = std::move(stacked_.front());
  stacked_.pop_front();
  return true;
}

// The expected file when it is complete: a volume, or a slice (then the files after it,
// until a volume is complete); a refused file is passed over at once. When the expected
// file is missing (or never completes) while a later one is ready, that one after
// gap_wait_s.
bool DirectorySource::take_next(ArrivedVolume& out) {
  for (;;) {
    if (files_.empty()) return false;
    if (expected_ == LONG_MIN) expected_ = files_.begin()->first;
    auto it = files_.find(expected_);
    const Read got = it != files_.end() && ready(it->second) ? read(it->second, out) : Read::Failed;
    if (got != Read::Failed) {
      files_.erase(it);
      ++expected_;
      gap_since_s_ = -1.0;
      if (got == Read::Volume) return true;
      if (take_stacked(out)) return true;
      continue;
    }
    if (!skip_gap()) return false;
  }
}

bool DirectorySource::skip_gap() {
  auto later = files_.upper_bound(expected_);
  while (later != files_.end() && !ready(later->second)) ++later;
  if (later == files_.end()) return false;
  const double now = monotonic_now();
  if (gap_since_s_ < 0) gap_since_s_ = now;
  if (now - gap_since_s_ < gap_wait_s_) return false;
  auto it = files_.find(expected_);
  const std::string next = fs::path(later->second.path).filename().string();
  if (it == files_.end())
    spdlog::warn("{}: volume number {} is missing{}: going on with {}", dir_, expected_,
                 later->first > expected_ + 1 ? fmt::format(" (to {})", later->first - 1) : "",
                 next);
  else
    spdlog::warn("{}: never completed ({}): skipped, going on with {}",
                 fs::path(it->second.path).filename().string(),
                 it->second.error.empty() ? "still being written" : it->second.error, next);
  files_.erase(files_.begin(), later);
  expected_ = later->first;
  gap_since_s_ = -1.0;
  return true;
}

}  // namespace

double monotonic_now() {
  struct timespec t {};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return file_time(t);
}

double unix_now() {
  struct timespec t {};
  clock_gettime(CLOCK_REALTIME, &t);
  return file_time(t);
}

long frame_number(const std::string& name) { return volume_file_number(name); }

std::unique_ptr<VolumeSource> open_source(const FollowOptions& opt) {
  std::error_code ec;
  if (fs::is_regular_file(opt.source, ec)) {
    if (dicom_file(opt.source))
      throw InputError(opt.source,
                       "a single DICOM file: give the directory the DICOM volumes arrive in");
    return std::make_unique<StreamSource>(opt.source);
  }
  return std::make_unique<DirectorySource>(opt);
}

}  // namespace realign
