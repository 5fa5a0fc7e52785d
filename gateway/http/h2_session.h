// The nghttp2 session both HTTP/2 codecs build on (Envoy's ConnectionImpl under its
// Server/ClientConnectionImpl): it owns the session and the callbacks that mean the
// same on either side, and runs the flow control both sides share.
//
// - Inbound bodies (requests on the server, responses on the client) are credited
//   back to the peer only once delivered to an unpaused consumer; while it is paused
//   they wait in the stream's InboundHold, together with the end and trailers.
// - Outbound bodies wait in the stream's OutboundBody behind a deferred data
//   provider; frames are produced only while the connection's write queue is below
//   `connection_write_high`, and a stream whose body passed the high watermark is
//   told when it drains below the low one.
// - Events found inside a call the consumer makes into the codec are never delivered
//   from inside it: the session asks the connection for a flush and delivers them
//   from there (ConnectionIo::schedule_flush).
//
// A side (H2ServerCodec, H2ClientCodec) creates the session with its own options and
// SETTINGS, keeps its streams, and answers the hooks below that differ by side.
#pragma once

#include <nghttp2/nghttp2.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "gateway/http/codec.h"
#include "gateway/http/h2_session_util.h"
#include "routing/http_message.h"

namespace infergate::gateway::h2 {

// Counters both sides keep, named after Envoy's http2.* stats.
struct SessionStats {
  uint64_t streams_total = 0;       // request streams opened (handed to a handler / submitted)
  uint64_t rx_reset = 0;            // RST_STREAM received (REFUSED_STREAM included)
  uint64_t tx_reset = 0;            // RST_STREAM sent (ours and nghttp2's)
  uint64_t header_overflow = 0;     // inbound headers over max_header_list_bytes / count
  uint64_t rx_messaging_error = 0;  // malformed messages nghttp2 reset
  uint64_t protocol_error_closes = 0;  // connection closed for a protocol violation

  SessionStats& operator+=(const SessionStats& o);
};

// Settings both sides take. The connection window's default is the side's own call.
struct SessionOptions {
  uint32_t max_concurrent_streams = 100;
  // 1 MiB per stream bounds what one paused consumer parks in the codec while
  // keeping a stream at full speed on ordinary RTTs.
  uint32_t initial_stream_window = 1024 * 1024;
  uint32_t connection_window;
  // Inbound header limits (Envoy's max_request/response_headers_kb and _count).
  uint32_t max_header_list_bytes = 60 * 1024;
  uint32_t max_headers_count = 100;
  // Per-stream outbound buffering reported to the consumer.
  Watermarks watermarks;
  // Frames are produced only while the connection's write queue is below this.
  size_t connection_write_high = 256 * 1024;

 protected:
  explicit SessionOptions(uint32_t connection_window_bytes)
      : connection_window(connection_window_bytes) {}
};

// What the session keeps of one stream. "Inbound" is the message the peer sends
// (the request on the server, the response on the client), "outbound" ours.
class SessionStream {
 public:
  virtual ~SessionStream() = default;

  int32_t id = 0;  // 0 until a client stream's request is submitted

  // Inbound message.
  bool head_received = false;  // the consumer has the head: further HEADERS are trailers
  bool end_received = false;   // END_STREAM received
  size_t header_bytes = 0;     // budget of the header block being received
  size_t header_count = 0;
  HeaderMap trailers;
  InboundHold hold;

  // Outbound message.
  OutboundBody body;
  bool end_sent = false;  // our END_STREAM went out
  bool above_high = false;

  // Lifecycle.
  bool closed = false;        // nghttp2 closed the stream (or it never existed there)
  bool remote_reset = false;  // RST_STREAM received
  bool lib_reset = false;     // nghttp2 reset it: malformed or oversized message

  // Whether header fields of this stream are still wanted.
  virtual bool takes_headers() const = 0;
  // A field of the inbound head (not trailers), lower-case name.
  virtual void add_head_field(std::string_view name, std::string_view value) = 0;
  // The inbound header block went over the limits; nghttp2 resets the stream.
  virtual void header_overflowed() {}
  // Whether the consumer still takes inbound body, end and trailers.
  virtual bool takes_inbound() const = 0;
  virtual void deliver_data(std::string_view data, bool end_stream) = 0;
  virtual void deliver_trailers(HeaderMap&& trailers) = 0;
  // Whether the consumer still wants to hear that the outbound buffer drained.
  virtual bool takes_writable() const = 0;
  virtual void deliver_writable() = 0;
  // Whether a RST_STREAM sent on this stream was our own doing, not nghttp2's.
  virtual bool reset_here() const = 0;
};

class Session {
 public:
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

 protected:
  enum class Side { Server, Client };

  Session(ConnectionIo& io, const SessionOptions& opts);
  virtual ~Session();

  // nghttp2 options both sides set (no automatic WINDOW_UPDATE: credit follows
  // delivery); the side adds its own before open().
  static OptionPtr new_options();
  // Creates the session, submits `settings` and sets the connection window.
  void open(Side side, nghttp2_option* options,
            std::initializer_list<nghttp2_settings_entry> settings);

  // ---- hooks the side answers --------------------------------------------------
  virtual SessionStream* find_stream(int32_t id) = 0;
  virtual void count(uint64_t SessionStats::*counter) = 0;
  // A request's HEADERS begins (server side only).
  virtual void request_begins(int32_t) {}
  // The inbound head of `s` is complete (the first HEADERS, or an informational one).
  virtual void head_complete(SessionStream& s, bool end_stream) = 0;
  // A RST_STREAM arrived: takes one from the side's rapid-reset budget; false when
  // it is spent, which fails the read at this frame.
  virtual bool take_reset_token() { return true; }
  // The peer acknowledged our PING.
  virtual void ping_acked() {}
  virtual void goaway_received() {}
  virtual void stream_closed(SessionStream& s) = 0;
  // Our END_STREAM on `s` went out.
  virtual void end_sent(SessionStream&) {}
  // nghttp2 refused to send a HEADERS frame of `s`.
  virtual void headers_not_sent(SessionStream& s, int lib_error) = 0;
  // A GOAWAY went out; `torn_down` when nghttp2 sent an error on its own.
  virtual void goaway_sent(uint32_t error_code, bool torn_down) = 0;
  // nghttp2 could not take received bytes (fatal); counts it and returns the
  // GOAWAY error code to send.
  virtual uint32_t receive_failed(ssize_t lib_error) = 0;
  // Work the side deferred to the next flush, run before held bodies are delivered.
  virtual void run_deferred() {}
  // Whether frames may go out yet (the client waits for its connection).
  virtual bool may_send() const { return true; }
  // Frees streams done with, between callbacks only.
  virtual void reap() = 0;
  // The connection is gone: every consumer still owed an answer gets `reason`.
  virtual void fail_streams(ResetReason reason) = 0;

  // ---- the shared machinery ----------------------------------------------------
  // on_read / on_tick of either codec.
  bool receive(std::string_view bytes);
  void tick();
  void request_flush();
  void fail_connection(ResetReason reason);

  // The data provider that feeds `s.body` to nghttp2.
  nghttp2_data_provider provider(SessionStream& s);
  void queue_body(SessionStream& s, std::string_view data, bool end_stream);
  void queue_trailers(SessionStream& s, std::optional<HeaderMap> trailers);
  void pause_inbound(SessionStream& s, bool paused);
  // Returns flow-control credit for `n` inbound bytes that left the codec.
  void credit(const SessionStream& s, size_t n);
  void drop_hold(SessionStream& s);
  void submit_reset(int32_t id, uint32_t error_code);
  // Drops `s` from the pending lists; a side's stream calls it as it dies.
  void forget(const SessionStream& s);

  nghttp2_session* session() const { return session_.get(); }

  bool closed_ = false;             // on_connection_closed ran or we gave up
  bool connection_failed_ = false;  // on_read must answer false

 private:
  struct Callbacks;  // nghttp2 callback trampolines
  friend struct Callbacks;

  void flush();
  void after_output();
  void deliver_held(SessionStream& s);
  void inbound_ended(SessionStream& s);
  void trailers_received(SessionStream& s);
  void watch_watermark(SessionStream& s);

  ConnectionIo& io_;
  const SessionOptions opts_;
  SessionPtr session_;
  std::vector<SessionStream*> resumed_;  // unpaused with held inbound bytes to deliver
  std::vector<SessionStream*> watch_;    // above the high watermark: waiting to drain
  bool in_dispatch_ = false;             // inside on_read/on_tick/...: flush at its end
  bool flush_again_ = false;
  bool close_requested_ = false;
  bool local_goaway_error_ = false;      // we sent an error GOAWAY ourselves
};

}  // namespace infergate::gateway::h2
