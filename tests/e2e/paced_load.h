// A paced, keep-alive HTTP/1.1 load for end-to-end tests that must hold a steady request rate
// while something else happens (weight changes, reloads): h2load and wrk only know "as fast as
// possible". Each thread owns one connection and sends one request at a time on a fixed
// schedule; every answer is recorded with its arrival time, status and the upstream instance
// that served it (modelsim's x-modelsim-instance header).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/harness.h"

namespace infergate::e2e {

class PacedLoad {
 public:
  struct Sample {
    Clock::time_point at;
    int status = 0;
    std::string instance;
  };

  // `request`: the complete HTTP/1.1 request bytes (keep-alive). `rps` is the total rate.
  PacedLoad(uint16_t port, std::string request, unsigned threads, double rps);
  ~PacedLoad();
  void start();
  void stop();  // joins the threads

  std::vector<Sample> samples() const;  // all answers, ordered by arrival
  // Connection failures, timeouts and truncated answers, with the first few reasons.
  uint64_t errors() const { return errors_.load(); }
  std::vector<std::string> error_reasons() const;

 private:
  void run(unsigned index);
  void fail(const std::string& why);

  uint16_t port_;
  std::string request_;
  unsigned threads_;
  double rps_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> errors_{0};
  std::vector<std::thread> workers_;
  mutable std::mutex mu_;
  std::vector<std::vector<Sample>> per_thread_;
  std::vector<std::string> reasons_;
};

}  // namespace infergate::e2e
