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
#include <tuple>
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

// The thread's side of the connection: one non-blocking socket, waited on with poll
// together with the eventfd, and the line being written to it.
class LineSender::Link {
 public:
  explicit Link(LineSender& owner) : o_(owner) {
    std::tie(host_, port_) = split_host_port(o_.host_port_);
  }
  ~Link() { close_socket(); }
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // One turn of the thread: connect when due, take the next line, write what the socket
  // takes, else wait. False once stopping and nothing is left to send.
  bool turn() {
    const double now = now_s();
    bool stopping = false, line_waiting = false;
    {
      std::lock_guard<std::mutex> lock(o_.mutex_);
      stopping = o_.stopping_;
      line_waiting = !o_.queue_.empty();
    }
    if (state_ == State::Idle && !stopping &&
        (now >= next_attempt_ || (line_waiting && now - last_attempt_ >= kLineRetryGapS)))
      attempt(now);
    if (take_line(now, stopping)) return false;
    if (state_ == State::Connected && !out_.empty() && write_some(now)) return true;
    wait(now, stopping);
    return true;
  }

 private:
  enum class State { Idle, Connecting, Connected };

  void close_socket() {
    if (sock_ >= 0) ::close(sock_);
    sock_ = -1;
  }

  void connected() {
    state_ = State::Connected;
    retry_ = kFirstRetryS;
    // Each line should leave at once: Nagle's algorithm would hold a line back until the
    // previous one is acknowledged.
    const int on = 1;
    setsockopt(sock_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    int n = 0;
    {
      std::lock_guard<std::mutex> lock(o_.mutex_);
      n = ++o_.counts_.connections;
    }
    spdlog::info("--send {}: connected{}", o_.host_port_, n > 1 ? " again" : "");
  }

  // An attempt failed: the listener is not there (yet); tried again after the back-off.
  void failed(const std::string& why, double now) {
    close_socket();
    state_ = State::Idle;
    if (!warned_absent_)
      spdlog::warn("--send {}: no listener ({}); the lines go to one as soon as it listens",
                   o_.host_port_, why);
    else
      spdlog::debug("--send {}: no listener ({})", o_.host_port_, why);
    warned_absent_ = true;
    next_attempt_ = now + retry_;
    retry_ = std::min(2.0 * retry_, kMaxRetryS);
  }

  // A connection broke: the line being written is lost with it.
  void lose(const std::string& why, double now) {
    spdlog::warn("--send {}: the listener went away ({}); connecting again for the next lines",
                 o_.host_port_, why);
    {
      std::lock_guard<std::mutex> lock(o_.mutex_);
      if (!out_.empty()) ++o_.counts_.no_listener;
    }
    out_.clear();
    close_socket();
    state_ = State::Idle;
    next_attempt_ = now + kFirstRetryS;
    retry_ = 2.0 * kFirstRetryS;
  }

  // Resolves the name and starts connecting to its next address (several are tried in
  // turn, one per attempt that gets as far as connecting).
  void attempt(double now) {
    last_attempt_ = now;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int gai = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found);
    if (gai != 0) return failed(gai_strerror(gai), now);
    std::vector<const addrinfo*> addresses;
    for (const addrinfo* a = found; a; a = a->ai_next) addresses.push_back(a);
    std::string why = "no address";
    for (std::size_t k = 0; k < addresses.size() && state_ == State::Idle; ++k) {
      const addrinfo* a = addresses[(next_address_ + k) % addresses.size()];
      if (start_connecting(*a, now, why))
        next_address_ = (next_address_ + k + 1) % addresses.size();
    }
    freeaddrinfo(found);
    if (state_ == State::Idle) failed(why, now);
  }

  // A socket to `a`, connected or connecting; false (with why) when neither.
  bool start_connecting(const addrinfo& a, double now, std::string& why) {
    sock_ = ::socket(a.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sock_ < 0) {
      why = error_text(errno);
      return false;
    }
    // A small send buffer (the kernel would grow it to megabytes: thousands of lines) so
    // that a listener that stops reading is noticed, and its lines dropped, within about
    // a hundred volumes rather than holding ever older lines for it.
    setsockopt(sock_, SOL_SOCKET, SO_SNDBUF, &kSendBufferBytes, sizeof kSendBufferBytes);
    if (::connect(sock_, a.ai_addr, a.ai_addrlen) == 0) {
      connected();
      return false;
    }
    if (errno == EINPROGRESS) {
      state_ = State::Connecting;
      connect_deadline_ = now + kConnectTimeoutS;
      return true;
    }
    why = error_text(errno);
    close_socket();
    return false;
  }

  // Under the lock: drops what waits with no listener, takes the next line to write, and
  // when stopping, counts what cannot go out in time. True when nothing is left to do.
  bool take_line(double now, bool stopping) {
    bool warn_stalled = false, nothing_left = false;
    {
      std::lock_guard<std::mutex> lock(o_.mutex_);
      auto& queue = o_.queue_;
      Counts& counts = o_.counts_;
      // Lines wait only for a listener that is there or being connected to.
      if (state_ == State::Idle) {
        counts.no_listener += static_cast<long>(queue.size());
        queue.clear();
      }
      if (state_ == State::Connected && out_.empty() && !queue.empty()) {
        out_ = std::move(queue.front()) + "\n";
        queue.pop_front();
        written_ = 0;
      }
      warn_stalled = counts.stalled > 0 && !warned_stalled_;
      if (stopping) {
        if (stop_deadline_ == 0.0) stop_deadline_ = now + kFinishSeconds;
        nothing_left = out_.empty() && queue.empty();
        if (!nothing_left && (state_ == State::Idle || now >= stop_deadline_)) {
          // What the listener did not take in time is lost as a stalled listener's lines;
          // what waited for a connection that never came, as lines with none.
          long& lost = state_ == State::Connected ? counts.stalled : counts.no_listener;
          lost += static_cast<long>(queue.size()) + (out_.empty() ? 0 : 1);
          queue.clear();
          nothing_left = true;
        }
      }
    }
    if (warn_stalled) {
      warned_stalled_ = true;
      spdlog::warn(
          "--send {}: the listener is not reading; lines are dropped while it does not "
          "(counted at the end)",
          o_.host_port_);
    }
    return nothing_left;
  }

  // Writes what the socket takes of the current line; true when it took something or the
  // connection broke (the caller goes round again at once), false when it is full.
  bool write_some(double now) {
    const ssize_t n =
        ::send(sock_, out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      written_ += static_cast<std::size_t>(n);
      if (written_ == out_.size()) {
        out_.clear();
        std::lock_guard<std::mutex> lock(o_.mutex_);
        ++o_.counts_.sent;
      }
      return true;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      lose(error_text(errno), now);
      return true;
    }
    return false;
  }

  // Waits for a line, for the socket to connect or take more, for the listener to hang up,
  // or for the next attempt or the end; then deals with what the socket says.
  void wait(double now, bool stopping) {
    double until = 1.0;
    if (state_ == State::Idle) until = next_attempt_ - now;
    if (state_ == State::Connecting) until = connect_deadline_ - now;
    if (stopping) until = std::min(until, stop_deadline_ - now);
    const int timeout_ms = static_cast<int>(std::clamp(until, 0.0, 1.0) * 1000.0) + 1;
    pollfd fds[2] = {{o_.wake_fd_, POLLIN, 0}, {sock_, 0, 0}};
    if (state_ == State::Connecting) fds[1].events = POLLOUT;
    if (state_ == State::Connected) fds[1].events = POLLIN | (out_.empty() ? 0 : POLLOUT);
    ::poll(fds, sock_ >= 0 ? 2 : 1, timeout_ms);
    if (fds[0].revents & POLLIN) {
      std::uint64_t v = 0;
      [[maybe_unused]] const ssize_t n = ::read(o_.wake_fd_, &v, sizeof v);
    }
    now = now_s();
    if (state_ == State::Connecting) {
      if (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))
        finish_connecting(now);
      else if (now >= connect_deadline_)
        failed("no answer within 2 s", now);
    } else if (state_ == State::Connected && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
      hear(now);
    }
  }

  void finish_connecting(double now) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(sock_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0)
      connected();
    else
      failed(error_text(err), now);
  }

  // Whatever a listener says is ignored; its end of the stream is what matters.
  void hear(double now) {
    char buf[512];
    const ssize_t n = ::recv(sock_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0)
      lose("it closed the connection", now);
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      lose(error_text(errno), now);
  }

  LineSender& o_;
  std::string host_, port_;
  State state_ = State::Idle;
  int sock_ = -1;
  std::size_t next_address_ = 0;  // a name with several addresses: each tried in turn
  std::string out_;               // the line being written, with its newline
  std::size_t written_ = 0;
  double next_attempt_ = 0.0, last_attempt_ = -1e9, connect_deadline_ = 0.0, stop_deadline_ = 0.0;
  double retry_ = kFirstRetryS;
  bool warned_absent_ = false, warned_stalled_ = false;
};

void LineSender::run() {
  Link link(*this);
  while (link.turn()) {
  }
}

}  // namespace realign
