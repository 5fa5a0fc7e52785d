// An asynchronous Redis client: hiredis' async API driven by Asio on one dedicated thread.
//
// Why its own thread: a worker must never wait on Redis, and hiredis contexts are not
// thread-safe. Every worker posts commands here (command() is thread-safe); replies are
// handed to the callback on this thread, and the caller posts them back to its own thread.
//
// Every command gets an answer exactly once: the reply, or a failure (the timeout passed, the
// connection broke or was never there, the server spoke something that is not RESP, the
// client shut down). A timeout drops the connection (later replies on it would be out of
// step) and the client reconnects by itself with a backoff from 100 ms to 2 s.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace infergate::gateway {

struct RedisReply {
  enum class Kind : uint8_t { Failed, Nil, Integer, String, Status, Error, Array };
  // Why there is no reply (Kind::Failed).
  enum class Failure : uint8_t { None, NotConnected, Timeout, Disconnected, Protocol, Shutdown };
  Kind kind = Kind::Failed;
  Failure failure = Failure::None;
  int64_t integer = 0;
  std::string str;  // String, Status, Error; Failed: what went wrong, in words
  std::vector<RedisReply> elements;
};

std::string_view failure_name(RedisReply::Failure f);  // "timeout", "protocol", ... (metric labels)

class RedisClient {
 public:
  struct Options {
    std::string host;  // IP address or DNS name
    uint16_t port = 6379;
    std::chrono::milliseconds timeout{200};  // per command, and per connection attempt (at least 1 s)
  };
  // Connection events, on the client's thread. `down`: the connection could not be made or was
  // lost, with a kind (a metric label: "connect", "disconnected", "protocol", "timeout") and
  // the reason in words; called on every failed attempt.
  struct Events {
    std::function<void()> up;
    std::function<void(std::string_view kind, const std::string& reason)> down;
  };

  RedisClient(Options options, Events events);
  // Stops the thread without waiting for it: commands still pending get Failure::Shutdown.
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  using Callback = std::function<void(RedisReply)>;
  // Thread-safe. `done` runs on the client's thread.
  void command(std::vector<std::string> argv, Callback done);
  // A connection exists or is being made (false while waiting to reconnect): commands sent now
  // have a chance. Thread-safe.
  bool available() const;
  bool connected() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace infergate::gateway
