#include "gateway/control/config_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace infergate::gateway {

namespace {

std::string watched_directory(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return path;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

ConfigWatcher::ConfigWatcher(boost::asio::io_context& io, std::string config_path, std::chrono::milliseconds debounce,
                             std::function<void()> on_change)
    : dir_(watched_directory(config_path)), debounce_(debounce), on_change_(std::move(on_change)), fd_(io), quiet_(io) {}

ConfigWatcher::~ConfigWatcher() { stop(); }

bool ConfigWatcher::start(std::string* error) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    *error = std::string("inotify_init1: ") + std::strerror(errno);
    return false;
  }
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |
                             IN_DELETE_SELF | IN_MOVE_SELF;
  if (::inotify_add_watch(fd, dir_.c_str(), kMask) < 0) {
    *error = "cannot watch " + dir_ + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  fd_.assign(fd);
  read();
  return true;
}

void ConfigWatcher::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  quiet_.cancel();
  if (fd_.is_open()) fd_.close(ignored);
}

void ConfigWatcher::read() {
  fd_.async_read_some(boost::asio::buffer(buf_), [this](boost::system::error_code ec, size_t n) {
    if (ec || stopped_) return;
    // The events themselves do not matter (see the header): only that something changed.
    if (n > 0) on_event();
    read();
  });
}

void ConfigWatcher::on_event() {
  quiet_.expires_after(debounce_);
  quiet_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    on_change_();
  });
}

}  // namespace infergate::gateway
