#include "gateway/net/server_connection.h"

#include "gateway/http/h1_server_codec.h"
#include "gateway/http/h2_server_codec.h"

#include <spdlog/spdlog.h>

namespace infergate::gateway {

namespace {
constexpr auto kDrainNoticeGrace = std::chrono::seconds(1);
// Envoy's transport_socket_connect_timeout is unset by default; a handshake that never
// finishes would then hold its slot until the idle timeout (an hour): ten seconds is plenty
// for any honest client on any network.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr unsigned char kTlsHandshakeRecord = 0x16;
constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
}

ServerConnection::ServerConnection(boost::asio::ip::tcp::socket socket, ConnectionOwner& worker, const ListenerInfo& listener,
                                   ConnectionLimiter::Ticket slot)
    : SocketConnection(std::move(socket)), worker_(worker), listener_(listener), slot_(std::move(slot)) {
  // Envoy's idle timeout counts time without a stream, not time without bytes.
  set_io_is_activity(false);
  boost::system::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) peer_ = remote.address().to_string();
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
  worker_.context().stats.downstream_cx_total.inc();
  worker_.context().stats.downstream_cx_active.add(1);
}

ServerConnection::~ServerConnection() {
  const ProxyStats& s = worker_.context().stats;
  s.downstream_cx_active.sub(1);
  s.downstream_cx_rx_bytes_total.inc(bytes_received());
  s.downstream_cx_tx_bytes_total.inc(bytes_sent());
}

void ServerConnection::start() {
  arm_idle_timer(worker_.options().idle_timeout);
  security_ = listener_.security->load();
  security_decided_ = security_->mode != ListenerSecurity::Mode::Permissive;
  if (security_->mode != ListenerSecurity::Mode::Plaintext) {
    handshake_timer_.emplace(socket_.get_executor());
    handshake_timer_->expires_after(kHandshakeTimeout);
    handshake_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = std::static_pointer_cast<ServerConnection>(weak.lock());
      if (ec || !self || self->closed() || self->tls_established()) return;
      // PERMISSIVE before (or after) a plaintext first byte: the idle timeout governs.
      if (!self->tls()) return;
      self->fail_tls(tls::HandshakeError::Timeout, "no TLS handshake within 10 s");
    });
  }
  if (security_->mode == ListenerSecurity::Mode::Tls && !begin_tls({})) return;
  start_reading();
}

bool ServerConnection::begin_tls(std::string_view first_bytes) {
  auto session = tls::Session::server(security_->context);
  if (!session) {
    worker_.context().security.handshake_failed(tls::HandshakeError::Other);
    abort();
    return false;
  }
  return start_tls(std::move(session), first_bytes);
}

void ServerConnection::on_tls_established() {
  if (handshake_timer_) handshake_timer_->cancel();
  const SecurityStats& s = worker_.context().security;
  s.handshake.inc();
  const tls::Session* t = tls();
  if (t->resumed()) s.session_reused.inc();
  auto info = std::make_shared<DownstreamTls>();
  if (const tls::PeerCertificate* p = t->peer()) {
    info->peer = std::make_shared<const tls::PeerCertificate>(*p);
  } else {
    s.no_certificate.inc();
  }
  info->sni = std::string(t->sni());
  if (const tls::ServerContext* ctx = t->server_context()) info->local_uri = ctx->local_uri();
  tls_info_ = std::move(info);
}

void ServerConnection::on_tls_failed() {
  if (handshake_timer_) handshake_timer_->cancel();
  const tls::Session* t = tls();
  worker_.context().security.handshake_failed(t->error());
  spdlog::debug("TLS handshake from {} failed ({}): {}", peer_, tls::handshake_error_name(t->error()),
                t->error_detail());
}

bool ServerConnection::on_bytes(std::string_view bytes) {
  bool keep;
  if (codec_) {
    keep = codec_->on_read(bytes);
  } else if (!security_decided_) {
    // PERMISSIVE: a TLS client speaks first with a handshake record; HTTP never starts so.
    security_decided_ = true;
    if (!bytes.empty() && static_cast<unsigned char>(bytes[0]) == kTlsHandshakeRecord) return begin_tls(bytes);
    worker_.context().security.permissive_plaintext.inc();
    if (handshake_timer_) handshake_timer_->cancel();
    keep = detect_protocol(bytes);
  } else {
    keep = detect_protocol(bytes);
  }
  if (keep) update_timers();
  return keep;
}

void ServerConnection::update_timers() {
  if (closed()) return;
  if (!idle()) touch();
  const auto timeout = worker_.options().request_headers_timeout;
  if (timeout.count() <= 0) return;
  const bool awaiting = codec_ ? codec_->awaiting_request_headers() : !sniffed_.empty();
  if (!awaiting) {
    if (headers_timer_running_) headers_timer_->cancel();
    headers_timer_running_ = false;
    return;
  }
  if (headers_timer_running_) return;  // this head's timer is already running
  headers_timer_running_ = true;
  if (!headers_timer_) headers_timer_.emplace(socket_.get_executor());
  headers_timer_->expires_after(timeout);
  headers_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = std::static_pointer_cast<ServerConnection>(weak.lock());
    if (ec || !self || self->closed() || !self->headers_timer_running_) return;
    self->on_request_headers_timeout();
  });
}

void ServerConnection::on_request_headers_timeout() {
  headers_timer_running_ = false;
  worker_.context().stats.downstream_rq_header_timeout.inc();
  spdlog::debug("request head from {} not complete within {} ms: closing", peer_,
                worker_.options().request_headers_timeout.count());
  if (codec_) {
    codec_->on_request_headers_timeout();
    schedule_flush();
  } else {
    close_after_write();  // an HTTP/2 preface that never completed: nothing to answer
  }
}

bool ServerConnection::detect_protocol(std::string_view bytes) {
  sniffed_.append(bytes);
  const size_t n = std::min(sniffed_.size(), kH2Preface.size());
  const bool h2 = sniffed_.compare(0, n, kH2Preface.substr(0, n)) == 0;
  if (h2 && sniffed_.size() < kH2Preface.size()) return true;  // wait for the whole preface
  const ProxyStats& s = worker_.context().stats;
  if (h2) {
    s.downstream_cx_http2_total.inc();
    codec_ = std::make_unique<H2ServerCodec>(*this, *this, worker_.options().h2, peer_);
  } else {
    s.downstream_cx_http1_total.inc();
    codec_ = std::make_unique<H1ServerCodec>(*this, *this, worker_.options().h1, peer_,
                                             const_cast<ProxyStats*>(&s));
  }
  if (draining_) codec_->start_drain();
  std::string first;
  first.swap(sniffed_);
  return codec_->on_read(first);
}

void ServerConnection::on_drained() {
  if (codec_) codec_->on_write_drained();
  update_timers();
}

void ServerConnection::on_tick() {
  if (codec_) codec_->on_tick();
  update_timers();
}

void ServerConnection::on_closed(bool) {
  if (codec_) codec_->on_connection_closed();
  if (const auto* h2 = dynamic_cast<const H2ServerCodec*>(codec_.get())) {
    // The HTTP/2 codec counts per connection; its rejections become the
    // connection-manager counters once, when the connection ends.
    const H2ServerStats& st = h2->stats();
    const ProxyStats& s = worker_.context().stats;
    if (st.protocol_error_closes + st.abuse_closes > 0) s.downstream_cx_protocol_error.inc();
    if (st.abuse_closes > 0) s.reject(RejectReason::H2Flood);
    else if (st.protocol_error_closes > 0) s.reject(RejectReason::H2ProtocolError);
    // Streams refused for malformed or oversized request headers.
    s.rejected[static_cast<size_t>(RejectReason::H2ProtocolError)].inc(st.rx_messaging_error);
    s.rejected[static_cast<size_t>(RejectReason::HeadersTooLarge)].inc(st.header_overflow);
  }
  worker_.remove_connection(this);
}

void ServerConnection::on_idle_timeout() {
  if (!codec_ || codec_->idle()) {
    worker_.context().stats.downstream_cx_idle_timeout.inc();
    if (codec_) {
      // Nothing in flight to wait for: HTTP/2 gets its final GOAWAY now, written before the
      // close (a write after close_after_write() is dropped).
      codec_->start_drain();
      codec_->finish_drain();
      codec_->on_tick();
    }
    close_after_write();
  } else {
    arm_idle_timer(worker_.options().idle_timeout);
  }
}

void ServerConnection::drain() {
  if (draining_) return;
  draining_ = true;
  worker_.context().stats.downstream_cx_drain_close.inc();
  if (codec_) {
    codec_->start_drain();
    schedule_flush();
    // A client that never answers the shutdown notice's PING still gets its final
    // GOAWAY (nghttpx waits about as long), so the drain does not hang on it.
    drain_timer_.emplace(socket_.get_executor());
    drain_timer_->expires_after(kDrainNoticeGrace);
    drain_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = std::static_pointer_cast<ServerConnection>(weak.lock());
      if (ec || !self || self->closed() || !self->codec_) return;
      self->codec_->finish_drain();
      self->schedule_flush();
    });
  } else {
    close_after_write();
  }
}

std::unique_ptr<StreamHandler> ServerConnection::new_stream(DownstreamStream& stream) {
  return std::make_unique<ActiveStream>(worker_.context(), stream, listener_, tls_info_);
}

}  // namespace infergate::gateway
