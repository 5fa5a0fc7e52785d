#include "tests/e2e/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace infergate::e2e {

// ---- Environment ----------------------------------------------------------------

std::string infergate_path() { return INFERGATE_E2E_INFERGATE; }
std::string modelsim_path() { return INFERGATE_E2E_MODELSIM; }
std::string epp_sim_path() { return INFERGATE_E2E_EPP_SIM; }
std::string source_path(const std::string& relative) { return std::string(INFERGATE_E2E_SOURCE_DIR) + "/" + relative; }

std::string tool_path(const std::string& name) {
  static const std::map<std::string, std::string> tools = {
      {"curl", INFERGATE_E2E_CURL},
      {"nghttp", INFERGATE_E2E_NGHTTP},
      {"h2load", INFERGATE_E2E_H2LOAD},
      {"promtool", INFERGATE_E2E_PROMTOOL},
      {"prometheus", INFERGATE_E2E_PROMETHEUS},
      {"openssl", INFERGATE_E2E_OPENSSL},
      {"nghttpx", INFERGATE_E2E_NGHTTPX},
      {"kubectl", INFERGATE_E2E_KUBECTL},
  };
  auto it = tools.find(name);
  if (it == tools.end()) return {};
  std::string p = it->second;
  // CMake writes NAME-NOTFOUND for tools it did not find.
  if (p.empty() || p.find("NOTFOUND") != std::string::npos) return {};
  return p;
}

bool sanitized_build() { return INFERGATE_E2E_SANITIZED != 0; }

int time_scale() { return sanitized_build() ? 3 : 1; }

uint64_t raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

namespace {

bool port_bindable(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

uint16_t free_port() {
  // 20000-29999: below the ephemeral range (32768+), so outgoing connections of other
  // processes never take these between our probe and the gateway's bind.
  constexpr uint32_t kLow = 20000, kSpan = 10000, kWindow = 20;
  static std::atomic<uint32_t> next{0};
  const uint32_t base = (static_cast<uint32_t>(getpid()) % (kSpan / kWindow)) * kWindow;
  for (int tries = 0; tries < 2000; ++tries) {
    const uint32_t offset = (base + next.fetch_add(1)) % kSpan;
    const auto port = static_cast<uint16_t>(kLow + offset);
    if (port_bindable(port)) return port;
  }
  throw std::runtime_error("no free loopback port found");
}

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/infergate-e2e-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + std::string(strerror(errno)));
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& contents) const {
  const std::string target = file(name);
  const std::string tmp = target + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << contents;
    if (!f) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, target);
  return target;
}

// ---- Processes --------------------------------------------------------------------

Process::Process(std::vector<std::string> argv, ProcessOptions opts) {
  if (argv.empty()) throw std::runtime_error("empty argv");
  argv0_ = argv[0];
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::runtime_error("pipe failed");
  }
  if (::pipe2(wake_fd_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls are allowed (the test process has threads).
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& extra : opts.env) {
    const std::string key = extra.substr(0, extra.find('=') + 1);
    std::erase_if(env_strings, [&](const std::string& s) { return s.compare(0, key.size(), key) == 0; });
    env_strings.push_back(extra);
  }
  std::vector<char*> cenv;
  for (auto& e : env_strings) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  const std::string stdin_path = opts.stdin_path.empty() ? "/dev/null" : opts.stdin_path;
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Child: die with the test process, whatever happens to it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int in = ::open(stdin_path.c_str(), O_RDONLY);
    if (in < 0) ::_exit(127);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    // Default signal dispositions and mask for the child.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  reader_ = std::thread([this, o = out_pipe[0], e = err_pipe[0]] { read_loop(o, e); });
}

Process::~Process() {
  kill_now();
  if (wake_fd_[1] >= 0) {
    char c = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_[1], &c, 1);
  }
  if (reader_.joinable()) reader_.join();
  for (int fd : wake_fd_)
    if (fd >= 0) ::close(fd);
}

void Process::read_loop(int out_fd, int err_fd) {
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    pollfd fds[3] = {{out_open ? out_fd : -1, POLLIN, 0}, {err_open ? err_fd : -1, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
    int rc = ::poll(fds, 3, 1000);
    if (rc < 0 && errno != EINTR) break;
    if (fds[2].revents) break;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      std::lock_guard<std::mutex> lock(mu_);
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
      } else if (i == 0) {
        out_.append(buf, static_cast<size_t>(n));
        out_chunks_.push_back(OutputChunk{Clock::now(), std::string(buf, static_cast<size_t>(n))});
      } else {
        err_.append(buf, static_cast<size_t>(n));
      }
      cv_.notify_all();
    }
  }
  ::close(out_fd);
  ::close(err_fd);
  std::lock_guard<std::mutex> lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

bool Process::running() {
  if (exit_code_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return r == 0;
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::wait_exit(milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(5));
  }
  // Let the reader collect what the process wrote before it exited.
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, milliseconds(2000), [&] { return eof_; });
  return exit_code_;
}

void Process::kill_now() {
  if (pid_ <= 0 || exit_code_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_)
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Process::out() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_;
}

std::string Process::err() const {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

size_t Process::out_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_.size();
}

std::vector<OutputChunk> Process::out_chunks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_chunks_;
}

bool Process::wait_in(const std::string& which, std::string_view needle, milliseconds timeout, size_t from) const {
  std::unique_lock<std::mutex> lock(mu_);
  const std::string& s = which == "out" ? out_ : err_;
  return cv_.wait_for(lock, timeout, [&] { return s.size() > from && s.find(needle, from) != std::string::npos; });
}

bool Process::wait_out(std::string_view needle, milliseconds timeout, size_t from) const {
  return wait_in("out", needle, timeout, from);
}

bool Process::wait_err(std::string_view needle, milliseconds timeout, size_t from) const {
  return wait_in("err", needle, timeout, from);
}

std::string Process::describe(size_t tail_bytes) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto tail = [&](const std::string& s) { return s.size() > tail_bytes ? "..." + s.substr(s.size() - tail_bytes) : s; };
  std::string d = argv0_ + " (pid " + std::to_string(pid_) + ")";
  if (exit_code_) d += " exited " + std::to_string(*exit_code_);
  d += "\n--- stdout ---\n" + tail(out_) + "\n--- stderr ---\n" + tail(err_);
  return d;
}

CommandResult run_command(const std::vector<std::string>& argv, milliseconds timeout, ProcessOptions opts) {
  CommandResult r;
  const auto start = Clock::now();
  Process p(argv, std::move(opts));
  auto code = p.wait_exit(timeout);
  if (!code) {
    r.timed_out = true;
    p.kill_now();
    code = p.wait_exit(milliseconds(2000));
  }
  r.exit_code = code.value_or(-1);
  r.out = p.out();
  r.err = p.err();
  r.elapsed = Clock::now() - start;
  return r;
}

// ---- Memory -----------------------------------------------------------------------

uint64_t rss_kb(pid_t pid) {
  // statm's second field: resident pages.
  std::ifstream f("/proc/" + std::to_string(pid) + "/statm");
  uint64_t size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
}

RssSampler::RssSampler(pid_t pid) : pid_(pid) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      uint64_t kb = rss_kb(pid_);
      uint64_t prev = max_.load();
      while (kb > prev && !max_.compare_exchange_weak(prev, kb)) {
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  });
}

RssSampler::~RssSampler() { stop(); }

uint64_t RssSampler::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  return max_.load();
}

// ---- Sockets ----------------------------------------------------------------------

namespace {

int connect_loopback(uint16_t port, int rcvbuf, int* err) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *err = errno;
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  *err = 0;
  return fd;
}

}  // namespace

RawSocket::RawSocket(uint16_t port, int rcvbuf) {
  int err = 0;
  fd_ = connect_loopback(port, rcvbuf, &err);
  if (fd_ < 0) throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + strerror(err));
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

RawSocket::RawSocket(RawSocket&& o) noexcept
    : fd_(o.fd_), received_(std::move(o.received_)), closed_(o.closed_), reset_(o.reset_) {
  o.fd_ = -1;
}

int RawSocket::connect_error(uint16_t port) {
  int err = 0;
  int fd = connect_loopback(port, 0, &err);
  if (fd >= 0) ::close(fd);
  return err;
}

bool RawSocket::send(std::string_view bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

size_t RawSocket::read_some(size_t max, milliseconds timeout) {
  if (closed_) return 0;
  pollfd pfd{fd_, POLLIN, 0};
  int rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (rc <= 0) return 0;
  char buf[65536];
  const ssize_t n = ::recv(fd_, buf, std::min(max, sizeof buf), 0);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return 0;
    if (errno == ECONNRESET) reset_ = true;
    closed_ = true;
    return 0;
  }
  if (n == 0) {
    closed_ = true;
    return 0;
  }
  received_.append(buf, static_cast<size_t>(n));
  return static_cast<size_t>(n);
}

bool RawSocket::read_until(std::string_view needle, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (received_.find(needle) == std::string::npos) {
    if (closed_) return false;
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    read_some(65536, left);
  }
  return true;
}

bool RawSocket::read_until_closed(milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (!closed_) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    read_some(65536, left);
  }
  return true;
}

bool RawSocket::read_at_least(size_t n, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (received_.size() < n) {
    if (closed_) return false;
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    read_some(65536, left);
  }
  return true;
}

void RawSocket::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

// ---- HTTP/1.1 ---------------------------------------------------------------------

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  const std::string n = lower(name);
  for (const auto& [k, v] : headers)
    if (k == n) return v;
  return {};
}

bool HttpResponse::has_header(std::string_view name) const {
  const std::string n = lower(name);
  for (const auto& [k, v] : headers)
    if (k == n) return true;
  return false;
}

std::optional<HttpResponse> parse_http_response(std::string_view bytes, bool at_eof, size_t* consumed,
                                                bool head_request) {
  const size_t head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  HttpResponse r;
  std::string_view head = bytes.substr(0, head_end + 2);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return std::nullopt;
  std::from_chars(status_line.data() + 9, status_line.data() + 12, r.status);
  size_t pos = line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, e - pos);
    pos = e + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  size_t body_start = head_end + 4;
  auto done = [&](size_t end) {
    if (consumed) *consumed = end;
    r.complete = true;
    return r;
  };
  if ((r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304 || head_request) return done(body_start);
  if (lower(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
    r.chunked = true;
    size_t p = body_start;
    while (true) {
      size_t le = bytes.find("\r\n", p);
      if (le == std::string_view::npos) break;
      size_t size = 0;
      std::string_view hex = bytes.substr(p, le - p);
      hex = hex.substr(0, hex.find(';'));
      auto res = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
      if (res.ec != std::errc()) break;
      if (size == 0) {
        // Trailers until an empty line.
        size_t t = le + 2;
        while (true) {
          size_t te = bytes.find("\r\n", t);
          if (te == std::string_view::npos) goto incomplete;
          if (te == t) return done(te + 2);
          std::string_view line = bytes.substr(t, te - t);
          size_t colon = line.find(':');
          if (colon != std::string_view::npos)
            r.headers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
          t = te + 2;
        }
      }
      if (le + 2 + size + 2 > bytes.size()) {
        r.body.append(bytes.substr(le + 2, std::min(size, bytes.size() - (le + 2))));
        break;
      }
      r.body.append(bytes.substr(le + 2, size));
      p = le + 2 + size + 2;
    }
  incomplete:
    if (!at_eof) return std::nullopt;
    if (consumed) *consumed = bytes.size();
    r.complete = false;
    return r;
  }
  if (r.has_header("content-length")) {
    size_t len = 0;
    std::string cl = r.header("content-length");
    std::from_chars(cl.data(), cl.data() + cl.size(), len);
    if (bytes.size() - body_start >= len) {
      r.body.assign(bytes.substr(body_start, len));
      return done(body_start + len);
    }
    if (!at_eof) return std::nullopt;
    r.body.assign(bytes.substr(body_start));
    if (consumed) *consumed = bytes.size();
    r.complete = false;
    return r;
  }
  // Body delimited by the close.
  if (!at_eof) return std::nullopt;
  r.body.assign(bytes.substr(body_start));
  return done(bytes.size());
}

HttpResponse http_request(uint16_t port, const std::string& method, const std::string& target,
                          const Headers& headers, const std::string& body, milliseconds timeout) {
  HttpResponse none;
  try {
    RawSocket s(port);
    bool has_host = false;
    for (const auto& [k, v] : headers) has_host = has_host || k == "Host" || k == "host";
    std::string req = method + " " + target + " HTTP/1.1\r\n";
    if (!has_host) req += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
    req += "Connection: close\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT")
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    if (!s.send(req)) return none;
    s.read_until_closed(timeout);
    auto r = parse_http_response(s.received(), true, nullptr, method == "HEAD");
    return r ? *r : none;
  } catch (const std::exception&) {
    return none;
  }
}

// ---- HTTP/2 frames ---------------------------------------------------------------

namespace h2 {

namespace {

void put_int(std::string& out, uint8_t first_bits, int prefix_bits, uint64_t v) {
  const uint64_t max = (1u << prefix_bits) - 1;
  if (v < max) {
    out.push_back(static_cast<char>(first_bits | v));
    return;
  }
  out.push_back(static_cast<char>(first_bits | max));
  v -= max;
  while (v >= 128) {
    out.push_back(static_cast<char>((v % 128) + 128));
    v /= 128;
  }
  out.push_back(static_cast<char>(v));
}

void put_u32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

uint32_t get_u32(std::string_view s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

}  // namespace

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out;
  const auto len = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(len >> 16));
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  put_u32(out, stream & 0x7fffffffu);
  out.append(payload);
  return out;
}

std::string client_preface() { return std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + frame(kSettings, 0, 0, ""); }

std::string header_block(const Headers& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    out.push_back('\0');  // literal without indexing, new name
    put_int(out, 0, 7, name.size());
    out.append(name);
    put_int(out, 0, 7, value.size());
    out.append(value);
  }
  return out;
}

std::string request_headers(uint32_t stream, const std::string& method, const std::string& path, const Headers& extra,
                            bool end_stream) {
  Headers fields = {{":method", method}, {":scheme", "http"}, {":authority", "127.0.0.1"}, {":path", path}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  return frame(kHeaders, static_cast<uint8_t>(kEndHeaders | (end_stream ? kEndStream : 0)), stream,
               header_block(fields));
}

std::string rst_stream(uint32_t stream, uint32_t error_code) {
  std::string p;
  put_u32(p, error_code);
  return frame(kRstStream, 0, stream, p);
}

std::vector<Frame> parse_frames(std::string_view bytes) {
  std::vector<Frame> frames;
  size_t pos = 0;
  while (bytes.size() - pos >= 9) {
    const uint32_t len = (uint32_t(uint8_t(bytes[pos])) << 16) | (uint32_t(uint8_t(bytes[pos + 1])) << 8) |
                         uint32_t(uint8_t(bytes[pos + 2]));
    if (bytes.size() - pos - 9 < len) break;
    Frame f;
    f.type = static_cast<uint8_t>(bytes[pos + 3]);
    f.flags = static_cast<uint8_t>(bytes[pos + 4]);
    f.stream = get_u32(bytes, pos + 5) & 0x7fffffffu;
    f.payload.assign(bytes.substr(pos + 9, len));
    frames.push_back(std::move(f));
    pos += 9 + len;
  }
  return frames;
}

uint32_t error_code(const Frame& f) {
  if (f.type == kGoaway && f.payload.size() >= 8) return get_u32(f.payload, 4);
  if (f.type == kRstStream && f.payload.size() >= 4) return get_u32(f.payload, 0);
  return 0;
}

}  // namespace h2

// ---- Stats ------------------------------------------------------------------------

std::map<std::string, double> parse_stats(const std::string& text) {
  std::map<std::string, double> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    size_t colon = line.rfind(": ");
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 2);
    double v = 0;
    auto r = std::from_chars(value.data(), value.data() + value.size(), v);
    if (r.ec != std::errc() || r.ptr != value.data() + value.size()) continue;
    out.emplace(std::string(line.substr(0, colon)), v);
  }
  return out;
}

}  // namespace infergate::e2e
