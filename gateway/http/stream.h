// The contract between wire codecs and the per-request ActiveStream (proxy/active_stream.h).
//
// Envoy's shape: a downstream codec (HTTP/1.1 or HTTP/2 server side) turns bytes into
// request events for a StreamHandler and offers a DownstreamStream to send the response;
// an upstream codec (HTTP/1.1 or HTTP/2 client side) offers an UpstreamStream to send
// the request and turns response bytes into events for UpstreamCallbacks. The ActiveStream
// sits between the two and never knows which protocol either side speaks.
//
// Backpressure is by watermarks: each side reports how many bytes it holds that the
// socket has not taken yet; above the high watermark the ActiveStream pauses the other
// side's reading, and the codec calls back once it drained below the low watermark.
// All calls happen on the owning worker's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "routing/http_message.h"

namespace infergate::gateway {

// Why a stream ended before its natural end. Mapped to Envoy response flags.
enum class ResetReason : uint8_t {
  ConnectFailure,      // UF
  ConnectionTermination,  // UC: peer closed mid-exchange
  RemoteReset,         // UR: RST_STREAM from the peer
  ProtocolError,       // UPE / DPE
  Timeout,             // UT / SI
  LocalReset,          // LR: we reset it (drain, overload)
  Overflow,            // UO: pool/stream limits
};

std::string_view reset_reason_name(ResetReason r);

// Events the downstream codec delivers to the request's handler (the ActiveStream).
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  virtual void on_request_headers(RequestHead&& head, bool end_stream) = 0;
  // `data` is only valid during the call.
  virtual void on_request_data(std::string_view data, bool end_stream) = 0;
  virtual void on_request_trailers(HeaderMap&& trailers) = 0;
  // The client went away or reset the stream; the handler must not touch the
  // DownstreamStream again after this returns.
  virtual void on_downstream_reset(ResetReason reason) = 0;
  // The codec refused the rest of the request and answers `status` itself (a bad chunk
  // after the head, a body over the limit); on_downstream_reset follows. For the log.
  virtual void on_codec_reply(int status) { (void)status; }
  // The response buffer drained below the low watermark.
  virtual void on_downstream_writable() = 0;
};

// The response side of a downstream stream, as the ActiveStream drives it.
class DownstreamStream {
 public:
  virtual ~DownstreamStream() = default;
  virtual void send_headers(ResponseHead&& head, bool end_stream) = 0;
  virtual void send_data(std::string_view data, bool end_stream) = 0;
  virtual void send_trailers(HeaderMap&& trailers) = 0;
  // Abort the response: HTTP/2 RST_STREAM, HTTP/1.1 closes the connection.
  virtual void reset() = 0;
  // Response bytes accepted but not yet written to the socket.
  virtual size_t buffered_bytes() const = 0;
  // Stop / resume delivering request body (HTTP/2: withhold WINDOW_UPDATE).
  virtual void pause_request_body(bool paused) = 0;
  // Releases the handler: the codec drops it after the current callback returns.
  // Called once the ActiveStream is done with both directions.
  virtual void finish() = 0;
  virtual const std::string& peer_address() const = 0;
  virtual HttpVersion version() const = 0;
};

// Events an upstream codec delivers to the ActiveStream (its router).
class UpstreamCallbacks {
 public:
  virtual ~UpstreamCallbacks() = default;
  // The upstream connection is established and the request may be sent.
  virtual void on_upstream_ready() = 0;
  virtual void on_response_headers(ResponseHead&& head, bool end_stream) = 0;
  virtual void on_response_data(std::string_view data, bool end_stream) = 0;
  virtual void on_response_trailers(HeaderMap&& trailers) = 0;
  // The upstream failed; no callback follows for this stream.
  virtual void on_upstream_reset(ResetReason reason) = 0;
  // The request buffer drained below the low watermark.
  virtual void on_upstream_writable() = 0;
};

// The request side of an upstream stream, as the router (proxy/router.h) drives it.
class UpstreamStream {
 public:
  virtual ~UpstreamStream() = default;
  virtual void send_headers(const RequestHead& head, bool end_stream) = 0;
  virtual void send_data(std::string_view data, bool end_stream) = 0;
  virtual void send_trailers(const HeaderMap& trailers) = 0;
  // Abandon the stream: no callback follows. HTTP/1.1 closes the connection unless the
  // response was complete; HTTP/2 sends RST_STREAM(CANCEL).
  virtual void reset() = 0;
  virtual size_t buffered_bytes() const = 0;
  virtual void pause_response(bool paused) = 0;
  // Called once the response completed: the stream returns its connection to the pool.
  virtual void release() = 0;
};

// Watermarks for per-stream buffering (bytes). A slow reader slows the writer instead
// of growing memory: above `high` the other side stops reading.
struct Watermarks {
  size_t high = 1024 * 1024;
  size_t low = 256 * 1024;
};

}  // namespace infergate::gateway
