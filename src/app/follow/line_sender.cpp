#include "realign/app/follow/line_sender.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace realign {
namespace {

// A listener that is not there is tried again after 0.1 s, then twice as long each time up
// to 2 s; and at once (at most every 50 ms) when a line is waiting, so that a listener that
// starts between volumes gets the very next one.
constexpr double kFirstRetryS = 0.1, kMaxRetryS = 2.0, kLineRetryGapS = 0.05;
// A connection that is neither made nor refused by then (a host that drops the packets).
constexpr double kConnectTimeoutS = 2.0;
// About 70 lines of 230 bytes (the kernel doubles what is asked for its bookkeeping).
constexpr int kSendBufferBytes = 8192;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string error_text(int err) { return std::strerror(err); }

// "HOST:PORT" or "[V6]:PORT" into the host and the port (the command line checked the form).
std::pair<std::string, std::string> split_host_port(const std::string& hp) {
  const std::size_t colon = hp.rfind(':');
  std::string host = hp.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, hp.substr(colon + 1)};
}

}  // namespace

LineSender::LineSender(const std::string& host_port) : host_port_(host_port) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("--send: eventfd: " + error_text(errno));
  thread_ = std::thread([this] { run(); });
}

LineSender::~LineSender() { finish(); }

void LineSender::send(std::string line) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= kQueueLines)
      ++counts_.stalled;
    else
      queue_.push_back(std::move(line));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);  // never blocks
}

void LineSender::finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    finished_ = stopping_ = true;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
  const Counts c = counts();
  spdlog::info(
      "--send {}: {} lines sent; {} dropped while the listener was not reading, {} "
      "while none was connected",
      host_port_, c.sent, c.stalled, c.no_listener);
}

LineSender::Counts LineSender::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

// The thread: one non-blocking socket, waited on with poll together with the eventfd.
void LineSender::run() {
  enum class State { Idle, Connecting, Connected };
  State state = State::Idle;
  const auto [host, port] = split_host_port(host_port_);
  int sock = -1;
  std::size_t next_address = 0;  // a name with several addresses: each tried in turn
  std::string out;               // the line being written, with its newline
  std::size_t written = 0;
  double next_attempt = 0.0, last_attempt = -1e9, connect_deadline = 0.0, stop_deadline = 0.0;
  double retry = kFirstRetryS;
  bool warned_absent = false, warned_stalled = false;

  auto close_socket = [&] {
    if (sock >= 0) ::close(sock);
    sock = -1;
  };
  auto connected = [&] {
    state = State::Connected;
    retry = kFirstRetryS;
    // Each line should leave at once: Nagle's algorithm would hold a line back until the
    // previous one is acknowledged.
    const int on = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    int n = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      n = ++counts_.connections;
    }
    spdlog::info("--send {}: connected{}", host_port_, n > 1 ? " again" : "");
  };
  // An attempt failed: the listener is not there (yet); tried again after the back-off.
  auto failed = [&](const std::string& why, double now) {
    close_socket();
    state = State::Idle;
    if (!warned_absent)
      spdlog::warn("--send {}: no listener ({}); the lines go to one as soon as it listens",
                   host_port_, why);
    else
      spdlog::debug("--send {}: no listener ({})", host_port_, why);
    warned_absent = true;
    next_attempt = now + retry;
    retry = std::min(2.0 * retry, kMaxRetryS);
  };
  // A connection broke: the line being written is lost with it.
  auto lose = [&](const std::string& why, double now) {
    spdlog::warn("--send {}: the listener went away ({}); connecting again for the next lines",
                 host_port_, why);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!out.empty()) ++counts_.no_listener;
    }
    out.clear();
    close_socket();
    state = State::Idle;
    next_attempt = now + kFirstRetryS;
    retry = 2.0 * kFirstRetryS;
  };
  auto attempt = [&](double now) {
    last_attempt = now;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int gai = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (gai != 0) return failed(gai_strerror(gai), now);
    std::vector<const addrinfo*> addresses;
    for (const addrinfo* a = found; a; a = a->ai_next) addresses.push_back(a);
    std::string why = "no address";
    for (std::size_t k = 0; k < addresses.size(); ++k) {
      const addrinfo* a = addresses[(next_address + k) % addresses.size()];
      sock = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (sock < 0) {
        why = error_text(errno);
        continue;
      }
      // A small send buffer (the kernel would grow it to megabytes: thousands of lines) so
      // that a listener that stops reading is noticed, and its lines dropped, within about
      // a hundred volumes rather than holding ever older lines for it.
      setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &kSendBufferBytes, sizeof kSendBufferBytes);
      if (::connect(sock, a->ai_addr, a->ai_addrlen) == 0) {
        freeaddrinfo(found);
        return connected();
      }
      if (errno == EINPROGRESS) {
        state = State::Connecting;
        connect_deadline = now + kConnectTimeoutS;
        next_address = (next_address + k + 1) % addresses.size();
        freeaddrinfo(found);
        return;
      }
      why = error_text(errno);
      close_socket();
    }
    freeaddrinfo(found);
    failed(why, now);
  };

  for (;;) {
    double now = now_s();
    bool stopping = false, line_waiting = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping = stopping_;
      line_waiting = !queue_.empty();
    }
    if (state == State::Idle && !stopping &&
        (now >= next_attempt || (line_waiting && now - last_attempt >= kLineRetryGapS)))
      attempt(now);
    bool warn_stalled = false, nothing_left = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Lines wait only for a listener that is there or being connected to.
      if (state == State::Idle) {
        counts_.no_listener += static_cast<long>(queue_.size());
        queue_.clear();
      }
      if (state == State::Connected && out.empty() && !queue_.empty()) {
        out = std::move(queue_.front()) + "\n";
        queue_.pop_front();
        written = 0;
      }
      warn_stalled = counts_.stalled > 0 && !warned_stalled;
      if (stopping) {
        if (stop_deadline == 0.0) stop_deadline = now + kFinishSeconds;
        nothing_left = out.empty() && queue_.empty();
        if (!nothing_left && (state == State::Idle || now >= stop_deadline)) {
          // What the listener did not take in time is lost as a stalled listener's lines;
          // what waited for a connection that never came, as lines with none.
          long& lost = state == State::Connected ? counts_.stalled : counts_.no_listener;
          lost += static_cast<long>(queue_.size()) + (out.empty() ? 0 : 1);
          queue_.clear();
          nothing_left = true;
        }
      }
    }
    if (warn_stalled) {
      warned_stalled = true;
      spdlog::warn(
          "--send {}: the listener is not reading; lines are dropped while it does not "
          "(counted at the end)",
          host_port_);
    }
    if (nothing_left) break;

    if (state == State::Connected && !out.empty()) {
      const ssize_t n =
          ::send(sock, out.data() + written, out.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
        if (written == out.size()) {
          out.clear();
          std::lock_guard<std::mutex> lock(mutex_);
          ++counts_.sent;
        }
        continue;  // the next line, or more of this one
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        lose(error_text(errno), now);
        continue;
      }
    }

    // Wait for a line, for the socket to connect or take more, for the listener to hang
    // up, or for the next attempt or the end.
    double until = 1.0;
    if (state == State::Idle) until = next_attempt - now;
    if (state == State::Connecting) until = connect_deadline - now;
    if (stopping) until = std::min(until, stop_deadline - now);
    const int timeout_ms = static_cast<int>(std::clamp(until, 0.0, 1.0) * 1000.0) + 1;
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {sock, 0, 0}};
    if (state == State::Connecting) fds[1].events = POLLOUT;
    if (state == State::Connected) fds[1].events = POLLIN | (out.empty() ? 0 : POLLOUT);
    ::poll(fds, sock >= 0 ? 2 : 1, timeout_ms);
    if (fds[0].revents & POLLIN) {
      std::uint64_t v = 0;
      [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &v, sizeof v);
    }
    now = now_s();
    if (state == State::Connecting) {
      if (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0)
          connected();
        else
          failed(error_text(err), now);
      } else if (now >= connect_deadline) {
        failed("no answer within 2 s", now);
      }
    } else if (state == State::Connected && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
      // Whatever a listener says is ignored; its end of the stream is what matters.
      char buf[512];
      const ssize_t n = ::recv(sock, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0)
        lose("it closed the connection", now);
      else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        lose(error_text(errno), now);
    }
  }
  close_socket();
}

}  // namespace realign
