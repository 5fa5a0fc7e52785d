#include "metrics/access_log.h"

#include <fcntl.h>
#include <poll.h>
#include <climits>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

#include "metrics/access_log_format.h"
#include "metrics/bounded_queue.h"

namespace infergate::metrics {

namespace detail {

struct AccessLogState {
  AccessLogState(std::string p, AccessLogFormat f, std::size_t capacity, AccessLogCounters c)
      : counters(c),
        path(std::move(p)),
        format(f),
        queue(std::max<std::size_t>(capacity, 1)),
        wake_at(std::max<std::size_t>(capacity / 2, 1)) {}

  const AccessLogCounters counters;
  const std::string path;
  const AccessLogFormat format;
  BoundedQueue<AccessLogEntry> queue;
  const std::size_t wake_at;  // queued entries at which producers wake a sleeping writer
  int fd = -1;  // touched only by the writer once it runs
  bool owns_fd = false;

  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> written{0};
  std::atomic<bool> sleeping{false};  // the writer waits between batches (see wait_for_work)
  std::atomic<bool> reopen_requested{false};
  std::atomic<bool> stopping{false};  // set by the destructor; bounds the final flush

  // Guards the flags below and the writer's sleep; the writer never holds it
  // while formatting or writing.
  std::mutex mu;
  std::condition_variable wake;      // writer waits here
  std::condition_variable control;   // pause_writer waits here
  bool stop = false;
  bool notified = false;  // a producer found the queue half full
  bool paused = false;
  bool parked = false;

  std::thread writer;
};

}  // namespace detail

namespace {

using detail::AccessLogState;

constexpr std::size_t kFlushBytes = 64 * 1024;
constexpr std::size_t kMaxBatchEntries = 1024;
// How often queued entries are written (Envoy flushes access log files every second; a
// shorter interval keeps `tail -f` lively at no measurable cost).
constexpr auto kFlushInterval = std::chrono::milliseconds(100);

int open_for_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

// How long the final flush may wait for a reader that takes nothing (a pipe nobody
// drains): shutdown must not hang on the access log.
constexpr int kStopGraceMs = 1000;

// Pipes and sockets are written only when poll() says there is room, PIPE_BUF bytes at
// a time, so a stalled reader can never block the writer past a shutdown deadline.
bool write_all(AccessLogState& st, std::string_view data) {
  struct stat sb {};
  const bool regular = ::fstat(st.fd, &sb) == 0 && S_ISREG(sb.st_mode);
  int waited_after_stop_ms = 0;
  while (!data.empty()) {
    size_t chunk = data.size();
    if (!regular) {
      pollfd p{st.fd, POLLOUT, 0};
      const int r = ::poll(&p, 1, 100);
      if (r == 0 || (r < 0 && errno == EINTR)) {
        if (st.stopping.load(std::memory_order_relaxed) && (waited_after_stop_ms += 100) >= kStopGraceMs)
          return false;
        continue;
      }
      chunk = std::min<size_t>(chunk, PIPE_BUF);
    }
    const ssize_t n = ::write(st.fd, data.data(), chunk);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

void reopen_file(AccessLogState& st) {
  if (!st.owns_fd) return;
  const int fd = open_for_append(st.path);
  // If the path cannot be opened now, keep writing to the old file rather than
  // lose entries; the next reopen() tries again.
  if (fd < 0) return;
  ::close(st.fd);
  st.fd = fd;
}

void flush(AccessLogState& st, std::string& buf, uint64_t entries) {
  if (entries == 0) return;
  if (write_all(st, buf)) {
    st.written.fetch_add(entries, std::memory_order_relaxed);
    st.counters.written.inc(entries);
  } else {
    st.dropped.fetch_add(entries, std::memory_order_relaxed);
    st.counters.dropped.inc(entries);
  }
  buf.clear();
}

// Returns false when the log is stopping and nothing is left to write. Between batches the
// writer sleeps for kFlushInterval: waking per entry costs a futex call and a context switch
// per request, which on a small box is most of what logging costs. Producers wake it early
// only when the queue is half full, so a burst is written before it overflows.
bool wait_for_work(AccessLogState& st) {
  std::unique_lock lock(st.mu);
  for (;;) {
    if (st.paused && !st.stop) {
      st.parked = true;
      st.control.notify_all();
      st.wake.wait(lock);
      continue;
    }
    st.parked = false;
    if (st.stop) return st.queue.ready();
    if (st.reopen_requested.load() || st.notified) {
      st.notified = false;
      return true;
    }
    st.sleeping.store(true);
    const bool timed_out = st.wake.wait_for(lock, kFlushInterval) == std::cv_status::timeout;
    st.sleeping.store(false);
    if (timed_out) return true;
  }
}

// Returns true when it stopped at kMaxBatchEntries with more queued.
bool write_batch(AccessLogState& st, std::string& buf) {
  if (st.reopen_requested.exchange(false)) reopen_file(st);
  AccessLogEntry e;
  uint64_t pending = 0;
  std::size_t n = 0;
  for (; n < kMaxBatchEntries && st.queue.try_pop(e); ++n) {
    if (st.format == AccessLogFormat::Json) {
      append_json_line(buf, e);
    } else {
      append_envoy_line(buf, e);
    }
    ++pending;
    if (buf.size() >= kFlushBytes) {
      flush(st, buf, pending);
      pending = 0;
    }
  }
  flush(st, buf, pending);
  return n == kMaxBatchEntries;
}

void run_writer(AccessLogState& st) {
  std::string buf;
  buf.reserve(kFlushBytes + 4096);
  for (;;) {
    if (write_batch(st, buf)) continue;
    if (!wait_for_work(st)) break;
  }
}

}  // namespace

AccessLog::AccessLog(std::string path, AccessLogFormat format, std::size_t capacity, AccessLogCounters counters)
    : state_(std::make_unique<AccessLogState>(std::move(path), format, capacity, counters)) {
  AccessLogState& st = *state_;
  if (st.path == "-" || st.path == "/dev/stdout") {
    st.fd = STDOUT_FILENO;
  } else if (st.path == "/dev/stderr") {
    st.fd = STDERR_FILENO;
  } else {
    st.fd = open_for_append(st.path);
    if (st.fd < 0) {
      throw std::system_error(errno, std::generic_category(), "access log: cannot open \"" + st.path + "\"");
    }
    st.owns_fd = true;
  }
  st.writer = std::thread([&st] { run_writer(st); });
}

AccessLog::~AccessLog() {
  AccessLogState& st = *state_;
  st.stopping.store(true);
  {
    std::lock_guard lock(st.mu);
    st.stop = true;
    st.paused = false;
  }
  st.wake.notify_one();
  st.writer.join();
  if (st.owns_fd) ::close(st.fd);
}

bool AccessLog::log(AccessLogEntry&& e) {
  AccessLogState& st = *state_;
  if (!st.queue.try_push(std::move(e))) {
    st.dropped.fetch_add(1, std::memory_order_relaxed);
    st.counters.dropped.inc();
    return false;
  }
  if (st.sleeping.load(std::memory_order_relaxed) && st.queue.size_approx() >= st.wake_at) {
    // The queue is filling faster than the flush interval drains it.
    std::lock_guard lock(st.mu);
    st.notified = true;
    st.wake.notify_one();
  }
  return true;
}

uint64_t AccessLog::dropped() const { return state_->dropped.load(std::memory_order_relaxed); }
uint64_t AccessLog::written() const { return state_->written.load(std::memory_order_relaxed); }

void AccessLog::reopen() {
  AccessLogState& st = *state_;
  st.reopen_requested.store(true);
  std::lock_guard lock(st.mu);
  st.wake.notify_one();
}

void AccessLog::pause_writer() {
  AccessLogState& st = *state_;
  std::unique_lock lock(st.mu);
  st.paused = true;
  st.wake.notify_one();
  st.control.wait(lock, [&st] { return st.parked; });
}

void AccessLog::resume_writer() {
  AccessLogState& st = *state_;
  {
    std::lock_guard lock(st.mu);
    st.paused = false;
  }
  st.wake.notify_one();
}

}  // namespace infergate::metrics
