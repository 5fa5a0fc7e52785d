// Test helpers: the modelsim binary as a child process on a kernel-chosen loopback port,
// shell commands with captured output, and a raw TCP client for arrival-order checks.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace modelsim::testing {

class SimProcess {
 public:
  // Starts MODELSIM_BINARY --port 0 <args> and waits for its "listening" line.
  explicit SimProcess(std::vector<std::string> args = {});
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;
  // SIGTERM, then the exit status (-1 when it had to be killed).
  int stop();
  // Waits up to `timeout` for the process to end by itself: its raw wait status, or
  // std::nullopt while it still runs.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::uint16_t port_ = 0;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout only
};

CommandResult run_command(const std::string& command);

// A blocking loopback TCP client with a per-read deadline.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void send(const std::string& bytes);
  // Appends what arrives to received() until `needle` appears in it, EOF, or the deadline.
  bool read_until(const std::string& needle, std::chrono::milliseconds deadline);
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string received_;
};

}  // namespace modelsim::testing
