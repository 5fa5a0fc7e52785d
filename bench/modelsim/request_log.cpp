#include "bench/modelsim/request_log.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace modelsim {

RequestLog::RequestLog(const std::string& path) : file_(std::fopen(path.c_str(), "a")) {
  if (!file_) throw std::runtime_error("cannot open request log " + path + ": " + std::strerror(errno));
}

RequestLog::~RequestLog() {
  if (file_) std::fclose(file_);
}

void RequestLog::record(std::string_view method, std::string_view target) {
  std::string line;
  line.reserve(method.size() + target.size() + 2);
  line.append(method).append(" ").append(target).append("\n");
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace modelsim
