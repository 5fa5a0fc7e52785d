// Redis for end-to-end tests: a real redis-server on a free loopback port, and fake servers
// that answer every read with the same bytes (garbage, a wrong reply, or nothing at all).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {

inline std::string redis_server_path() {
  std::string p = INFERGATE_E2E_REDIS_SERVER;
  return p.find("NOTFOUND") == std::string::npos ? p : "";
}

#define REQUIRE_REDIS()                                                             \
  const std::string redis_bin = redis_server_path();                                \
  if (redis_bin.empty()) GTEST_SKIP() << "redis-server is not installed (found at configure time)"

// A real redis-server on 127.0.0.1:port, nothing saved to disk.
class RedisServer {
 public:
  RedisServer(const std::string& bin, uint16_t port) : port_(port) {
    process_ = std::make_unique<Process>(std::vector<std::string>{
        bin, "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"});
    if (!process_->wait_out("Ready to accept connections", scaled(5000)))
      throw std::runtime_error("redis-server did not start: " + process_->describe());
  }
  uint16_t port() const { return port_; }
  Process& process() { return *process_; }

 private:
  uint16_t port_;
  std::unique_ptr<Process> process_;
};

// A TCP server on 127.0.0.1 that answers every read with `reply` (not Redis).
class FakeRedis {
 public:
  explicit FakeRedis(std::string reply) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    port_ = free_port();
    a.sin_port = htons(port_);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("fake redis: cannot listen");
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeRedis() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : clients_) t.join();
  }
  uint16_t port() const { return port_; }

 private:
  void serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      clients_.emplace_back([this, c] {
        char buf[4096];
        timeval tv{0, 200000};
        ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while (!stop_) {
          const ssize_t n = ::read(c, buf, sizeof buf);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) break;
          if (n > 0 && ::write(c, reply_.data(), reply_.size()) < 0) break;
        }
        ::close(c);
      });
    }
  }

  std::string reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> clients_;
};

}  // namespace infergate::e2e
