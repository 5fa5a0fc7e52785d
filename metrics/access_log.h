#pragma once

// Asynchronous access log. Worker threads hand finished requests to log(), which
// moves the entry into a bounded lock-free queue and returns at once; one writer
// thread formats entries and writes them in batches, every 100 ms or when the queue is
// half full, so no request pays for waking it. When the queue is full the
// entry is dropped and counted, so a slow disk never stalls a worker.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "metrics/handles.h"

namespace infergate::metrics {

struct AccessLogEntry {
  std::chrono::system_clock::time_point start_time;
  std::string method, path, protocol;  // protocol "HTTP/1.1" | "HTTP/2"
  int response_code = 0;               // 0 when no response was sent
  std::string response_flags;          // Envoy flags, "-" when none, comma-separated when several ("UF,URX")
  uint64_t bytes_received = 0, bytes_sent = 0;
  int64_t duration_ms = 0;
  int64_t upstream_service_time_ms = -1;  // -1 → "-"
  std::string x_forwarded_for, user_agent, request_id, authority, upstream_host, upstream_cluster,
      route_name;
};

enum class AccessLogFormat { Envoy, Json };

namespace detail {
struct AccessLogState;
}

// Where the log counts what became of entries, next to written() / dropped() (unbound
// handles count nothing).
struct AccessLogCounters {
  Counter written, dropped;
};

class AccessLog {
 public:
  // path: "/dev/stdout" or "-" for standard output, otherwise a file opened for
  // append (created 0644 if missing). Throws std::system_error when it cannot be
  // opened. capacity: entries queued before log() starts dropping (at least 1).
  AccessLog(std::string path, AccessLogFormat format, std::size_t capacity = 65536, AccessLogCounters counters = {});
  ~AccessLog();  // writes everything queued, then joins the writer thread
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Never blocks; the only allocation-free work is moving e into a queue slot.
  // Returns false and counts a drop when the queue is full.
  bool log(AccessLogEntry&& e);
  uint64_t dropped() const;  // entries refused by log() or lost to a failed write
  uint64_t written() const;  // entries written to the file

  // Log rotation: the writer closes and reopens the path before its next write.
  void reopen();

  // Test seam: pause_writer() returns once the writer has stopped taking entries
  // from the queue (log() keeps queueing until full); resume_writer() lets it go on.
  void pause_writer();
  void resume_writer();

 private:
  std::unique_ptr<detail::AccessLogState> state_;
};

// Envoy's default text format, one line with the trailing '\n':
// [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
// %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
// "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
// Empty values print "-".
std::string format_envoy(const AccessLogEntry& e);

// One JSON object per line (trailing '\n'), keys in the order of AccessLogEntry:
// start_time, method, path, protocol, response_code, response_flags,
// bytes_received, bytes_sent, duration, upstream_service_time, x_forwarded_for,
// user_agent, request_id, authority, upstream_host, upstream_cluster, route_name.
std::string format_json(const AccessLogEntry& e);

}  // namespace infergate::metrics
