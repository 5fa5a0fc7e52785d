#include "tests/kube/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace infergate::testing::kube_test {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

pid_t spawn(const std::vector<std::string>& argv, int out_fd) {
  auto args = c_argv(argv);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  char tmpl[] = "/tmp/kube_cmd_XXXXXX";
  const int fd = mkstemp(tmpl);
  CommandResult r;
  if (fd < 0) return r;
  const pid_t pid = spawn(argv, fd);
  close(fd);
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.output = slurp(tmpl);
  unlink(tmpl);
  return r;
}

Child::Child(const std::vector<std::string>& argv, const std::string& output_path) : path_(output_path) {
  const int fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  pid_ = spawn(argv, fd);
  close(fd);
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string Child::output() const { return slurp(path_); }

bool Child::wait_for_output(const std::string& needle, int times, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const std::string out = output();
    int n = 0;
    for (size_t pos = out.find(needle); pos != std::string::npos; pos = out.find(needle, pos + 1)) ++n;
    if (n >= times) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

HttpClient::HttpClient(uint16_t port, std::string token) : token_(std::move(token)) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

HttpClient::~HttpClient() {
  if (fd_ >= 0) close(fd_);
}

bool HttpClient::fill(Clock::time_point deadline) {
  if (fd_ < 0) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
  char tmp[16384];
  const ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) {
    ended_ = true;
    close(fd_);
    fd_ = -1;
    return false;
  }
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

bool HttpClient::read_line(std::string& line, Clock::time_point deadline) {
  while (true) {
    const auto eol = buf_.find("\r\n");
    if (eol != std::string::npos) {
      line = buf_.substr(0, eol);
      buf_.erase(0, eol + 2);
      return true;
    }
    if (!fill(deadline)) return false;
  }
}

bool HttpClient::read_n(size_t n, std::string& out, Clock::time_point deadline) {
  while (buf_.size() < n) {
    if (!fill(deadline)) return false;
  }
  out = buf_.substr(0, n);
  buf_.erase(0, n);
  return true;
}

bool HttpClient::read_head(int& status, bool& chunked, size_t& length, Clock::time_point deadline) {
  std::string line;
  if (!read_line(line, deadline) || line.size() < 12) return false;
  status = std::atoi(line.substr(9, 3).c_str());
  chunked = false;
  length = 0;
  while (read_line(line, deadline)) {
    if (line.empty()) return true;
    std::string lower = line;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.rfind("content-length:", 0) == 0) length = std::stoul(line.substr(15));
    if (lower.rfind("transfer-encoding:", 0) == 0 && lower.find("chunked") != std::string::npos) chunked = true;
  }
  return false;
}

HttpResult HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                               const std::string& content_type) {
  HttpResult r;
  if (fd_ < 0) return r;
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n";
  if (!token_.empty()) req += "Authorization: Bearer " + token_ + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return r;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  bool chunked = false;
  size_t length = 0;
  int status = 0;
  if (!read_head(status, chunked, length, deadline) || chunked) return r;
  if (!read_n(length, r.body, deadline)) return r;
  r.status = status;
  return r;
}

int HttpClient::start_watch(const std::string& target) {
  if (fd_ < 0) return 0;
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n";
  if (!token_.empty()) req += "Authorization: Bearer " + token_ + "\r\n";
  req += "\r\n";
  if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return 0;
  bool chunked = false;
  size_t length = 0;
  int status = 0;
  if (!read_head(status, chunked, length, Clock::now() + std::chrono::seconds(5))) return 0;
  if (!chunked) {
    read_n(length, pending_, Clock::now() + std::chrono::seconds(5));
    ended_ = true;
  }
  return status;
}

std::optional<nlohmann::json> HttpClient::next_event(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto nl = pending_.find('\n');
    if (nl != std::string::npos) {
      const std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return nlohmann::json::parse(line, nullptr, false);
    }
    if (clean_end_) return std::nullopt;
    std::string size_line, data, crlf;
    if (!read_line(size_line, deadline)) return std::nullopt;
    const size_t n = std::stoul(size_line, nullptr, 16);
    if (n == 0) {
      read_line(crlf, deadline);
      ended_ = clean_end_ = true;
      return std::nullopt;
    }
    if (!read_n(n, data, deadline) || !read_line(crlf, deadline)) return std::nullopt;
    pending_ += data;
  }
}

}  // namespace infergate::testing::kube_test
