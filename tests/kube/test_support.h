// Helpers for the API server's own tests: running kubectl (once, or in the background for
// `get -w`) and a small blocking HTTP/1.1 client that reads watch streams event by event.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace infergate::testing::kube_test {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs argv[0] with the rest as arguments, killed after timeout.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout = std::chrono::seconds(20));

// A process whose stdout and stderr go to a file; killed and reaped on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& output_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // True once the output file contains needle at least `times` times (or false at the deadline).
  bool wait_for_output(const std::string& needle, int times, std::chrono::milliseconds timeout) const;
  std::string output() const;

 private:
  pid_t pid_ = -1;
  std::string path_;
};

struct HttpResult {
  int status = 0;
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// One plain-HTTP keep-alive connection to 127.0.0.1:port.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string token = "");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // status 0 when the connection failed.
  HttpResult request(const std::string& method, const std::string& target, const std::string& body = "",
                     const std::string& content_type = "application/json");
  // Sends a watch request and reads the response head; the events follow with next_event().
  int start_watch(const std::string& target);
  // The next event line, or nullopt on timeout or when the stream ended (then ended() is true).
  std::optional<nlohmann::json> next_event(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  bool ended() const { return ended_; }
  // True when the stream ended with the last chunk (a clean end) rather than a dropped connection.
  bool ended_cleanly() const { return clean_end_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);  // reads more into buf_
  bool read_line(std::string& line, std::chrono::steady_clock::time_point deadline);
  bool read_n(size_t n, std::string& out, std::chrono::steady_clock::time_point deadline);
  bool read_head(int& status, bool& chunked, size_t& length, std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string token_;
  std::string buf_;
  std::string pending_;  // chunk data not yet split into lines
  bool ended_ = false, clean_end_ = false;
};

}  // namespace infergate::testing::kube_test
