// `--send`'s sender against a listener of the test's own on 127.0.0.1, on a port the
// system chose (port 0, then read back): lines arrive whole and in order; a listener that
// listens late gets the lines from then on; one that stops reading loses lines, counted,
// while send() still returns at once; one that hangs up is a warning and is connected to
// again. Every wait is bounded (kWaitS); nothing is timed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "realign/app/follow/line_sender.hpp"
#include "test_support.hpp"

namespace realign {
namespace {

constexpr double kWaitS = 20.0;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A TCP socket bound to 127.0.0.1 on a port of the system's choice; listening on request.
class Listener {
 public:
  explicit Listener(int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // A small receive buffer (inherited by accepted sockets) makes a listener that does not
    // read fill up after a few lines rather than a few thousand.
    if (receive_buffer > 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (conn_ >= 0) ::close(conn_);
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void listen() { ASSERT_EQ(::listen(fd_, 4), 0); }
  // The next connection, within kWaitS.
  bool accept() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(kWaitS * 1000)) != 1) return false;
    if (conn_ >= 0) ::close(conn_);
    conn_ = ::accept(fd_, nullptr, nullptr);
    return conn_ >= 0;
  }
  void hang_up() {
    ::close(conn_);
    conn_ = -1;
  }
  // Lines until `count` are in, the sender closes, or kWaitS pass.
  std::vector<std::string> read_lines(std::size_t count) {
    std::vector<std::string> lines;
    const auto t0 = std::chrono::steady_clock::now();
    while (lines.size() < count && seconds_since(t0) < kWaitS) {
      pollfd p{conn_, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      char buf[4096];
      const ssize_t n = ::recv(conn_, buf, sizeof buf, 0);
      if (n <= 0) break;
      partial_.append(buf, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
        lines.push_back(partial_.substr(0, nl));
        partial_.erase(0, nl + 1);
      }
    }
    return lines;
  }

 private:
  int fd_ = -1, conn_ = -1, port_ = 0;
  std::string partial_;
};

// Until `done` holds, within kWaitS.
template <class Done>
bool eventually(Done done) {
  const auto t0 = std::chrono::steady_clock::now();
  while (!done()) {
    if (seconds_since(t0) > kWaitS) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::string line(int n) { return "{\"frame\":" + std::to_string(n) + "}"; }

// As many lines at once as the queue holds (a follow gives one per volume).
TEST(LineSender, LinesArriveWholeAndInOrder) {
  Listener l;
  l.listen();
  LineSender sender(l.address());
  ASSERT_TRUE(l.accept());
  const int lines = static_cast<int>(LineSender::kQueueLines);
  for (int n = 1; n <= lines; ++n) sender.send(line(n));
  const std::vector<std::string> got = l.read_lines(lines);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(lines));
  for (int n = 1; n <= lines; ++n) EXPECT_EQ(got[n - 1], line(n));
  sender.finish();
  EXPECT_EQ(sender.counts().sent, lines);
  EXPECT_EQ(sender.counts().stalled + sender.counts().no_listener, 0);
}

TEST(LineSender, LateListenerGetsTheLinesFromWhenItListens) {
  Listener l;  // bound, so the port is ours, but not listening: connections are refused
  testing::LogCapture log(spdlog::level::warn);
  LineSender sender(l.address());
  for (int n = 1; n <= 3; ++n) sender.send(line(n));
  ASSERT_TRUE(eventually([&] { return sender.counts().no_listener == 3; }));
  l.listen();
  ASSERT_TRUE(l.accept());
  ASSERT_TRUE(eventually([&] { return sender.counts().connections == 1; }));
  for (int n = 4; n <= 6; ++n) sender.send(line(n));
  EXPECT_EQ(l.read_lines(3), (std::vector<std::string>{line(4), line(5), line(6)}));
  sender.finish();
  EXPECT_EQ(testing::count_of(log.text(), "no listener"), 1u) << log.text();
}

// The lines go one at a time, each taken by the sender before the next, until the socket's
// buffers are full (a line not taken within 2 s); then 100 more go against the full socket:
// each send() returns, the queue keeps what it can and the rest is dropped.
TEST(LineSender, StalledListenerLosesLinesAndNeverHoldsTheCaller) {
  Listener l(2048);
  l.listen();
  testing::LogCapture log(spdlog::level::warn);
  LineSender sender(l.address());
  ASSERT_TRUE(l.accept());  // and never read until the end
  const std::string padding(200, 'x');
  const auto padded = [&](int n) {
    return "{\"frame\":" + std::to_string(n) + ",\"pad\":\"" + padding + "\"}";
  };
  int n = 0;
  for (bool taken = true; taken;) {
    ASSERT_LT(n, 100000) << "the socket never filled";
    sender.send(padded(++n));
    const auto t0 = std::chrono::steady_clock::now();
    while (!(taken = sender.counts().sent >= n - 1) && seconds_since(t0) < 2.0)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(sender.counts().stalled, 0);
  for (int k = 0; k < 100; ++k) sender.send(padded(++n));
  EXPECT_GE(sender.counts().stalled, 100 - static_cast<long>(LineSender::kQueueLines));
  sender.finish();  // its second to deliver what is queued passes without a reader
  const LineSender::Counts c = sender.counts();
  EXPECT_EQ(c.no_listener, 0);
  EXPECT_EQ(c.sent + c.stalled, n);
  EXPECT_EQ(testing::count_of(log.text(), "not reading"), 1u) << log.text();
  // What was sent is whole lines, in order, each once.
  const std::vector<std::string> got = l.read_lines(static_cast<std::size_t>(c.sent) + 1);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(c.sent));
  int last = 0;
  for (const std::string& g : got) {
    const int n = std::stoi(g.substr(9));
    EXPECT_GT(n, last);
    EXPECT_EQ(g, "{\"frame\":" + std::to_string(n) + ",\"pad\":\"" + padding + "\"}");
    last = n;
  }
}

TEST(LineSender, ListenerThatHangsUpIsConnectedToAgain) {
  Listener l;
  l.listen();
  testing::LogCapture log(spdlog::level::warn);
  LineSender sender(l.address());
  ASSERT_TRUE(l.accept());
  for (int n = 1; n <= 3; ++n) sender.send(line(n));
  EXPECT_EQ(l.read_lines(3).size(), 3u);
  l.hang_up();
  ASSERT_TRUE(l.accept());  // the sender's next connection
  ASSERT_TRUE(eventually([&] { return sender.counts().connections == 2; }));
  for (int n = 4; n <= 6; ++n) sender.send(line(n));
  EXPECT_EQ(l.read_lines(3), (std::vector<std::string>{line(4), line(5), line(6)}));
  sender.finish();
  EXPECT_EQ(testing::count_of(log.text(), "went away"), 1u) << log.text();
  EXPECT_EQ(sender.counts().sent, 6);
}

}  // namespace
}  // namespace realign
