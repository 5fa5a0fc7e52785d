#include "gateway/http/h2_server_codec.h"

#include <chrono>
#include <string>
#include <utility>

namespace infergate::gateway {

H2ServerStats& H2ServerStats::operator+=(const H2ServerStats& o) {
  h2::SessionStats::operator+=(o);
  goaway_sent += o.goaway_sent;
  abuse_closes += o.abuse_closes;
  return *this;
}

// One request stream: the request being assembled, the response being sent, and
// the handler the factory created for it.
class H2ServerCodec::Stream final : public DownstreamStream, public h2::SessionStream {
 public:
  Stream(H2ServerCodec& codec, int32_t stream_id) : codec_(codec) {
    id = stream_id;
    head.version = HttpVersion::Http2;
    head.scheme.clear();
  }
  ~Stream() override {
    handler.reset();       // first, while the rest is still alive
    codec_.forget(*this);  // after it: its last calls may have queued the stream
  }

  // DownstreamStream.
  void send_headers(ResponseHead&& response, bool end_stream) override;
  void send_data(std::string_view data, bool end_stream) override;
  void send_trailers(HeaderMap&& trailers) override;
  void reset() override;
  size_t buffered_bytes() const override { return body.size(); }
  void pause_request_body(bool paused) override { codec_.pause_inbound(*this, paused); }
  void finish() override;
  const std::string& peer_address() const override { return codec_.peer_address_; }
  HttpVersion version() const override { return HttpVersion::Http2; }

  // h2::SessionStream.
  bool takes_headers() const override { return !local_reset && !header_overflow; }
  void add_head_field(std::string_view name, std::string_view value) override;
  void header_overflowed() override;
  bool takes_inbound() const override { return live_handler() && !local_reset; }
  void deliver_data(std::string_view data, bool end) override {
    handler->on_request_data(data, end);
  }
  void deliver_trailers(HeaderMap&& t) override { handler->on_request_trailers(std::move(t)); }
  bool takes_writable() const override { return live_handler() && usable(); }
  void deliver_writable() override { handler->on_downstream_writable(); }
  bool reset_here() const override { return local_reset; }

  bool usable() const { return !codec_.closed_ && !closed && !local_reset; }
  bool live_handler() const { return handler && !released; }
  // Both directions reached END_STREAM on the wire.
  bool complete() const { return end_received && end_sent; }

  H2ServerCodec& codec_;

  // Request assembly (head_received: the handler has the head).
  RequestHead head;
  std::string host;     // Host header: the authority when :authority is absent
  std::string cookie;   // crumbs joined with "; " (RFC 9113 §8.2.3)

  bool response_started = false;  // final HEADERS submitted

  // Lifecycle.
  bool released = false;      // the handler may be destroyed
  bool local_reset = false;   // we (handler or codec) reset it: no callback owed
  bool header_overflow = false;  // trailers over the limits: the stream is being reset
  bool reap_queued = false;
  std::unique_ptr<StreamHandler> handler;  // last: destroyed first
};

void H2ServerCodec::Stream::add_head_field(std::string_view n, std::string_view v) {
  if (!n.empty() && n.front() == ':') {
    if (n == ":method") head.method.assign(v);
    else if (n == ":path") head.path.assign(v);
    else if (n == ":authority") head.authority.assign(v);
    else if (n == ":scheme") head.scheme.assign(v);
    return;  // nghttp2 has already rejected unknown pseudo-headers
  }
  if (n == "cookie") {
    if (!cookie.empty()) cookie.append("; ");
    cookie.append(v);
  } else if (n == "host") {
    host.assign(v);
  } else {
    head.headers.add_lower(n, v);
  }
}

void H2ServerCodec::Stream::header_overflowed() {
  // Oversized trailers arrive after the handler has the request: it is owed a reset
  // (ProtocolError), not silence.
  if (live_handler()) {
    lib_reset = true;
    header_overflow = true;
  } else {
    local_reset = true;
  }
}

void H2ServerCodec::Stream::send_headers(ResponseHead&& response, bool end_stream) {
  if (!usable() || response_started) return;
  nghttp2_session* session = codec_.session();
  h2::HeaderBlock block;
  block.add_owned(":status", std::to_string(response.status));
  block.add_regular(response.headers);
  if (response.status >= 100 && response.status < 200) {
    // Informational (100-continue, 103): a non-final HEADERS, the response follows.
    nghttp2_submit_headers(session, NGHTTP2_FLAG_NONE, id, nullptr, block.data(),
                           block.size(), nullptr);
    codec_.request_flush();
    return;
  }
  response_started = true;
  int rv;
  if (end_stream) {
    body.end();
    rv = nghttp2_submit_response(session, id, block.data(), block.size(), nullptr);
  } else {
    nghttp2_data_provider provider = codec_.provider(*this);
    rv = nghttp2_submit_response(session, id, block.data(), block.size(), &provider);
  }
  if (rv != 0) {
    lib_reset = true;
    codec_.submit_reset(id, NGHTTP2_INTERNAL_ERROR);
  }
  codec_.request_flush();
}

void H2ServerCodec::Stream::send_data(std::string_view data, bool end_stream) {
  if (!usable() || body.ended()) return;
  codec_.queue_body(*this, data, end_stream);
}

void H2ServerCodec::Stream::send_trailers(HeaderMap&& trailers) {
  if (!usable() || body.ended()) return;
  codec_.queue_trailers(*this, std::move(trailers));
}

void H2ServerCodec::Stream::reset() {
  if (!usable()) return;
  local_reset = true;
  codec_.drop_hold(*this);
  codec_.submit_reset(id, NGHTTP2_INTERNAL_ERROR);
  codec_.request_flush();
}

void H2ServerCodec::Stream::finish() {
  if (released || codec_.closed_) return;
  released = true;
  codec_.drop_hold(*this);
  if (!closed && !local_reset) {
    if (!body.ended()) {
      // The Exchange gave up without ending the response: the client must not wait.
      local_reset = true;
      codec_.submit_reset(id, NGHTTP2_INTERNAL_ERROR);
    } else if (end_sent && !end_received) {
      local_reset = true;
      codec_.submit_reset(id, NGHTTP2_NO_ERROR);
    }
  }
  codec_.release(*this);
  codec_.request_flush();
}

// ---- h2::Session hooks -------------------------------------------------------------

void H2ServerCodec::request_begins(int32_t id) {
  streams_[id] = std::make_unique<Stream>(*this, id);
}

void H2ServerCodec::ping_acked() {
  // The PING sent with the shutdown notice came back: every stream the client
  // opened before it saw the notice has reached us, so the final GOAWAY can name
  // the last one (the two-step shutdown nghttp2 documents).
  finish_drain();
}

void H2ServerCodec::stream_closed(h2::SessionStream& ss) {
  auto& s = static_cast<Stream&>(ss);
  if (s.live_handler()) {
    if (s.local_reset) {
      s.released = true;  // the handler (or its overflow) caused it: nothing owed
    } else if (!s.complete()) {
      ResetReason reason = s.remote_reset ? ResetReason::RemoteReset
                           : s.lib_reset  ? ResetReason::ProtocolError
                                          : ResetReason::ConnectionTermination;
      drop_hold(s);
      s.handler->on_downstream_reset(reason);
      s.released = true;
    }
    // else: complete; the handler still holds it until finish()
  } else if (!s.handler) {
    s.released = true;  // reset before a handler existed (malformed, overflow)
  }
  if (!s.live_handler()) drop_hold(s);
  if (s.released) release(s);
}

void H2ServerCodec::end_sent(h2::SessionStream& ss) {
  auto& s = static_cast<Stream&>(ss);
  // RFC 9113 §8.1: a complete response may cut a still-running upload short.
  if (s.released && !s.end_received && !s.closed) {
    s.local_reset = true;
    submit_reset(s.id, NGHTTP2_NO_ERROR);
  }
}

void H2ServerCodec::headers_not_sent(h2::SessionStream& s, int) {
  // A response head nghttp2 refused to frame (e.g. over its header block limit):
  // the stream cannot continue.
  if (s.closed) return;
  s.lib_reset = true;
  submit_reset(s.id, NGHTTP2_INTERNAL_ERROR);
}

void H2ServerCodec::goaway_sent(uint32_t error_code, bool torn_down) {
  bump(&H2ServerStats::goaway_sent);
  if (!torn_down) return;
  // nghttp2 tore the session down on its own. Its rate limiters answer with
  // INTERNAL_ERROR (RST_STREAM rate) or ENHANCE_YOUR_CALM; everything else is a
  // plain protocol violation.
  bump(error_code == NGHTTP2_INTERNAL_ERROR || error_code == NGHTTP2_ENHANCE_YOUR_CALM
           ? &H2ServerStats::abuse_closes
           : &H2ServerStats::protocol_error_closes);
}

uint32_t H2ServerCodec::receive_failed(ssize_t rv) {
  bool abuse = reset_flood_ || rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
  bump(abuse ? &H2ServerStats::abuse_closes : &H2ServerStats::protocol_error_closes);
  return rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? NGHTTP2_PROTOCOL_ERROR
         : abuse                            ? NGHTTP2_ENHANCE_YOUR_CALM
                                            : NGHTTP2_INTERNAL_ERROR;
}

void H2ServerCodec::reap() {
  // Only ever called between callbacks: a handler is never destroyed inside its own.
  while (!reap_.empty()) {
    std::vector<int32_t> ids = std::move(reap_);
    reap_.clear();
    for (int32_t id : ids) streams_.erase(id);
  }
}

void H2ServerCodec::fail_streams(ResetReason reason) {
  std::vector<Stream*> owed;
  for (auto& [id, s] : streams_) {
    if (s->live_handler() && !s->local_reset && !s->complete()) owed.push_back(s.get());
  }
  for (Stream* s : owed) {
    s->hold.clear();
    s->handler->on_downstream_reset(reason);
  }
  // Nothing runs on this session again; every handler can go.
  streams_.clear();
  reap_.clear();
}

// ---- H2ServerCodec -------------------------------------------------------------

H2ServerCodec::H2ServerCodec(ConnectionIo& io, StreamHandlerFactory& factory,
                             const H2ServerOptions& opts, std::string peer_address)
    : h2::Session(io, opts),
      factory_(factory),
      opts_(opts),
      peer_address_(std::move(peer_address)),
      reset_tokens_(opts.reset_burst),
      reset_refilled_at_(std::chrono::steady_clock::now()) {
  h2::OptionPtr opt = new_options();
  nghttp2_option_set_stream_reset_rate_limit(opt.get(), opts_.reset_burst, opts_.reset_rate_per_s);
  nghttp2_option_set_max_continuations(opt.get(), opts_.max_continuations);
  open(Side::Server, opt.get(),
       {
           {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, opts_.max_concurrent_streams},
           {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, opts_.initial_stream_window},
           {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, opts_.max_header_list_bytes},
           // Priorities are ignored anyway; saying so saves clients the PRIORITY frames.
           {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
       });
}

H2ServerCodec::~H2ServerCodec() {
  closed_ = true;      // a handler's destructor calling its stream finds it inert
  streams_.clear();    // handlers go before the session they might still name
}

bool H2ServerCodec::take_reset_token() {
  // The same budget as nghttp2's own limiter, which only queues a GOAWAY and keeps
  // opening the streams that follow in this read, each reaching a handler. Failing
  // here stops the read at the frame over the budget.
  // nghttp2's token bucket: whole seconds, refilled at reset_rate_per_s up to the burst.
  auto now = std::chrono::steady_clock::now();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - reset_refilled_at_).count();
  if (secs > 0) {
    reset_refilled_at_ += std::chrono::seconds(secs);
    uint64_t room = opts_.reset_burst - reset_tokens_;
    uint64_t rate = opts_.reset_rate_per_s;
    uint64_t add = rate == 0 ? 0 : static_cast<uint64_t>(secs) > room / rate ? room : static_cast<uint64_t>(secs) * rate;
    reset_tokens_ += add;
  }
  if (reset_tokens_ == 0) {
    reset_flood_ = true;
    return false;
  }
  --reset_tokens_;
  return true;
}

H2ServerCodec::Stream* H2ServerCodec::find(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

h2::SessionStream* H2ServerCodec::find_stream(int32_t id) { return find(id); }

void H2ServerCodec::bump(uint64_t H2ServerStats::*counter) {
  ++(stats_.*counter);
  if (opts_.stats_sink != nullptr) ++(opts_.stats_sink->*counter);
}

void H2ServerCodec::head_complete(h2::SessionStream& ss, bool end_stream) {
  auto& s = static_cast<Stream&>(ss);
  s.head_received = true;
  s.end_received = end_stream;
  if (!s.cookie.empty()) s.head.headers.add_lower("cookie", s.cookie);
  if (s.head.authority.empty()) s.head.authority = std::move(s.host);
  bump(&H2ServerStats::streams_total);
  s.handler = factory_.new_stream(s);
  if (!s.handler) {  // overloaded: the client may retry elsewhere
    s.local_reset = true;
    s.released = true;
    submit_reset(s.id, NGHTTP2_REFUSED_STREAM);
    return;
  }
  s.handler->on_request_headers(std::move(s.head), end_stream);
}

void H2ServerCodec::release(Stream& s) {
  if (!s.closed || !s.released || s.reap_queued) return;
  s.reap_queued = true;
  reap_.push_back(s.id);
  request_flush();
}

void H2ServerCodec::start_drain() {
  if (draining_ || closed_) return;
  draining_ = true;
  // Two steps even when idle: a request the client sent before it sees the notice
  // may be on the wire, and a final GOAWAY naming the last stream we processed
  // would refuse it. The final GOAWAY follows the PING's ACK (ping_acked); the
  // connection closes once it is sent and no stream is left.
  nghttp2_submit_shutdown_notice(session());
  nghttp2_submit_ping(session(), NGHTTP2_FLAG_NONE, nullptr);
  request_flush();
}

void H2ServerCodec::finish_drain() {
  if (!draining_ || closed_ || final_goaway_sent_) return;
  final_goaway_sent_ = true;
  nghttp2_submit_goaway(session(), NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session()),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  request_flush();
}

size_t H2ServerCodec::active_streams() const {
  size_t n = 0;
  for (const auto& [id, s] : streams_) n += !(s->closed && s->released);
  return n;
}

bool H2ServerCodec::idle() const { return active_streams() == 0; }

}  // namespace infergate::gateway
