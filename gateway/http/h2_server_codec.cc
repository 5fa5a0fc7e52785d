#include "gateway/http/h2_server_codec.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

namespace infergate::gateway {

using h2::as_view;

H2ServerStats& H2ServerStats::operator+=(const H2ServerStats& o) {
  streams_total += o.streams_total;
  rx_reset += o.rx_reset;
  tx_reset += o.tx_reset;
  header_overflow += o.header_overflow;
  rx_messaging_error += o.rx_messaging_error;
  goaway_sent += o.goaway_sent;
  protocol_error_closes += o.protocol_error_closes;
  abuse_closes += o.abuse_closes;
  return *this;
}

// One request stream: the request being assembled, the response being sent, and
// the handler the factory created for it.
class H2ServerCodec::Stream final : public DownstreamStream {
 public:
  Stream(H2ServerCodec& codec, int32_t id) : codec_(codec), id_(id) {
    head.version = HttpVersion::Http2;
    head.scheme.clear();
  }
  ~Stream() override { handler.reset(); }  // first, while the rest is still alive

  void send_headers(ResponseHead&& response, bool end_stream) override;
  void send_data(std::string_view data, bool end_stream) override;
  void send_trailers(HeaderMap&& trailers) override;
  void reset() override;
  size_t buffered_bytes() const override { return body.size(); }
  void pause_request_body(bool paused) override;
  void finish() override;
  const std::string& peer_address() const override { return codec_.peer_address_; }
  HttpVersion version() const override { return HttpVersion::Http2; }

  bool usable() const { return !codec_.closed_ && !closed && !local_reset; }
  bool live_handler() const { return handler && !released; }
  // Both directions reached END_STREAM on the wire.
  bool complete() const { return request_ended && response_done; }
  void watch_watermark();

  H2ServerCodec& codec_;
  const int32_t id_;

  // Request assembly.
  RequestHead head;
  std::string host;     // Host header: the authority when :authority is absent
  std::string cookie;   // crumbs joined with "; " (RFC 9113 §8.2.3)
  HeaderMap trailers;
  size_t header_bytes = 0;
  size_t header_count = 0;
  bool request_started = false;  // the handler has the head
  bool request_ended = false;    // END_STREAM received
  h2::InboundHold hold;

  // Response.
  h2::OutboundBody body;
  bool response_started = false;  // final HEADERS submitted
  bool response_done = false;     // END_STREAM sent
  bool above_high = false;

  // Lifecycle.
  bool closed = false;        // nghttp2 closed the stream
  bool released = false;      // the handler may be destroyed
  bool local_reset = false;   // we (handler or codec) reset it: no callback owed
  bool remote_reset = false;  // RST_STREAM received
  bool lib_reset = false;     // nghttp2 reset it for a protocol violation
  bool header_overflow = false;  // trailers over the limits: the stream is being reset
  bool reap_queued = false;
  std::unique_ptr<StreamHandler> handler;  // last: destroyed first
};

// ---- nghttp2 callbacks ---------------------------------------------------------

struct H2ServerCodec::Callbacks {
  static H2ServerCodec& self(void* user_data) { return *static_cast<H2ServerCodec*>(user_data); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    H2ServerCodec& c = self(ud);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    int32_t id = frame->hd.stream_id;
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      c.streams_[id] = std::make_unique<Stream>(c, id);
      return 0;
    }
    if (Stream* s = c.find(id)) {  // trailers: their own size budget, as in Envoy
      s->header_bytes = 0;
      s->header_count = 0;
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                       void* ud) {
    H2ServerCodec& c = self(ud);
    Stream* s = c.find(frame->hd.stream_id);
    if (s == nullptr || s->local_reset || s->header_overflow) return 0;
    s->header_bytes += namelen + valuelen;
    if (++s->header_count > c.opts_.max_headers_count ||
        s->header_bytes > c.opts_.max_header_list_bytes) {
      c.bump(&H2ServerStats::header_overflow);
      // nghttp2 resets the stream (INTERNAL_ERROR, as Envoy does) and skips the rest
      // of the block; the connection carries on. Oversized trailers arrive after the
      // handler has the request: it is owed a reset (ProtocolError), not silence.
      if (s->live_handler()) {
        s->lib_reset = true;
        s->header_overflow = true;
      } else {
        s->local_reset = true;
      }
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    std::string_view n = as_view(name, namelen), v = as_view(value, valuelen);
    if (s->request_started) {
      s->trailers.add_lower(n, v);  // nghttp2 rejects pseudo-headers in trailers
      return 0;
    }
    if (!n.empty() && n.front() == ':') {
      if (n == ":method") s->head.method.assign(v);
      else if (n == ":path") s->head.path.assign(v);
      else if (n == ":authority") s->head.authority.assign(v);
      else if (n == ":scheme") s->head.scheme.assign(v);
      return 0;  // nghttp2 has already rejected unknown pseudo-headers
    }
    if (n == "cookie") {
      if (!s->cookie.empty()) s->cookie.append("; ");
      s->cookie.append(v);
    } else if (n == "host") {
      s->host.assign(v);
    } else {
      s->head.headers.add_lower(n, v);
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
    H2ServerCodec& c = self(ud);
    int32_t id = frame->hd.stream_id;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        Stream* s = c.find(id);
        if (s == nullptr || s->local_reset) return 0;
        bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        if (!s->request_started) {
          c.start_request(*s, end);
        } else {
          s->request_ended = true;
          if (!s->live_handler()) return 0;
          if (s->hold.paused || s->hold.holding()) {
            s->hold.trailers = std::move(s->trailers);
          } else {
            s->handler->on_request_trailers(std::move(s->trailers));
          }
        }
        return 0;
      }
      case NGHTTP2_DATA: {
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
        Stream* s = c.find(id);
        if (s == nullptr) return 0;
        s->request_ended = true;
        if (!s->live_handler() || s->local_reset) return 0;
        if (s->hold.paused || s->hold.holding()) {
          s->hold.end = true;
        } else {
          s->handler->on_request_data({}, true);
        }
        return 0;
      }
      case NGHTTP2_RST_STREAM:
        c.bump(&H2ServerStats::rx_reset);
        if (Stream* s = c.find(id)) s->remote_reset = true;
        if (!c.take_reset_token()) {
          // Same budget as nghttp2's own limiter, which only queues a GOAWAY and
          // keeps opening the streams that follow in this read, each reaching a
          // handler. Failing here stops the read at the frame over the budget.
          c.reset_flood_ = true;
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        return 0;
      case NGHTTP2_PING:
        // The PING sent with the shutdown notice came back: every stream the client
        // opened before it saw the notice has reached us, so the final GOAWAY can
        // name the last one (the two-step shutdown nghttp2 documents).
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0 && c.draining_ && !c.final_goaway_sent_) {
          c.final_goaway_sent_ = true;
          nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE,
                                nghttp2_session_get_last_proc_stream_id(session),
                                NGHTTP2_NO_ERROR, nullptr, 0);
        }
        return 0;
      default:
        return 0;
    }
  }

  static int on_data_chunk_recv(nghttp2_session* session, uint8_t, int32_t id,
                                const uint8_t* data, size_t len, void* ud) {
    H2ServerCodec& c = self(ud);
    Stream* s = c.find(id);
    if (s == nullptr || !s->live_handler() || s->local_reset) {
      nghttp2_session_consume(session, id, len);  // nobody wants it: keep the window open
      return 0;
    }
    if (s->hold.paused || s->hold.holding()) {
      s->hold.data.append(as_view(data, len));  // credit withheld until delivered
      return 0;
    }
    nghttp2_session_consume(session, id, len);
    s->handler->on_request_data(as_view(data, len), false);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t, void* ud) {
    H2ServerCodec& c = self(ud);
    Stream* s = c.find(id);
    if (s == nullptr) return 0;
    s->closed = true;
    if (s->live_handler()) {
      if (s->local_reset) {
        s->released = true;  // the handler (or its overflow) caused it: nothing owed
      } else if (!s->complete()) {
        ResetReason reason = s->remote_reset ? ResetReason::RemoteReset
                             : s->lib_reset  ? ResetReason::ProtocolError
                                             : ResetReason::ConnectionTermination;
        c.drop_hold(*s);
        s->handler->on_downstream_reset(reason);
        s->released = true;
      }
      // else: complete; the handler still holds it until finish()
    } else if (!s->handler) {
      s->released = true;  // reset before a handler existed (malformed, overflow)
    }
    if (!s->live_handler()) c.drop_hold(*s);
    if (s->released) c.release(*s);
    return 0;
  }

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
    H2ServerCodec& c = self(ud);
    int32_t id = frame->hd.stream_id;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
          Stream* s = c.find(id);
          if (s == nullptr) return 0;
          s->response_done = true;
          // RFC 9113 §8.1: a complete response may cut a still-running upload short.
          if (s->released && !s->request_ended && !s->closed) {
            s->local_reset = true;
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
          }
        }
        return 0;
      case NGHTTP2_RST_STREAM:
        c.bump(&H2ServerStats::tx_reset);
        if (Stream* s = c.find(id); s != nullptr && !s->local_reset) s->lib_reset = true;
        return 0;
      case NGHTTP2_GOAWAY:
        c.bump(&H2ServerStats::goaway_sent);
        if (frame->goaway.error_code != NGHTTP2_NO_ERROR && !c.local_goaway_error_) {
          // nghttp2 tore the session down on its own. Its rate limiters answer with
          // INTERNAL_ERROR (RST_STREAM rate) or ENHANCE_YOUR_CALM; everything else is
          // a plain protocol violation.
          uint32_t ec = frame->goaway.error_code;
          c.bump(ec == NGHTTP2_INTERNAL_ERROR || ec == NGHTTP2_ENHANCE_YOUR_CALM
                     ? &H2ServerStats::abuse_closes
                     : &H2ServerStats::protocol_error_closes);
          c.connection_failed_ = true;
        }
        return 0;
      default:
        return 0;
    }
  }

  static int on_frame_not_send(nghttp2_session* session, const nghttp2_frame* frame, int,
                               void* ud) {
    H2ServerCodec& c = self(ud);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    // A response head nghttp2 refused to frame (e.g. over its header block limit):
    // the stream cannot continue.
    if (Stream* s = c.find(frame->hd.stream_id); s != nullptr && !s->closed) {
      s->lib_reset = true;
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id_, NGHTTP2_INTERNAL_ERROR);
    }
    return 0;
  }

  static int on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame*, int lib_error,
                                   void* ud) {
    if (lib_error == NGHTTP2_ERR_HTTP_HEADER || lib_error == NGHTTP2_ERR_HTTP_MESSAGING) {
      self(ud).bump(&H2ServerStats::rx_messaging_error);
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source* source, void*) {
    auto* s = static_cast<Stream*>(source->ptr);
    return s->body.read(session, id, buf, length, data_flags);
  }
};

// ---- Stream ------------------------------------------------------------------

void H2ServerCodec::Stream::watch_watermark() {
  if (!above_high && body.size() > codec_.opts_.watermarks.high) {
    above_high = true;
    codec_.watch_.push_back(id_);
  }
}

void H2ServerCodec::Stream::send_headers(ResponseHead&& response, bool end_stream) {
  if (!usable() || response_started) return;
  nghttp2_session* session = codec_.session_.get();
  h2::HeaderBlock block;
  block.add_owned(":status", std::to_string(response.status));
  block.add_regular(response.headers);
  if (response.status >= 100 && response.status < 200) {
    // Informational (100-continue, 103): a non-final HEADERS, the response follows.
    nghttp2_submit_headers(session, NGHTTP2_FLAG_NONE, id_, nullptr, block.data(),
                           block.size(), nullptr);
    codec_.request_flush();
    return;
  }
  response_started = true;
  int rv;
  if (end_stream) {
    body.end();
    rv = nghttp2_submit_response(session, id_, block.data(), block.size(), nullptr);
  } else {
    nghttp2_data_provider provider;
    provider.source.ptr = this;
    provider.read_callback = &Callbacks::read_body;
    rv = nghttp2_submit_response(session, id_, block.data(), block.size(), &provider);
  }
  if (rv != 0) {
    lib_reset = true;
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  }
  codec_.request_flush();
}

void H2ServerCodec::Stream::send_data(std::string_view data, bool end_stream) {
  if (!usable() || body.ended()) return;
  body.append(data);
  if (end_stream) body.end();
  if (response_started) body.resume(codec_.session_.get(), id_);
  watch_watermark();
  codec_.request_flush();
}

void H2ServerCodec::Stream::send_trailers(HeaderMap&& trailers) {
  if (!usable() || body.ended()) return;
  body.end(std::move(trailers));
  if (response_started) body.resume(codec_.session_.get(), id_);
  codec_.request_flush();
}

void H2ServerCodec::Stream::reset() {
  if (!usable()) return;
  local_reset = true;
  codec_.drop_hold(*this);
  nghttp2_submit_rst_stream(codec_.session_.get(), NGHTTP2_FLAG_NONE, id_,
                            NGHTTP2_INTERNAL_ERROR);
  codec_.request_flush();
}

void H2ServerCodec::Stream::pause_request_body(bool paused) {
  if (hold.paused == paused) return;
  hold.paused = paused;
  if (!paused && hold.holding() && !codec_.closed_) {
    codec_.resumed_.push_back(id_);  // delivered from the next flush, never re-entrantly
    codec_.request_flush();
  }
}

void H2ServerCodec::Stream::finish() {
  if (released || codec_.closed_) return;
  released = true;
  codec_.drop_hold(*this);
  if (!closed && !local_reset) {
    nghttp2_session* session = codec_.session_.get();
    if (!body.ended()) {
      // The Exchange gave up without ending the response: the client must not wait.
      local_reset = true;
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    } else if (response_done && !request_ended) {
      local_reset = true;
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id_, NGHTTP2_NO_ERROR);
    }
  }
  codec_.release(*this);
  codec_.request_flush();
}

// ---- H2ServerCodec -------------------------------------------------------------

H2ServerCodec::H2ServerCodec(ConnectionIo& io, StreamHandlerFactory& factory,
                             const H2ServerOptions& opts, std::string peer_address)
    : io_(io),
      factory_(factory),
      opts_(opts),
      peer_address_(std::move(peer_address)),
      reset_tokens_(opts.reset_burst),
      reset_refilled_at_(std::chrono::steady_clock::now()) {
  nghttp2_session_callbacks* raw_cbs = nullptr;
  nghttp2_session_callbacks_new(&raw_cbs);
  h2::CallbacksPtr cbs(raw_cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs.get(), &Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs.get(), &Callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs.get(), &Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs.get(),
                                                            &Callbacks::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs.get(), &Callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs.get(), &Callbacks::on_frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs.get(),
                                                           &Callbacks::on_frame_not_send);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(
      cbs.get(), &Callbacks::on_invalid_frame_recv);

  nghttp2_option* raw_opt = nullptr;
  nghttp2_option_new(&raw_opt);
  h2::OptionPtr opt(raw_opt);
  nghttp2_option_set_no_auto_window_update(opt.get(), 1);
  nghttp2_option_set_no_closed_streams(opt.get(), 1);
  nghttp2_option_set_stream_reset_rate_limit(opt.get(), opts_.reset_burst, opts_.reset_rate_per_s);
  nghttp2_option_set_max_continuations(opt.get(), opts_.max_continuations);

  nghttp2_session* raw = nullptr;
  nghttp2_session_server_new2(&raw, cbs.get(), this, opt.get());
  session_.reset(raw);

  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, opts_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, opts_.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, opts_.max_header_list_bytes},
      // Priorities are ignored anyway; saying so saves clients the PRIORITY frames.
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, settings,
                          sizeof(settings) / sizeof(settings[0]));
  nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(opts_.connection_window));
}

H2ServerCodec::~H2ServerCodec() {
  closed_ = true;      // a handler's destructor calling its stream finds it inert
  streams_.clear();    // handlers go before the session they might still name
}

bool H2ServerCodec::take_reset_token() {
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
  if (reset_tokens_ == 0) return false;
  --reset_tokens_;
  return true;
}

H2ServerCodec::Stream* H2ServerCodec::find(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2ServerCodec::bump(uint64_t H2ServerStats::*counter) {
  ++(stats_.*counter);
  if (opts_.stats_sink != nullptr) ++(opts_.stats_sink->*counter);
}

void H2ServerCodec::start_request(Stream& s, bool end_stream) {
  s.request_started = true;
  s.request_ended = end_stream;
  if (!s.cookie.empty()) s.head.headers.add_lower("cookie", s.cookie);
  if (s.head.authority.empty()) s.head.authority = std::move(s.host);
  bump(&H2ServerStats::streams_total);
  s.handler = factory_.new_stream(s);
  if (!s.handler) {  // overloaded: the client may retry elsewhere
    s.local_reset = true;
    s.released = true;
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.id_, NGHTTP2_REFUSED_STREAM);
    return;
  }
  s.handler->on_request_headers(std::move(s.head), end_stream);
}

void H2ServerCodec::credit(Stream& s, size_t n) {
  if (n == 0) return;
  if (s.closed) {
    nghttp2_session_consume_connection(session_.get(), n);
  } else {
    nghttp2_session_consume(session_.get(), s.id_, n);
  }
}

void H2ServerCodec::drop_hold(Stream& s) {
  credit(s, s.hold.data.size());
  s.hold.clear();
}

void H2ServerCodec::deliver_held(Stream& s) {
  if (!s.live_handler() || s.local_reset) {
    drop_hold(s);
    return;
  }
  while (!s.hold.paused && s.hold.holding() && s.live_handler() && !s.local_reset) {
    if (!s.hold.data.empty()) {
      std::string data = std::move(s.hold.data);
      s.hold.data.clear();
      bool end = s.hold.end && !s.hold.trailers;
      if (end) s.hold.end = false;
      credit(s, data.size());
      s.handler->on_request_data(data, end);
    } else if (s.hold.trailers) {
      HeaderMap t = std::move(*s.hold.trailers);
      s.hold.trailers.reset();
      s.hold.end = false;
      s.handler->on_request_trailers(std::move(t));
    } else {
      s.hold.end = false;
      s.handler->on_request_data({}, true);
    }
  }
}

void H2ServerCodec::release(Stream& s) {
  if (!s.closed || !s.released || s.reap_queued) return;
  s.reap_queued = true;
  reap_.push_back(s.id_);
  request_flush();
}

void H2ServerCodec::reap() {
  // Only ever called between callbacks: a handler is never destroyed inside its own.
  while (!reap_.empty()) {
    std::vector<int32_t> ids = std::move(reap_);
    reap_.clear();
    for (int32_t id : ids) streams_.erase(id);
  }
}

void H2ServerCodec::request_flush() {
  flush_again_ = true;
  if (!in_dispatch_ && !closed_) io_.schedule_flush();
}

void H2ServerCodec::flush() {
  if (closed_) return;
  bool outer = !in_dispatch_;
  in_dispatch_ = true;
  do {
    flush_again_ = false;
    std::vector<int32_t> resumed = std::move(resumed_);
    resumed_.clear();
    for (int32_t id : resumed) {
      if (Stream* s = find(id)) deliver_held(*s);
    }
    int rv = h2::pump_output(session_.get(), io_, opts_.connection_write_high);
    if (rv != 0) {
      bump(&H2ServerStats::protocol_error_closes);
      connection_failed_ = true;
      break;
    }
    // Streams whose response buffer drained below the low watermark.
    std::vector<int32_t> watched = std::move(watch_);
    watch_.clear();
    for (int32_t id : watched) {
      Stream* s = find(id);
      if (s == nullptr || !s->live_handler() || !s->usable()) continue;
      if (s->body.size() > opts_.watermarks.low) {
        watch_.push_back(id);
        continue;
      }
      s->above_high = false;
      s->handler->on_downstream_writable();
    }
    reap();
  } while (flush_again_ && !closed_ && !connection_failed_);
  if (outer) in_dispatch_ = false;
  after_output();
}

void H2ServerCodec::after_output() {
  if (closed_) return;
  if (connection_failed_) {
    fail_connection(ResetReason::ProtocolError);
    io_.close_after_write();
    return;
  }
  if (!close_requested_ && nghttp2_session_want_read(session_.get()) == 0 &&
      nghttp2_session_want_write(session_.get()) == 0) {
    // GOAWAY exchanged and the last stream finished (drain), or the client said goodbye.
    close_requested_ = true;
    io_.close_after_write();
  }
}

void H2ServerCodec::fail_connection(ResetReason reason) {
  if (closed_) return;
  closed_ = true;
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
  watch_.clear();
  resumed_.clear();
}

bool H2ServerCodec::on_read(std::string_view bytes) {
  if (closed_ || connection_failed_) return false;
  in_dispatch_ = true;
  ssize_t rv = nghttp2_session_mem_recv(session_.get(),
                                        reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
  if (rv < 0) {
    // Fatal: the session cannot go on. Tell the peer why when it is worth it.
    local_goaway_error_ = true;
    bool abuse = reset_flood_ || rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
    bump(abuse ? &H2ServerStats::abuse_closes : &H2ServerStats::protocol_error_closes);
    if (rv != NGHTTP2_ERR_FLOODED) {  // a flooder is not reading: don't queue more
      uint32_t code = rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? NGHTTP2_PROTOCOL_ERROR
                      : abuse                          ? NGHTTP2_ENHANCE_YOUR_CALM
                                                       : NGHTTP2_INTERNAL_ERROR;
      nghttp2_session_terminate_session(session_.get(), code);
      h2::pump_output(session_.get(), io_, opts_.connection_write_high);
    }
    in_dispatch_ = false;
    fail_connection(ResetReason::ProtocolError);
    return false;
  }
  flush();
  in_dispatch_ = false;
  return !connection_failed_;
}

void H2ServerCodec::on_write_drained() { on_tick(); }

void H2ServerCodec::on_tick() {
  if (closed_) return;
  in_dispatch_ = true;
  flush();
  in_dispatch_ = false;
}

void H2ServerCodec::on_connection_closed() { fail_connection(ResetReason::ConnectionTermination); }

void H2ServerCodec::start_drain() {
  if (draining_ || closed_) return;
  draining_ = true;
  // Two steps even when idle: a request the client sent before it sees the notice
  // may be on the wire, and a final GOAWAY naming the last stream we processed
  // would refuse it. The final GOAWAY follows the PING's ACK (on_frame_recv); the
  // connection closes once it is sent and no stream is left.
  nghttp2_submit_shutdown_notice(session_.get());
  nghttp2_submit_ping(session_.get(), NGHTTP2_FLAG_NONE, nullptr);
  request_flush();
}

void H2ServerCodec::finish_drain() {
  if (!draining_ || closed_ || final_goaway_sent_) return;
  final_goaway_sent_ = true;
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_.get()),
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
