#include "gateway/net/worker.h"

#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>

#include <sys/socket.h>

#include "gateway/net/server_connection.h"
#include "metrics/thread_shard.h"

namespace infergate::gateway {

namespace {
ConnPoolOptions with_security(ConnPoolOptions o, const SecurityStats& security) {
  o.security = &security;
  return o;
}
}  // namespace

Worker::Worker(unsigned index, const WorkerOptions& opts, const ProxyStats& stats, const SecurityStats& security,
               metrics::AccessLog* log)
    : index_(index),
      opts_(opts),
      io_(1),
      guard_(io_.get_executor()),
      ctx_(io_, index, stats, security, log, with_security(opts.upstream, security)) {}

Worker::~Worker() { stop(); }

void Worker::listen(const boost::asio::ip::tcp::endpoint& ep, std::shared_ptr<const ListenerInfo> info) {
  auto a = std::make_unique<Acceptor>(
      Acceptor{boost::asio::ip::tcp::acceptor(io_), std::move(info), boost::asio::steady_timer(io_)});
  a->acceptor.open(ep.protocol());
  a->acceptor.set_option(boost::asio::socket_base::reuse_address(true));
  int one = 1;
  if (::setsockopt(a->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
    throw boost::system::system_error(errno, boost::system::system_category(), "SO_REUSEPORT");
  a->acceptor.bind(ep);
  a->acceptor.listen(boost::asio::socket_base::max_listen_connections);
  acceptors_.push_back(std::move(a));
}

void Worker::start() {
  for (auto& a : acceptors_) accept(*a);
  thread_ = std::thread([this] {
    metrics::set_thread_shard(index_ + 1);  // shard 0 is the control thread's
    io_.run();
  });
}

void Worker::accept(Acceptor& a) {
  a.acceptor.async_accept([this, &a](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
    if (draining_ || !a.acceptor.is_open()) return;
    if (ec) {
      if (ec == boost::asio::error::operation_aborted) return;
      // Out of descriptors or a transient error: back off instead of spinning.
      a.retry.expires_after(std::chrono::milliseconds(50));
      a.retry.async_wait([this, &a](boost::system::error_code e) {
        if (!e) accept(a);
      });
      return;
    }
    ConnectionLimiter::Ticket slot;
    if (a.info->limiter) {
      boost::system::error_code rec;
      const auto remote = socket.remote_endpoint(rec).address();
      if (remote.is_v4()) {
        const auto b = remote.to_v4().to_bytes();
        slot = a.info->limiter->try_acquire(a.info->id, b);
      } else {
        const auto b = remote.to_v6().to_bytes();
        slot = a.info->limiter->try_acquire(a.info->id, b);
      }
      if (!slot) {
        // Envoy closes over-limit connections at once (downstream_cx_overflow).
        const SecurityStats& s = ctx_.security;
        (slot.reason() == ConnectionLimiter::Reason::SourceIpFull ? s.cx_overflow_source_ip : s.cx_overflow_listener)
            .inc();
        boost::system::error_code ignored;
        socket.close(ignored);
        accept(a);
        return;
      }
    }
    auto conn = std::make_shared<ServerConnection>(std::move(socket), *this, *a.info, std::move(slot));
    connections_.emplace(conn.get(), conn);
    connection_count_.store(connections_.size(), std::memory_order_relaxed);
    conn->start();
    accept(a);
  });
}

void Worker::remove_connection(ServerConnection* c) {
  connections_.erase(c);
  connection_count_.store(connections_.size(), std::memory_order_relaxed);
}

void Worker::publish(std::shared_ptr<const Snapshot> snapshot) {
  boost::asio::post(io_, [this, s = std::move(snapshot)]() mutable { ctx_.snapshot = std::move(s); });
}

void Worker::drain() {
  boost::asio::post(io_, [this] {
    draining_ = true;
    for (auto& a : acceptors_) {
      boost::system::error_code ignored;
      a->acceptor.close(ignored);
      a->retry.cancel();
    }
    for (auto& [ptr, weak] : connections_)
      if (auto c = weak.lock()) c->drain();
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  boost::asio::post(io_, [this] {
    draining_ = true;
    for (auto& a : acceptors_) {
      boost::system::error_code ignored;
      a->acceptor.close(ignored);
      a->retry.cancel();
    }
    std::vector<std::shared_ptr<ServerConnection>> open;
    for (auto& [ptr, weak] : connections_)
      if (auto c = weak.lock()) open.push_back(std::move(c));
    for (auto& c : open) c->abort();
    ctx_.conn_pools.close_all();
    guard_.reset();
    io_.stop();
  });
  thread_.join();
  // Closing queued the aborted reads and writes, and their handlers own connections.
  // Run them now, while the pools, stats and snapshot those connections point into
  // still exist; left to ~io_context they would be destroyed after ctx_.
  io_.restart();
  io_.poll();
}

}  // namespace infergate::gateway
