// HTTP/2 server codec (downstream side) on nghttp2, sans-I/O.
//
// The connection hands it every received byte (client preface included) and gives it
// a ConnectionIo to write to; it turns each request stream into StreamHandler events
// and each DownstreamStream call into frames. Backpressure runs both ways:
// - request bodies: WINDOW_UPDATE credit is returned only for bytes delivered to an
//   unpaused handler, so a stalled upstream stalls the client after one window;
// - responses: frames are produced only while the connection's write queue is below
//   `connection_write_high`, so a slow reader fills per-stream buffers that the
//   Exchange sees through buffered_bytes() instead of memory inside nghttp2.
//
// Handler lifetime: the codec owns each handler and destroys it, never from inside
// one of its own callbacks, once the stream is closed and the handler is released by
// finish(), by returning from on_downstream_reset(), or by its own reset().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/http/codec.h"
#include "gateway/http/h2_session_util.h"

namespace infergate::gateway {

// Per-connection protocol counters, named after Envoy's http2.* stats where one exists.
struct H2ServerStats {
  uint64_t streams_total = 0;       // request streams handed to a handler
  uint64_t rx_reset = 0;            // RST_STREAM received
  uint64_t tx_reset = 0;            // RST_STREAM sent (ours and nghttp2's)
  uint64_t header_overflow = 0;     // request headers over max_header_list_bytes / count
  uint64_t rx_messaging_error = 0;  // malformed requests reset with PROTOCOL_ERROR
  uint64_t goaway_sent = 0;
  uint64_t protocol_error_closes = 0;  // connection closed for a protocol violation
  uint64_t abuse_closes = 0;  // connection closed for abuse: rapid reset, floods, CONTINUATION storms

  H2ServerStats& operator+=(const H2ServerStats& o);
};

struct H2ServerOptions {
  uint32_t max_concurrent_streams = 100;
  // Envoy defaults both windows to 256 MiB, which lets one connection park 256 MiB in
  // the proxy when the upstream stalls. Request bodies here are held by the codec
  // while the Exchange is paused, so the windows ARE the memory bound: 1 MiB per
  // stream keeps a stream streaming at full speed on ordinary RTTs, and 2 MiB per
  // connection caps what one client can park in total (two stalled streams' worth)
  // while leaving the rest of the connection flowing when one stream stalls.
  uint32_t initial_stream_window = 1024 * 1024;
  uint32_t connection_window = 2 * 1024 * 1024;
  // Envoy's max_request_headers_kb (60) and max_request_headers_count (100).
  uint32_t max_header_list_bytes = 60 * 1024;
  uint32_t max_headers_count = 100;
  // Per-stream response buffering reported to the Exchange.
  Watermarks watermarks;
  // Frames are produced only while the connection's write queue is below this.
  size_t connection_write_high = 256 * 1024;
  // Rapid-reset protection (CVE-2023-44487): a token bucket over received
  // RST_STREAM frames; nghttp2's defaults.
  uint64_t reset_burst = 1000;
  uint64_t reset_rate_per_s = 33;
  // CONTINUATION flood protection (CVE-2024-27316 family); nghttp2's default.
  size_t max_continuations = 8;
  // Optional per-worker aggregate the codec adds its counters to (same thread).
  H2ServerStats* stats_sink = nullptr;
};

class H2ServerCodec final : public ServerCodec {
 public:
  H2ServerCodec(ConnectionIo& io, StreamHandlerFactory& factory, const H2ServerOptions& opts,
                std::string peer_address = {});
  ~H2ServerCodec() override;
  H2ServerCodec(const H2ServerCodec&) = delete;
  H2ServerCodec& operator=(const H2ServerCodec&) = delete;

  bool on_read(std::string_view bytes) override;
  void on_write_drained() override;
  void on_tick() override;
  void on_connection_closed() override;
  void start_drain() override;
  void finish_drain() override;
  bool idle() const override;
  size_t active_streams() const override;

  const H2ServerStats& stats() const { return stats_; }

 private:
  class Stream;
  friend class Stream;
  struct Callbacks;  // nghttp2 callback trampolines
  friend struct Callbacks;

  void start_request(Stream& s, bool end_stream);
  void flush();
  void request_flush();
  void after_output();
  // Returns flow-control credit for `n` request bytes that left the codec.
  void credit(Stream& s, size_t n);
  void drop_hold(Stream& s);
  void deliver_held(Stream& s);
  void release(Stream& s);
  void reap();
  void fail_connection(ResetReason reason);
  void bump(uint64_t H2ServerStats::*counter);
  // Takes one RST_STREAM from the rapid-reset budget; false when it is spent.
  bool take_reset_token();
  Stream* find(int32_t stream_id);

  ConnectionIo& io_;
  StreamHandlerFactory& factory_;
  H2ServerOptions opts_;
  std::string peer_address_;
  h2::SessionPtr session_;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<int32_t> reap_;          // released and closed: destroyed at the next reap()
  std::vector<int32_t> watch_;         // above the high watermark: waiting to drain
  std::vector<int32_t> resumed_;       // unpaused with held request bytes to deliver
  H2ServerStats stats_;
  bool in_dispatch_ = false;           // inside on_read/on_tick/...: flush at its end
  bool flush_again_ = false;
  bool draining_ = false;
  bool final_goaway_sent_ = false;
  bool local_goaway_error_ = false;    // we sent an error GOAWAY ourselves
  bool connection_failed_ = false;     // on_read must answer false
  bool closed_ = false;                // on_connection_closed ran or we gave up
  bool close_requested_ = false;
  bool reset_flood_ = false;           // the rapid-reset budget ran out
  uint64_t reset_tokens_;
  std::chrono::steady_clock::time_point reset_refilled_at_;
};

}  // namespace infergate::gateway
