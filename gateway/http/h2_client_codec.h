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
#include "gateway/http/h2_session.h"

namespace infergate::gateway {

// Per-connection protocol counters (the shared ones in h2::SessionStats).
struct H2ClientStats : h2::SessionStats {
  uint64_t goaway_received = 0;

  H2ClientStats& operator+=(const H2ClientStats& o);
};

struct H2ClientOptions : h2::SessionOptions {
  // max_concurrent_streams is our own cap; the server's SETTINGS may lower it.
  // The connection window is larger than on the server side on purpose: one upstream
  // connection carries the responses of many unrelated downstream clients, and a
  // couple of slow ones must not stall everybody's token stream; 16 MiB is the cap
  // per connection.
  H2ClientOptions() : SessionOptions(16 * 1024 * 1024) {}

  // Optional per-worker aggregate the codec adds its counters to (same thread).
  H2ClientStats* stats_sink = nullptr;
};

class H2ClientCodec final : public ClientCodec, private h2::Session {
 public:
  H2ClientCodec(ConnectionIo& io, const H2ClientOptions& opts);
  ~H2ClientCodec() override;

  bool on_read(std::string_view bytes) override { return receive(bytes); }
  void on_write_drained() override { tick(); }
  void on_tick() override { tick(); }
  void on_connected() override;
  void on_connection_closed(ResetReason reason) override { fail_connection(reason); }
  UpstreamStream* new_stream(UpstreamCallbacks& callbacks) override;
  bool can_take_stream() const override;
  size_t active_streams() const override;
  bool reusable() const override;
  // Fatal to the session, whether mem_recv failed or nghttp2 sent an error GOAWAY on its own.
  bool protocol_failed() const override { return stats_.protocol_error_closes > 0; }

  const H2ClientStats& stats() const { return stats_; }

 private:
  class Stream;

  // h2::Session hooks, roughly in the order a stream meets them.
  void run_deferred() override;  // owed readiness and failures
  bool may_send() const override { return connected_; }
  void head_complete(h2::SessionStream& s, bool end_stream) override;
  void headers_not_sent(h2::SessionStream& s, int lib_error) override;
  void stream_closed(h2::SessionStream& s) override;
  void reap() override;
  void goaway_received() override;
  void goaway_sent(uint32_t error_code, bool torn_down) override;
  uint32_t receive_failed(ssize_t lib_error) override;
  void fail_streams(ResetReason reason) override;

  void fail_later(Stream& s, ResetReason reason);
  void count(uint64_t h2::SessionStats::*counter) override { bump(counter); }
  void bump(uint64_t H2ClientStats::*counter);
  Stream* find(int32_t stream_id);
  h2::SessionStream* find_stream(int32_t id) override;
  bool stream_ids_left() const;

  H2ClientOptions opts_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<Stream*> ready_owed_;  // on_upstream_ready not yet delivered
  std::vector<Stream*> failed_;      // failures found inside an Exchange's call
  H2ClientStats stats_;
  bool connected_ = false;
  bool goaway_received_ = false;
};

}  // namespace infergate::gateway
