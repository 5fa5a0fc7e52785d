// Watches the certificate, key, CA and CRL files in use and calls back when any of them
// changes, so the control thread rebuilds the TLS contexts (rotation without a restart).
//
// It polls stat() instead of inotify: Kubernetes swaps mounted Secrets by re-pointing a
// symlink in the mount's parent directory, cert-manager and Vault agents write in place, and
// a stat of each path (following links) sees all of them the same way. A handful of files
// once a second costs nothing.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace infergate::gateway {

class CertWatcher {
 public:
  CertWatcher(boost::asio::io_context& io, std::function<void()> on_change);
  // Replaces the watched set (their current state is the baseline) and the poll interval.
  void watch(std::vector<std::string> files, std::chrono::milliseconds interval);
  void stop();

 private:
  struct Stamp {
    std::string path;
    int64_t mtime_ns = -1;  // -1 = missing
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stamp(const std::string& path);
  void arm();
  void poll();

  boost::asio::steady_timer timer_;
  std::function<void()> on_change_;
  std::vector<Stamp> stamps_;
  std::chrono::milliseconds interval_{1000};
  bool stopped_ = false;
};

}  // namespace infergate::gateway
