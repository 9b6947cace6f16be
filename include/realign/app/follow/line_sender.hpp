// `realign follow --send HOST:PORT`: each volume's line, as one JSON object per line (JSON
// Lines), to a TCP listener: the neurofeedback program (OpenNFT, Pyneal, rtCloud, a few
// lines of Python) that would otherwise parse the TSV from a pipe. realign connects as the
// client, so the program may start before or after the follow, and restart during it.
//
// Sending must never slow the follow: the lines go through a short queue to a thread of
// their own, whose socket never blocks (connect included). So a listener that is not there
// yet gets the lines from the first volume after it is (the lines before are dropped, not
// kept for it), one that stops reading loses the lines that do not fit the queue (counted,
// one warning), and one that goes away is a warning and is connected to again, with a
// back-off, for the next lines.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace realign {

class LineSender {
 public:
  // What was sent and what was lost, for the last log line and for tests.
  struct Counts {
    long sent = 0;         // complete lines the listener was given
    long stalled = 0;      // dropped because the queue was full (the listener not reading)
    long no_listener = 0;  // dropped while no listener was connected (or its connection broke)
    int connections = 0;   // connections made, the first and every reconnection
  };

  // Starts the thread, which resolves and connects to `host_port` ("HOST:PORT", IPv6 in
  // brackets) itself, so that a slow name service delays no line either.
  explicit LineSender(const std::string& host_port);
  ~LineSender();  // finish()
  LineSender(const LineSender&) = delete;
  LineSender& operator=(const LineSender&) = delete;

  // One line (without its newline). Returns at once: the line is queued, or dropped when
  // kQueueLines are still waiting.
  void send(std::string line);
  // No more lines: what is queued has up to kFinishSeconds to go out, then the connection
  // is closed and the counts logged. Idempotent.
  void finish();
  Counts counts() const;

  // Lines that may wait for a listener that reads slowly: at a TR of 1 s, half a minute of
  // volumes, besides what the socket's own buffers hold.
  static constexpr std::size_t kQueueLines = 32;
  static constexpr double kFinishSeconds = 1.0;

 private:
  class Link;  // the thread's connection: its socket, its state and its back-off
  void run();

  const std::string host_port_;
  int wake_fd_ = -1;  // an eventfd: send() and finish() wake the thread's poll
  mutable std::mutex mutex_;
  std::deque<std::string> queue_;
  Counts counts_;
  bool stopping_ = false, finished_ = false;
  std::thread thread_;
};

}  // namespace realign
