// Reload on file change: inotify on the control thread, debounced.
//
// The directory is watched, not the file (the file's own directory when the config is one
// file): editors that save by writing a new file and renaming it over the old one, and
// Kubernetes ConfigMap volumes, which swap a `..data` symlink, replace the inode a file watch
// would be holding. Any change in the directory restarts a quiet-period timer; when it
// fires, `on_change` runs once. Whether anything really changed is the caller's question
// (it compares the documents), so noise from unrelated files costs a read, never a reload.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <string>

namespace infergate::gateway {

class ConfigWatcher {
 public:
  ConfigWatcher(boost::asio::io_context& io, std::string config_path, std::chrono::milliseconds debounce,
                std::function<void()> on_change);
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  // False with *error when inotify or the watch cannot be set up (the process then relies
  // on SIGHUP and the admin API).
  bool start(std::string* error);
  void stop();
  const std::string& directory() const { return dir_; }

 private:
  void read();
  void on_event();

  std::string dir_;
  std::chrono::milliseconds debounce_;
  std::function<void()> on_change_;
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer quiet_;
  std::array<char, 16 * 1024> buf_{};
  bool stopped_ = false;
};

}  // namespace infergate::gateway
