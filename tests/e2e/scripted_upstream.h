// A misbehaving upstream for the chaos tests: a loopback TCP server that runs a script on
// each accepted connection, on a thread of its own (one that never answers, half-closes,
// streams without end, speaks garbage). The script gets the socket and a stop flag it must
// watch; the destructor sets the flag, joins every thread and closes every socket.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/harness.h"

namespace infergate::e2e {

class ScriptedUpstream {
 public:
  using Script = std::function<void(int fd, const std::atomic<bool>& stop)>;

  explicit ScriptedUpstream(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int tries = 0; tries < 20 && port_ == 0; ++tries) {
      const uint16_t p = free_port();
      a.sin_port = htons(p);
      if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) port_ = p;
    }
    if (port_ == 0 || ::listen(listen_fd_, 64) != 0) throw std::runtime_error("scripted upstream: cannot listen");
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedUpstream() {
    stop_ = true;
    acceptor_.join();
    std::lock_guard<std::mutex> l(mu_);
    for (auto& t : threads_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  // Connections whose script returned (the peer went away or the script ended).
  int finished() const { return finished_.load(); }

  // Script helpers. Reads what is there (waiting up to `ms`); "" on timeout, nullopt-like
  // "closed" reported through `closed`.
  static std::string read_some(int fd, int ms, bool* closed = nullptr) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return {};
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      return {};
    }
    return std::string(buf, static_cast<size_t>(n));
  }
  // Reads until a request head ("\r\n\r\n") arrived, the peer closed or `stop`.
  static std::string read_head(int fd, const std::atomic<bool>& stop) {
    std::string got;
    bool closed = false;
    while (!stop && !closed && got.find("\r\n\r\n") == std::string::npos) got += read_some(fd, 20, &closed);
    return got;
  }
  // Sends everything; false when the peer is gone.
  static bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Waits until the peer closes or `stop`.
  static void hold(int fd, const std::atomic<bool>& stop) {
    bool closed = false;
    while (!stop && !closed) read_some(fd, 20, &closed);
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      accepted_++;
      std::lock_guard<std::mutex> l(mu_);
      fds_.push_back(fd);
      threads_.emplace_back([this, fd] {
        script_(fd, stop_);
        finished_++;
      });
    }
  }

  Script script_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0}, finished_{0};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace infergate::e2e
