#include "gateway/control/dns_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace infergate::gateway {

namespace {

// c-ares keeps process-wide state (on Linux nothing that needs more than this call); once.
void init_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
      throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
  });
}

std::string numeric(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

}  // namespace

// Shared with the asio handlers (weak), so a handler that runs after the resolver is gone
// finds nothing rather than a dangling pointer.
struct DnsResolver::Impl : std::enable_shared_from_this<Impl> {
  // One socket c-ares asked us to watch. The descriptor never owns the fd: c-ares closes it.
  struct Watch {
    Watch(boost::asio::io_context& io, int fd) : fd(fd), sd(io, fd) {}
    int fd;
    boost::asio::posix::stream_descriptor sd;
    bool want_read = false, want_write = false;
    bool reading = false, writing = false;
    bool closed = false;
  };
  struct Query {
    std::weak_ptr<Impl> owner;
    std::function<void(DnsAnswer)> done;
  };

  explicit Impl(boost::asio::io_context& io) : io(io), timer(io) {}

  ~Impl() {
    if (channel) ares_destroy(channel);  // its callbacks see ARES_EDESTRUCTION and drop
    for (auto& [fd, w] : watches) release(*w);
  }

  static void release(Watch& w) {
    w.closed = true;
    boost::system::error_code ec;
    w.sd.cancel(ec);
    (void)w.sd.release();
  }

  // c-ares: start or stop watching `fd` (both false: it is about to be closed).
  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    auto it = self->watches.find(fd);
    if (!readable && !writable) {
      if (it == self->watches.end()) return;
      release(*it->second);
      self->watches.erase(it);
      return;
    }
    if (it == self->watches.end()) it = self->watches.emplace(fd, std::make_shared<Watch>(self->io, fd)).first;
    it->second->want_read = readable != 0;
    it->second->want_write = writable != 0;
    // Armed by the caller once c-ares returns (never from inside c-ares).
    self->to_arm.push_back(it->second);
  }

  void arm_new() {
    auto list = std::move(to_arm);
    to_arm.clear();
    for (auto& w : list) arm(w);
  }

  void arm(const std::shared_ptr<Watch>& w) {
    if (w->closed) return;
    std::weak_ptr<Impl> weak = weak_from_this();
    if (w->want_read && !w->reading) {
      w->reading = true;
      w->sd.async_wait(boost::asio::posix::descriptor_base::wait_read, [weak, w](const boost::system::error_code& ec) {
        w->reading = false;
        auto self = weak.lock();
        if (ec || !self || w->closed) return;
        ares_process_fd(self->channel, w->fd, ARES_SOCKET_BAD);
        self->after_cares();
        self->arm(w);
      });
    }
    if (w->want_write && !w->writing) {
      w->writing = true;
      w->sd.async_wait(boost::asio::posix::descriptor_base::wait_write, [weak, w](const boost::system::error_code& ec) {
        w->writing = false;
        auto self = weak.lock();
        if (ec || !self || w->closed) return;
        ares_process_fd(self->channel, ARES_SOCKET_BAD, w->fd);
        self->after_cares();
        self->arm(w);
      });
    }
  }

  // After any call into c-ares: watch the sockets it opened and wake it for its next timeout.
  void after_cares() {
    arm_new();
    timeval tv{};
    if (!ares_timeout(channel, nullptr, &tv)) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    std::weak_ptr<Impl> weak = weak_from_this();
    timer.async_wait([weak](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->after_cares();
    });
  }

  static void on_answer(void* arg, int status, int timeouts, ares_addrinfo* res) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    auto self = q->owner.lock();
    if (status == ARES_EDESTRUCTION || !self) {
      if (res) ares_freeaddrinfo(res);
      return;
    }
    --self->in_flight;
    DnsAnswer a;
    a.timeouts = timeouts;
    a.ok = status == ARES_SUCCESS;
    a.not_found = status == ARES_ENOTFOUND || status == ARES_ENODATA;
    if (!a.ok) a.error = ares_strerror(status);
    int ttl = std::numeric_limits<int>::max();
    for (auto* n = res ? res->nodes : nullptr; n; n = n->ai_next) {
      if (n->ai_family == AF_INET) a.v4.push_back(numeric(n->ai_addr));
      else if (n->ai_family == AF_INET6) a.v6.push_back(numeric(n->ai_addr));
      else continue;
      ttl = std::min(ttl, n->ai_ttl);
    }
    if (res) ares_freeaddrinfo(res);
    a.ttl = std::chrono::seconds(ttl == std::numeric_limits<int>::max() ? 0 : std::max(ttl, 0));
    // Never inside c-ares (the caller may ask again) nor inside resolve().
    boost::asio::post(self->io, [done = std::move(q->done), a = std::move(a)]() mutable { done(std::move(a)); });
  }

  boost::asio::io_context& io;
  boost::asio::steady_timer timer;
  ares_channel channel = nullptr;
  std::unordered_map<int, std::shared_ptr<Watch>> watches;
  std::vector<std::shared_ptr<Watch>> to_arm;
  size_t in_flight = 0;
};

DnsResolver::DnsResolver(boost::asio::io_context& io, const std::vector<std::string>& resolvers,
                         std::chrono::milliseconds query_timeout, int tries)
    : impl_(std::make_shared<Impl>(io)) {
  init_library();
  ares_options opts{};
  opts.sock_state_cb = &Impl::on_socket_state;
  opts.sock_state_cb_data = impl_.get();
  opts.timeout = static_cast<int>(query_timeout.count());
  opts.tries = tries;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  if (int rc = ares_init_options(&impl_->channel, &opts, mask); rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
  if (!resolvers.empty()) {
    std::string csv;
    for (const auto& r : resolvers) csv += (csv.empty() ? "" : ",") + r;
    if (int rc = ares_set_servers_ports_csv(impl_->channel, csv.c_str()); rc != ARES_SUCCESS)
      throw std::runtime_error("c-ares: resolvers \"" + csv + "\": " + ares_strerror(rc));
  }
}

DnsResolver::~DnsResolver() = default;

void DnsResolver::resolve(const std::string& host, config::DnsLookupFamily family,
                          std::function<void(DnsAnswer)> done) {
  ares_addrinfo_hints hints{};
  hints.ai_family = family == config::DnsLookupFamily::V4Only   ? AF_INET
                    : family == config::DnsLookupFamily::V6Only ? AF_INET6
                                                                : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  ++impl_->in_flight;
  auto* q = new Impl::Query{impl_, std::move(done)};
  ares_getaddrinfo(impl_->channel, host.c_str(), nullptr, &hints, &Impl::on_answer, q);
  impl_->after_cares();
}

size_t DnsResolver::pending() const { return impl_->in_flight; }

}  // namespace infergate::gateway
