#include "gateway/server_connection.h"

#include "gateway/h1_server_codec.h"
#include "gateway/h2_server_codec.h"
#include "gateway/worker.h"

namespace infergate::gateway {

namespace {
constexpr auto kDrainNoticeGrace = std::chrono::seconds(1);
constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
}

ServerConnection::ServerConnection(boost::asio::ip::tcp::socket socket, Worker& worker, const ListenerInfo& listener)
    : SocketConnection(std::move(socket)), worker_(worker), listener_(listener) {
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
  start_reading();
}

bool ServerConnection::on_bytes(std::string_view bytes) {
  if (codec_) return codec_->on_read(bytes);
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
}

void ServerConnection::on_tick() {
  if (codec_) codec_->on_tick();
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
    if (codec_) codec_->start_drain();
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
  return std::make_unique<Exchange>(worker_.context(), stream, listener_);
}

}  // namespace infergate::gateway
