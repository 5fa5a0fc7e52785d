// The HTTP Date header value, formatted at most once a second per worker.
#pragma once

#include <ctime>
#include <string>

namespace infergate::gateway {

class DateCache {
 public:
  const std::string& get() {
    std::time_t now = std::time(nullptr);
    if (now != last_) {
      last_ = now;
      std::tm tm{};
      gmtime_r(&now, &tm);
      char buf[64];
      size_t n = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
      value_.assign(buf, n);
    }
    return value_;
  }

 private:
  std::time_t last_ = 0;
  std::string value_;
};

}  // namespace infergate::gateway
