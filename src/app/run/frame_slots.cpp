#include "realign/app/run/frame_slots.hpp"

namespace realign {

FrameSlots::FrameSlots(int producers, int depth) : rings_(producers) {
  for (Ring& r : rings_) r.slots.resize(depth);
}

FrameSlot* FrameSlots::claim(int p) {
  Ring& r = rings_[p];
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return stopped_ || r.produced - r.taken < r.slots.size(); });
  return stopped_ ? nullptr : &slot(r, r.produced);
}

void FrameSlots::fill(int p, int f) {
  Ring& r = rings_[p];
  {
    std::lock_guard<std::mutex> lock(mutex_);
    slot(r, r.produced).f = f;
    ++r.produced;
  }
  changed_.notify_all();
}

FrameSlot* FrameSlots::take(int p) {
  Ring& r = rings_[p];
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return stopped_ || r.produced > r.taken; });
  return stopped_ ? nullptr : &slot(r, r.taken);
}

void FrameSlots::release(int p) {
  Ring& r = rings_[p];
  {
    std::lock_guard<std::mutex> lock(mutex_);
    slot(r, r.taken).f = -1;
    ++r.taken;
  }
  changed_.notify_all();
}

void FrameSlots::stop(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    if (!error_) error_ = error;
  }
  changed_.notify_all();
}

std::exception_ptr FrameSlots::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

}  // namespace realign
