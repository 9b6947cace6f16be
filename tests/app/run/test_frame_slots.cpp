// The hand-over between reslicing threads and the taking thread: every frame arrives once,
// in each producer's order, with no producer more than the ring's depth ahead, and a stop
// wakes a thread that waits.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "realign/app/run/frame_slots.hpp"

namespace realign {
namespace {

TEST(FrameSlots, EveryFrameArrivesOnceInOrderAndProducersStayWithinTheirRing) {
  const int producers = 3, depth = 2, frames = 300;
  FrameSlots slots(producers, depth);
  std::atomic<int> most_ahead{0};
  std::vector<std::atomic<int>> taken(producers);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int f = p; f < frames; f += producers) {
        FrameSlot* s = slots.claim(p);
        ASSERT_NE(s, nullptr);
        const int ahead = f / producers - taken[p].load();
        if (ahead > most_ahead) most_ahead = ahead;
        s->frame.assign(4, static_cast<float>(f));
        slots.fill(p, f);
      }
    });
  for (int f = 0; f < frames; ++f) {
    const int p = f % producers;
    FrameSlot* s = slots.take(p);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->f, f);
    EXPECT_EQ(s->frame.at(3), static_cast<float>(f));
    ++taken[p];
    slots.release(p);
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(most_ahead.load(), depth);
  EXPECT_FALSE(slots.error());
}

TEST(FrameSlots, StopWakesAWaitingTakerAndKeepsTheFirstError) {
  FrameSlots slots(1, 2);
  std::thread taker([&] { EXPECT_EQ(slots.take(0), nullptr); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  slots.stop(std::make_exception_ptr(std::runtime_error("first")));
  slots.stop(std::make_exception_ptr(std::runtime_error("second")));
  taker.join();
  EXPECT_EQ(slots.claim(0), nullptr);
  try {
    std::rethrow_exception(slots.error());
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
}

}  // namespace
}  // namespace realign
