// --request-log FILE: one line per request as it arrived, "METHOD TARGET", written before the
// request is handled. End-to-end tests read it to prove what reached the model server, and
// what never did (a gateway must not forward a path its policy denies).
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace modelsim {

class RequestLog {
 public:
  // Appends to `path`; throws std::runtime_error when it cannot be opened.
  explicit RequestLog(const std::string& path);
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // One line, flushed at once (readers may look while the server runs). Every io thread
  // writes here, hence the lock.
  void record(std::string_view method, std::string_view target);

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

}  // namespace modelsim
