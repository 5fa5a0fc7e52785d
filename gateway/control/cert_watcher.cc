#include "gateway/control/cert_watcher.h"

#include <sys/stat.h>

#include <algorithm>

namespace infergate::gateway {

CertWatcher::CertWatcher(boost::asio::io_context& io, std::function<void()> on_change)
    : timer_(io), on_change_(std::move(on_change)) {}

CertWatcher::Stamp CertWatcher::stamp(const std::string& path) {
  Stamp s;
  s.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    s.size = static_cast<int64_t>(st.st_size);
    s.inode = st.st_ino;
  }
  return s;
}

void CertWatcher::watch(std::vector<std::string> files, std::chrono::milliseconds interval) {
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  stamps_.clear();
  for (const auto& f : files) stamps_.push_back(stamp(f));
  interval_ = interval;
  timer_.cancel();
  if (!stamps_.empty() && !stopped_) arm();
}

void CertWatcher::stop() {
  stopped_ = true;
  timer_.cancel();
}

void CertWatcher::arm() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopped_) poll();
  });
}

void CertWatcher::poll() {
  bool changed = false;
  for (auto& s : stamps_) {
    Stamp now = stamp(s.path);
    if (!(now == s)) {
      s = std::move(now);
      changed = true;
    }
  }
  // The callback usually calls watch() with the new set, which re-arms; arming again just
  // replaces that wait.
  if (changed) on_change_();
  if (!stopped_) arm();
}

}  // namespace infergate::gateway
