// Codecs are sans-I/O: a connection object owns the socket and feeds received bytes
// to its codec; the codec appends what it wants sent through ConnectionIo. This keeps
// HTTP/1.1 and HTTP/2 framing testable without sockets (a client codec can talk to a
// server codec in memory) and lets TLS slot in under the connection, not the codec.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "gateway/http/stream.h"

namespace infergate::gateway {

// What a codec sees of the connection that carries it.
class ConnectionIo {
 public:
  virtual ~ConnectionIo() = default;
  // Queue bytes for the socket. Writing starts at the end of the current event
  // dispatch, so several small writes go out in one gathered syscall.
  virtual void write(std::string_view bytes) = 0;
  // Bytes queued and not yet taken by the socket.
  virtual size_t write_buffered() const = 0;
  // Stop / resume reading the socket (connection-wide backpressure).
  virtual void pause_reading(bool paused) = 0;
  // Close after everything queued has been written.
  virtual void close_after_write() = 0;
  // Close now, discarding what is queued (protocol errors, resets).
  virtual void abort() = 0;
  // Ask to be called back (Codec::on_tick) at the end of the current dispatch, to
  // flush deferred work (HTTP/2 frames produced outside a read, e.g. from a timer).
  virtual void schedule_flush() = 0;
};

// A server-side codec: turns request bytes into StreamHandler events.
class ServerCodec {
 public:
  virtual ~ServerCodec() = default;
  // Consume received bytes. Returns false when the connection must be closed
  // (the codec has already queued any error response).
  virtual bool on_read(std::string_view bytes) = 0;
  // The socket took everything queued: the codec may produce more (HTTP/2 data
  // frames waiting on the socket, HTTP/1.1 pipelined responses).
  virtual void on_write_drained() = 0;
  // Called from ConnectionIo::schedule_flush and after every read.
  virtual void on_tick() = 0;
  // The peer closed its side, or the socket failed: reset every open stream.
  virtual void on_connection_closed() = 0;
  // Graceful drain: HTTP/2 GOAWAY, HTTP/1.1 `connection: close` on the next response.
  virtual void start_drain() = 0;
  // The drain's grace for in-flight announcements is over: HTTP/2 sends the final
  // GOAWAY even if the client never acknowledged the shutdown notice's PING.
  virtual void finish_drain() {}
  // No request in flight (idle-timeout and drain decisions).
  virtual bool idle() const = 0;
  // Bytes of a request head arrived and the head is not complete: the request-headers
  // timeout runs. HTTP/2 heads arrive whole (nghttp2 bounds HEADERS + CONTINUATION).
  virtual bool awaiting_request_headers() const { return false; }
  // That timeout fired: answer what the protocol allows (HTTP/1.1: 408) and close.
  virtual void on_request_headers_timeout() {}
  virtual size_t active_streams() const = 0;
};

// Creates the handler (an ActiveStream) for each new request stream on a connection.
class StreamHandlerFactory {
 public:
  virtual ~StreamHandlerFactory() = default;
  virtual std::unique_ptr<StreamHandler> new_stream(DownstreamStream& stream) = 0;
};

// A client-side codec on one upstream connection.
class ClientCodec {
 public:
  virtual ~ClientCodec() = default;
  // Consume received bytes; false when the connection must be closed.
  virtual bool on_read(std::string_view bytes) = 0;
  virtual void on_write_drained() = 0;
  virtual void on_tick() = 0;
  // The connection is established: send the preface / pending requests.
  virtual void on_connected() = 0;
  // Connection lost: every open stream gets on_upstream_reset(reason).
  virtual void on_connection_closed(ResetReason reason) = 0;
  // Open a stream. nullptr when the codec cannot take another now (HTTP/1.1 busy,
  // HTTP/2 at the peer's concurrent-stream limit or going away).
  virtual UpstreamStream* new_stream(UpstreamCallbacks& callbacks) = 0;
  virtual bool can_take_stream() const = 0;
  virtual size_t active_streams() const = 0;
  // Whether the connection may be reused after its streams end.
  virtual bool reusable() const = 0;
  // The upstream broke the protocol (bad framing, garbage, a fatal HTTP/2 error): the
  // connection closes for it (counted as upstream_cx_protocol_error).
  virtual bool protocol_failed() const { return false; }
};

}  // namespace infergate::gateway
