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
#include "gateway/http/h2_session.h"

namespace infergate::gateway {

// Per-connection protocol counters (the shared ones in h2::SessionStats).
struct H2ServerStats : h2::SessionStats {
  uint64_t goaway_sent = 0;
  uint64_t abuse_closes = 0;  // connection closed for abuse: rapid reset, floods, CONTINUATION storms

  H2ServerStats& operator+=(const H2ServerStats& o);
};

struct H2ServerOptions : h2::SessionOptions {
  // Envoy defaults both windows to 256 MiB, which lets one connection park 256 MiB in
  // the proxy when the upstream stalls. Request bodies here are held by the codec
  // while the Exchange is paused, so the windows ARE the memory bound: 1 MiB per
  // stream keeps a stream streaming at full speed on ordinary RTTs, and 2 MiB per
  // connection caps what one client can park in total (two stalled streams' worth)
  // while leaving the rest of the connection flowing when one stream stalls.
  H2ServerOptions() : SessionOptions(2 * 1024 * 1024) {}

  // Rapid-reset protection (CVE-2023-44487): a token bucket over received
  // RST_STREAM frames; nghttp2's defaults.
  uint64_t reset_burst = 1000;
  uint64_t reset_rate_per_s = 33;
  // CONTINUATION flood protection (CVE-2024-27316 family); nghttp2's default.
  size_t max_continuations = 8;
  // Optional per-worker aggregate the codec adds its counters to (same thread).
  H2ServerStats* stats_sink = nullptr;
};

class H2ServerCodec final : public ServerCodec, private h2::Session {
 public:
  H2ServerCodec(ConnectionIo& io, StreamHandlerFactory& factory, const H2ServerOptions& opts,
                std::string peer_address = {});
  ~H2ServerCodec() override;

  bool on_read(std::string_view bytes) override { return receive(bytes); }
  void on_write_drained() override { tick(); }
  void on_tick() override { tick(); }
  void on_connection_closed() override { fail_connection(ResetReason::ConnectionTermination); }
  void start_drain() override;
  void finish_drain() override;
  bool idle() const override;
  size_t active_streams() const override;

  const H2ServerStats& stats() const { return stats_; }

 private:
  class Stream;

  // h2::Session hooks, roughly in the order a stream meets them.
  void request_begins(int32_t id) override;
  void head_complete(h2::SessionStream& s, bool end_stream) override;
  void end_sent(h2::SessionStream& s) override;
  void headers_not_sent(h2::SessionStream& s, int lib_error) override;
  // Takes one RST_STREAM from the rapid-reset budget; false when it is spent.
  bool take_reset_token() override;
  void stream_closed(h2::SessionStream& s) override;
  void reap() override;
  void ping_acked() override;  // the final GOAWAY of a drain may follow
  uint32_t receive_failed(ssize_t lib_error) override;
  void goaway_sent(uint32_t error_code, bool torn_down) override;
  void fail_streams(ResetReason reason) override;

  void release(Stream& s);
  void count(uint64_t h2::SessionStats::*counter) override { bump(counter); }
  void bump(uint64_t H2ServerStats::*counter);
  Stream* find(int32_t stream_id);
  h2::SessionStream* find_stream(int32_t id) override;

  StreamHandlerFactory& factory_;
  H2ServerOptions opts_;
  std::string peer_address_;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<int32_t> reap_;          // released and closed: destroyed at the next reap()
  H2ServerStats stats_;
  bool draining_ = false;
  bool final_goaway_sent_ = false;
  bool reset_flood_ = false;           // the rapid-reset budget ran out
  uint64_t reset_tokens_;
  std::chrono::steady_clock::time_point reset_refilled_at_;
};

}  // namespace infergate::gateway
