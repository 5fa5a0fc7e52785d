#include "gateway/upstream/conn_pool.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>

#include <algorithm>

#include "gateway/http/h1_client_codec.h"
#include "gateway/http/h2_client_codec.h"

namespace infergate::gateway {

UpstreamConnection::UpstreamConnection(boost::asio::io_context& io, ConnPool& pool, UpstreamProtocol protocol,
                                       const ClusterStats* stats, std::shared_ptr<pools::ClusterLoad> load)
    : SocketConnection(boost::asio::ip::tcp::socket(io)),
      pool_(&pool),
      connect_timer_(io),
      stats_copy_(stats ? *stats : ClusterStats()),
      stats_(stats ? &stats_copy_ : nullptr),
      load_(std::move(load)) {
  if (protocol == UpstreamProtocol::H2c) {
    codec_ = std::make_unique<H2ClientCodec>(*this, H2ClientOptions{});
  } else {
    H1ClientOptions o;
    o.max_header_bytes = pool.opts_.max_header_bytes;
    o.max_headers_count = pool.opts_.max_headers_count;
    codec_ = std::make_unique<H1ClientCodec>(*this, o);
  }
  if (stats_) {
    stats_->upstream_cx_total.inc();
    stats_->upstream_cx_active.add(1);
  }
}

UpstreamConnection::~UpstreamConnection() {
  if (load_) pools::ClusterLoad::give_back(load_->cx_active);
  if (stats_) {
    stats_->upstream_cx_active.sub(1);
    stats_->upstream_cx_rx_bytes_total.inc(bytes_received());
    stats_->upstream_cx_tx_bytes_total.inc(bytes_sent());
  }
}

void UpstreamConnection::connect(const boost::asio::ip::tcp::endpoint& target, std::chrono::milliseconds timeout) {
  auto self = std::static_pointer_cast<UpstreamConnection>(shared_from_this());
  connect_timer_.expires_after(timeout);
  connect_timer_.async_wait([weak = std::weak_ptr<UpstreamConnection>(self)](boost::system::error_code ec) {
    if (ec) return;
    if (auto c = weak.lock(); c && !c->connected_ && !c->closed()) {
      c->timed_out_ = true;
      if (c->stats_) c->stats_->upstream_cx_connect_timeout.inc();
      if (c->tls()) c->fail_tls(tls::HandshakeError::Timeout, "no TLS handshake within the connect timeout");
      else c->abort();
    }
  });
  socket_.async_connect(target, [self](boost::system::error_code ec) {
    if (self->closed()) return;
    if (ec) {
      self->connect_timer_.cancel();
      if (self->stats_) self->stats_->upstream_cx_connect_fail.inc();
      self->abort();
      return;
    }
    boost::system::error_code ignored;
    self->socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    if (self->pool_ && self->pool_->tls_) {
      // The connect timeout keeps running through the handshake: a server that accepts and
      // never answers the ClientHello is as unreachable as one that never accepts.
      auto session = tls::Session::client(self->pool_->tls_);
      if (!session) {
        self->abort();
        return;
      }
      self->start_reading();
      self->start_tls(std::move(session));
      return;
    }
    self->connect_timer_.cancel();
    self->start_reading();
    self->established();
  });
}

// Reading is already on (the TLS handshake needed it): called from a read's completion,
// a second start_reading() would overlap the socket's reads.
void UpstreamConnection::established() {
  connected_ = true;
  if (pool_) arm_idle_timer(pool_->opts_.idle_timeout);
  codec_->on_connected();
}

void UpstreamConnection::on_tls_established() {
  connect_timer_.cancel();
  if (pool_ && pool_->opts_.security) pool_->opts_.security->upstream_handshake.inc();
  established();
}

void UpstreamConnection::on_tls_failed() {
  connect_timer_.cancel();
  if (pool_ && pool_->opts_.security)
    pool_->opts_.security->upstream_handshake_errors[static_cast<size_t>(tls()->error())].inc();
  if (stats_ && !timed_out_) stats_->upstream_cx_connect_fail.inc();  // a timeout is counted as one
}

bool UpstreamConnection::on_bytes(std::string_view bytes) { return codec_->on_read(bytes); }

void UpstreamConnection::on_drained() { codec_->on_write_drained(); }

void UpstreamConnection::on_tick() {
  codec_->on_tick();
  if (pool_ && connected_ && !closed() && codec_->can_take_stream() && codec_->active_streams() == 0)
    pool_->on_connection_free(this);
}

void UpstreamConnection::on_closed(bool) {
  if (connected_ && codec_->active_streams() > 0 && stats_) stats_->upstream_cx_destroy_remote_with_active_rq.inc();
  if (stats_ && codec_->protocol_failed()) stats_->upstream_cx_protocol_error.inc();
  codec_->on_connection_closed(connected_ ? ResetReason::ConnectionTermination : ResetReason::ConnectFailure);
  if (pool_) pool_->on_connection_closed(this);
}

void UpstreamConnection::on_idle_timeout() {
  if (codec_->active_streams() == 0) {
    close_after_write();
  } else if (pool_) {
    arm_idle_timer(pool_->opts_.idle_timeout);
  }
}

ConnPool::ConnPool(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint target,
                           UpstreamProtocol protocol, const ConnPoolOptions& opts,
                           std::shared_ptr<const tls::ClientContext> tls)
    : io_(io), target_(std::move(target)), protocol_(protocol), opts_(opts), tls_(std::move(tls)) {}

ConnPool::~ConnPool() { close_all(); }

UpstreamStream* ConnPool::new_stream(UpstreamCallbacks& callbacks, const ClusterStats* stats,
                                         const ConnectionBudget* budget) {
  if (protocol_ == UpstreamProtocol::Http1) {
    while (!idle_.empty()) {
      UpstreamConnection* c = idle_.back();
      idle_.pop_back();
      c->in_idle_list_ = false;
      if (!c->closed() && c->codec().can_take_stream()) return c->codec().new_stream(callbacks);
    }
  } else {
    for (auto& c : connections_)
      if (!c->closed() && c->codec().can_take_stream()) return c->codec().new_stream(callbacks);
  }
  if (connections_.size() >= opts_.max_connections) {
    if (stats) stats->upstream_rq_pending_overflow.inc();
    return nullptr;
  }
  std::shared_ptr<pools::ClusterLoad> load;
  if (budget && budget->load) {
    if (!pools::ClusterLoad::try_take(budget->load->cx_active, budget->max_connections)) {
      if (stats) stats->upstream_cx_overflow.inc();
      return nullptr;
    }
    load = budget->load;
  }
  auto conn = std::make_shared<UpstreamConnection>(io_, *this, protocol_, stats, std::move(load));
  connections_.push_back(conn);
  UpstreamStream* s = conn->codec().new_stream(callbacks);
  conn->connect(target_, budget && budget->connect_timeout ? *budget->connect_timeout : opts_.connect_timeout);
  return s;
}

void ConnPool::on_connection_free(UpstreamConnection* c) {
  if (protocol_ != UpstreamProtocol::Http1 || c->in_idle_list_) return;
  c->in_idle_list_ = true;
  idle_.push_back(c);
}

void ConnPool::on_connection_closed(UpstreamConnection* c) {
  if (c->in_idle_list_) {
    idle_.erase(std::remove(idle_.begin(), idle_.end(), c), idle_.end());
    c->in_idle_list_ = false;
  }
  auto it = std::find_if(connections_.begin(), connections_.end(), [c](const auto& p) { return p.get() == c; });
  if (it != connections_.end()) {
    // Keep the object alive until the current callback chain unwinds.
    std::shared_ptr<UpstreamConnection> keep = std::move(*it);
    connections_.erase(it);
    c->orphan();
  }
}

void ConnPool::close_all() {
  auto conns = std::move(connections_);
  connections_.clear();
  idle_.clear();
  for (auto& c : conns) {
    c->orphan();
    c->in_idle_list_ = false;
    c->abort();
  }
}

ConnPool& ConnPools::get(std::string_view address, uint16_t port, UpstreamProtocol protocol,
                         const std::shared_ptr<const tls::ClientContext>& tls) {
  if (auto it = pools_.find(Key{address, port, protocol, tls.get()}); it != pools_.end()) return *it->second->pool;
  auto entry = std::make_unique<Entry>();
  entry->address = std::string(address);
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(entry->address, ec);
  entry->pool = std::make_unique<ConnPool>(io_, boost::asio::ip::tcp::endpoint(addr, port), protocol, opts_, tls);
  ConnPool& ref = *entry->pool;
  const Key key{entry->address, port, protocol, tls.get()};
  pools_.emplace(key, std::move(entry));
  return ref;
}

void ConnPools::close_all() {
  for (auto& [k, e] : pools_) e->pool->close_all();
}

size_t ConnPools::connections() const {
  size_t n = 0;
  for (const auto& [k, e] : pools_) n += e->pool->connections();
  return n;
}

}  // namespace infergate::gateway
