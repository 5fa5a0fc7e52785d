// HTTP/2 client codec (upstream side) on nghttp2, sans-I/O: one session multiplexes
// many Exchanges' requests over one upstream connection.
//
// Flow control mirrors the server codec: response bytes are credited back to the
// server only once delivered to an unpaused Exchange, and request bodies wait in
// per-stream buffers (visible as buffered_bytes()) until the server's windows and the
// connection's write queue take them.
//
// Stream lifetime: an UpstreamStream stays valid until the Exchange calls release()
// or reset(), or until on_upstream_reset() returns; the codec frees it later, never
// from inside one of its callbacks. No callback is ever made from inside a call the
// Exchange makes into the codec: readiness and failures found there are delivered
// from the next on_tick (requested through ConnectionIo::schedule_flush).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "gateway/http/codec.h"
#include "gateway/http/h2_session_util.h"

namespace infergate::gateway {

// Per-connection protocol counters, named after Envoy's http2.* stats where one exists.
struct H2ClientStats {
  uint64_t streams_total = 0;       // requests submitted
  uint64_t rx_reset = 0;            // RST_STREAM received (REFUSED_STREAM included)
  uint64_t tx_reset = 0;            // RST_STREAM sent
  uint64_t header_overflow = 0;     // response headers over the limits
  uint64_t rx_messaging_error = 0;  // malformed responses
  uint64_t goaway_received = 0;
  uint64_t protocol_error_closes = 0;

  H2ClientStats& operator+=(const H2ClientStats& o);
};

struct H2ClientOptions {
  // Our own cap; the server's SETTINGS_MAX_CONCURRENT_STREAMS may lower it.
  uint32_t max_concurrent_streams = 100;
  // 1 MiB per stream bounds what one paused Exchange parks here. The connection
  // window is larger than on the server side on purpose: one upstream connection
  // carries the responses of many unrelated downstream clients, and a couple of slow
  // ones must not stall everybody's token stream; 16 MiB is the cap per connection.
  uint32_t initial_stream_window = 1024 * 1024;
  uint32_t connection_window = 16 * 1024 * 1024;
  // Response header limits (Envoy's max_response_headers_kb / _count defaults).
  uint32_t max_header_list_bytes = 60 * 1024;
  uint32_t max_headers_count = 100;
  // Per-stream request buffering reported to the Exchange.
  Watermarks watermarks;
  // Frames are produced only while the connection's write queue is below this.
  size_t connection_write_high = 256 * 1024;
  // Optional per-worker aggregate the codec adds its counters to (same thread).
  H2ClientStats* stats_sink = nullptr;
};

class H2ClientCodec final : public ClientCodec {
 public:
  H2ClientCodec(ConnectionIo& io, const H2ClientOptions& opts);
  ~H2ClientCodec() override;
  H2ClientCodec(const H2ClientCodec&) = delete;
  H2ClientCodec& operator=(const H2ClientCodec&) = delete;

  bool on_read(std::string_view bytes) override;
  void on_write_drained() override;
  void on_tick() override;
  void on_connected() override;
  void on_connection_closed(ResetReason reason) override;
  UpstreamStream* new_stream(UpstreamCallbacks& callbacks) override;
  bool can_take_stream() const override;
  size_t active_streams() const override;
  bool reusable() const override;

  const H2ClientStats& stats() const { return stats_; }

 private:
  class Stream;
  friend class Stream;
  struct Callbacks;
  friend struct Callbacks;

  void flush();
  void request_flush();
  void after_output();
  void credit(Stream& s, size_t n);
  void drop_hold(Stream& s);
  void deliver_held(Stream& s);
  void fail_later(Stream& s, ResetReason reason);
  void reap();
  void fail_connection(ResetReason reason);
  void bump(uint64_t H2ClientStats::*counter);
  Stream* find(int32_t stream_id);
  bool stream_ids_left() const;

  ConnectionIo& io_;
  H2ClientOptions opts_;
  h2::SessionPtr session_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<Stream*> ready_owed_;  // on_upstream_ready not yet delivered
  std::vector<Stream*> failed_;      // failures found inside an Exchange's call
  std::vector<Stream*> resumed_;     // unpaused with held response bytes
  std::vector<Stream*> watch_;       // above the high watermark
  H2ClientStats stats_;
  bool connected_ = false;
  bool in_dispatch_ = false;
  bool flush_again_ = false;
  bool goaway_received_ = false;
  bool local_goaway_error_ = false;
  bool connection_failed_ = false;
  bool closed_ = false;
  bool close_requested_ = false;
};

}  // namespace infergate::gateway
