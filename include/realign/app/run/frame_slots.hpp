// Frames handed from the threads that reslice them to the one thread that takes them in
// order (one process playing the parts ranks play: app/run/reslice_stream.cpp). Each
// reslicing thread has a ring of a few slots, so it runs ahead a little and no thread
// holds more than a few frames; a thread that waits sleeps on a condition variable,
// which leaves the core to whoever else needs it.
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <vector>

namespace realign {

struct FrameSlot {
  std::vector<float> frame;   // resliced, unmasked
  std::vector<char> encoded;  // masked and encoded as the file holds it (when not floats)
  int f = -1;                 // the frame it holds; -1 while empty
};

class FrameSlots {
 public:
  FrameSlots(int producers, int depth);

  // Producer p: the slot for its next frame once the taker has emptied it; null once
  // stopped. fill() then hands the frame over.
  FrameSlot* claim(int p);
  void fill(int p, int f);

  // The taker: producer p's next frame, once it is there; null once stopped. release()
  // gives the slot back.
  FrameSlot* take(int p);
  void release(int p);

  // Wakes every waiting thread and makes every later call return null; the first error
  // given is kept for error().
  void stop(std::exception_ptr error);
  std::exception_ptr error() const;

 private:
  struct Ring {
    std::vector<FrameSlot> slots;
    std::size_t produced = 0, taken = 0;  // counts of frames filled and released
  };
  FrameSlot& slot(Ring& r, std::size_t n) { return r.slots[n % r.slots.size()]; }

  std::vector<Ring> rings_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopped_ = false;
  std::exception_ptr error_;
};

}  // namespace realign
