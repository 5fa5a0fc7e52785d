// A downstream connection: TLS first when its listener asks for it (or, on a PERMISSIVE
// port, when the first byte starts a TLS record), then detects the protocol from the first
// clear-text bytes (the HTTP/2 client preface, else HTTP/1.1) and hands every byte to that codec. It is also the
// stream-handler factory, so each new request stream gets an Exchange on this worker.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "gateway/codec.h"
#include "gateway/exchange.h"
#include "gateway/socket_connection.h"

namespace infergate::gateway {

class Worker;

class ServerConnection final : public SocketConnection, public StreamHandlerFactory {
 public:
  // `slot` is the connection's place under the connection limits, held while it lives.
  ServerConnection(boost::asio::ip::tcp::socket socket, Worker& worker, const ListenerInfo& listener,
                   ConnectionLimiter::Ticket slot = {});
  ~ServerConnection() override;

  void start();
  // Graceful: HTTP/2 GOAWAY, HTTP/1.1 closes after the current response.
  void drain();
  bool idle() const { return !codec_ || codec_->idle(); }

  std::unique_ptr<StreamHandler> new_stream(DownstreamStream& stream) override;

 private:
  bool on_bytes(std::string_view bytes) override;
  void on_drained() override;
  void on_tick() override;
  void on_closed(bool by_peer) override;
  void on_idle_timeout() override;
  void on_tls_established() override;
  void on_tls_failed() override;
  bool begin_tls(std::string_view first_bytes);
  bool detect_protocol(std::string_view bytes);

  Worker& worker_;
  const ListenerInfo& listener_;
  std::string peer_;
  ConnectionLimiter::Ticket slot_;
  std::string sniffed_;  // first bytes, until the protocol is known
  std::shared_ptr<const ListenerSecurity> security_;  // as it was when accepted
  bool security_decided_ = false;  // PERMISSIVE: TLS or plaintext is known
  std::shared_ptr<const DownstreamTls> tls_info_;
  std::optional<boost::asio::steady_timer> handshake_timer_;
  std::unique_ptr<ServerCodec> codec_;
  bool draining_ = false;
  std::optional<boost::asio::steady_timer> drain_timer_;
};

}  // namespace infergate::gateway
