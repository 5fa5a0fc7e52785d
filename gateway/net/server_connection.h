// A downstream connection: TLS first when its listener asks for it (or, on a PERMISSIVE
// port, when the first byte starts a TLS record), then detects the protocol from the first
// clear-text bytes (the HTTP/2 client preface, else HTTP/1.1) and hands every byte to that codec. It is also the
// stream-handler factory, so each new request stream gets an ActiveStream on this worker.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "gateway/http/codec.h"
#include "gateway/proxy/active_stream.h"
#include "gateway/net/listener_info.h"
#include "gateway/net/socket_connection.h"
#include "gateway/net/worker_context.h"
#include "gateway/net/worker_options.h"

namespace infergate::gateway {

class ServerConnection;

// What a connection needs of the worker that accepted it (net/worker.h).
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  virtual WorkerContext& context() = 0;
  virtual const WorkerOptions& options() const = 0;
  // The connection closed: the owner forgets it.
  virtual void remove_connection(ServerConnection* c) = 0;
};

class ServerConnection final : public SocketConnection, public StreamHandlerFactory {
 public:
  // `slot` is the connection's place under the connection limits, held while it lives.
  ServerConnection(boost::asio::ip::tcp::socket socket, ConnectionOwner& worker, const ListenerInfo& listener,
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
  // After every read and tick: a request in flight keeps the idle timer off; a request head
  // (or HTTP/2 preface) under way runs the request-headers timer, one per head.
  void update_timers();
  void on_request_headers_timeout();

  ConnectionOwner& worker_;
  const ListenerInfo& listener_;
  std::string peer_;
  ConnectionLimiter::Ticket slot_;
  std::string sniffed_;  // first bytes, until the protocol is known
  std::shared_ptr<const ListenerSecurity> security_;  // as it was when accepted
  bool security_decided_ = false;  // PERMISSIVE: TLS or plaintext is known
  std::shared_ptr<const DownstreamTls> tls_info_;
  std::optional<boost::asio::steady_timer> handshake_timer_;
  std::unique_ptr<ServerCodec> codec_;
  std::optional<boost::asio::steady_timer> headers_timer_;
  bool headers_timer_running_ = false;
  bool draining_ = false;
  std::optional<boost::asio::steady_timer> drain_timer_;
};

}  // namespace infergate::gateway
