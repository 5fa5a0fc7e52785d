// End-to-end test harness: child processes with captured output, free loopback ports,
// raw sockets, a minimal HTTP/1.1 client, raw HTTP/2 frames, RSS sampling.
//
// Everything here cleans up in destructors, so a failed ASSERT (which returns from the
// test body) still kills the processes it started and removes its files. Children also
// get PR_SET_PDEATHSIG, so a test binary that crashes does not leave them running.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace infergate::e2e {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Headers = std::vector<std::pair<std::string, std::string>>;

// ---- Environment ----------------------------------------------------------------

// Paths baked in by CMake (see tests/e2e/CMakeLists.txt).
std::string infergate_path();
std::string modelsim_path();
std::string epp_sim_path();  // tests/epp_sim: an ext_proc endpoint picker like the GIE EPP
std::string source_path(const std::string& relative);
// A client tool found at configure time ("curl", "nghttp", "h2load", "promtool", "prometheus"), or ""
// when it was not found: tests that need it skip.
std::string tool_path(const std::string& name);

// True when the binaries under test were built with sanitizers (slower, more memory).
bool sanitized_build();
// Multiplier for waits: sanitizer builds run several times slower.
int time_scale();

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
uint64_t raise_fd_limit();

// A loopback port that was free a moment ago, from a window that depends on this
// process id (outside the kernel's ephemeral range), so parallel test processes do not
// hand out the same ports. Never 8080, 9901 or 18001-18003.
uint16_t free_port();

// A directory removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes (replaces) a file atomically enough for a reader that reloads on a signal.
  std::string write(const std::string& name, const std::string& contents) const;

 private:
  std::string path_;
};

// ---- Processes --------------------------------------------------------------------

struct OutputChunk {
  Clock::time_point at;  // when the reader thread got it
  std::string bytes;
};

struct ProcessOptions {
  std::string stdin_path;        // "" = /dev/null
  std::vector<std::string> env;  // extra KEY=VALUE entries
};

class Process {
 public:
  explicit Process(std::vector<std::string> argv, ProcessOptions opts = {});
  ~Process();  // SIGKILL if still running, reap, join the reader
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return argv0_; }
  bool running();
  void signal(int sig);
  // Exit code once exited (128 + signal number when killed by one); nullopt on timeout.
  std::optional<int> wait_exit(milliseconds timeout);
  void kill_now();

  std::string out() const;
  std::string err() const;
  std::vector<OutputChunk> out_chunks() const;
  // Waits until the captured stream contains `needle` (after `from` bytes).
  bool wait_out(std::string_view needle, milliseconds timeout, size_t from = 0) const;
  bool wait_err(std::string_view needle, milliseconds timeout, size_t from = 0) const;
  size_t out_size() const;
  // Tail of both streams, for failure messages.
  std::string describe(size_t tail_bytes = 4000) const;

 private:
  void read_loop(int out_fd, int err_fd);
  bool wait_in(const std::string& which, std::string_view needle, milliseconds timeout, size_t from) const;

  std::string argv0_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<OutputChunk> out_chunks_;
  std::string out_, err_;
  bool eof_ = false;
  int wake_fd_[2] = {-1, -1};  // tells the reader to stop
  std::thread reader_;
};

struct CommandResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string out, err;
  Clock::duration elapsed{};
};

// Runs a command to completion (killed after `timeout`).
CommandResult run_command(const std::vector<std::string>& argv, milliseconds timeout = milliseconds(20000),
                          ProcessOptions opts = {});

// ---- Memory -----------------------------------------------------------------------

// Resident set size of a process in KiB, 0 when it cannot be read.
uint64_t rss_kb(pid_t pid);

// Samples a process's RSS every few milliseconds on a thread and keeps the maximum.
class RssSampler {
 public:
  explicit RssSampler(pid_t pid);
  ~RssSampler();
  uint64_t stop();  // the maximum seen, KiB
  uint64_t max_kb() const { return max_.load(); }

 private:
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> max_{0};
  std::thread thread_;
};

// ---- Sockets ----------------------------------------------------------------------

class RawSocket {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error on failure.
  explicit RawSocket(uint16_t port, int rcvbuf = 0);
  ~RawSocket();
  RawSocket(RawSocket&& o) noexcept;
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // errno of a connect attempt to 127.0.0.1:port, 0 when it connected.
  static int connect_error(uint16_t port);

  bool send(std::string_view bytes);
  // Reads until `needle` appears in what was received since the last clear(), the
  // peer closes, or the timeout passes. Returns whether the needle is there.
  bool read_until(std::string_view needle, milliseconds timeout);
  // Reads until the peer closes (true) or the timeout passes (false).
  bool read_until_closed(milliseconds timeout);
  // One read of at most `max` bytes, waiting up to `timeout`; returns bytes read (0 on
  // close or timeout).
  size_t read_some(size_t max, milliseconds timeout);
  // Waits until `n` bytes were received in total.
  bool read_at_least(size_t n, milliseconds timeout);

  const std::string& received() const { return received_; }
  void clear() { received_.clear(); }
  bool closed() const { return closed_; }     // EOF seen
  bool was_reset() const { return reset_; }   // ECONNRESET seen
  void shutdown_write();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
  bool reset_ = false;
};

// ---- HTTP/1.1 ---------------------------------------------------------------------

struct HttpResponse {
  int status = 0;
  Headers headers;  // names lower-cased, in order
  std::string body;
  bool chunked = false;
  bool complete = false;  // framing ended properly (not cut by a close)
  std::string header(std::string_view name) const;  // "" when absent
  bool has_header(std::string_view name) const;
};

// Parses one response from the start of `bytes`. Returns nullopt while incomplete;
// with `at_eof`, a response whose body runs to the close is complete, and a truncated
// one comes back with complete = false. `consumed` gets its length.
std::optional<HttpResponse> parse_http_response(std::string_view bytes, bool at_eof, size_t* consumed = nullptr,
                                                bool head_request = false);

// One request on a fresh connection (Connection: close). status 0 when no response. Host is
// 127.0.0.1:port unless `headers` has its own.
HttpResponse http_request(uint16_t port, const std::string& method, const std::string& target,
                          const Headers& headers = {}, const std::string& body = {},
                          milliseconds timeout = milliseconds(10000));

// ---- HTTP/2 frames ---------------------------------------------------------------

namespace h2 {

enum FrameType : uint8_t {
  kData = 0,
  kHeaders = 1,
  kPriority = 2,
  kRstStream = 3,
  kSettings = 4,
  kPushPromise = 5,
  kPing = 6,
  kGoaway = 7,
  kWindowUpdate = 8,
  kContinuation = 9,
};
enum Flags : uint8_t { kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4 };

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload);
// Client connection preface plus an empty SETTINGS frame.
std::string client_preface();
// HPACK block of literal fields without indexing and without Huffman coding.
std::string header_block(const Headers& fields);
// HEADERS (END_HEADERS) for a request; END_STREAM when `end_stream`.
std::string request_headers(uint32_t stream, const std::string& method, const std::string& path,
                            const Headers& extra = {}, bool end_stream = true);
std::string rst_stream(uint32_t stream, uint32_t error_code);

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;
};
// The complete frames at the start of `bytes` (server side: no preface).
std::vector<Frame> parse_frames(std::string_view bytes);
// Error code of a GOAWAY or RST_STREAM frame.
uint32_t error_code(const Frame& f);

}  // namespace h2

// ---- Stats ------------------------------------------------------------------------

// "name: value" lines of the admin /stats text, numeric values only.
std::map<std::string, double> parse_stats(const std::string& text);

}  // namespace infergate::e2e
