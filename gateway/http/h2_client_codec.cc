#include "gateway/http/h2_client_codec.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>

namespace infergate::gateway {

using h2::as_view;

H2ClientStats& H2ClientStats::operator+=(const H2ClientStats& o) {
  streams_total += o.streams_total;
  rx_reset += o.rx_reset;
  tx_reset += o.tx_reset;
  header_overflow += o.header_overflow;
  rx_messaging_error += o.rx_messaging_error;
  goaway_received += o.goaway_received;
  protocol_error_closes += o.protocol_error_closes;
  return *this;
}

// One request/response exchange with the upstream.
class H2ClientCodec::Stream final : public UpstreamStream {
 public:
  Stream(H2ClientCodec& codec, UpstreamCallbacks& cb) : codec_(codec), cb_(cb) {}

  void send_headers(const RequestHead& head, bool end_stream) override;
  void send_data(std::string_view data, bool end_stream) override;
  void send_trailers(const HeaderMap& trailers) override;
  void reset() override { abandon(); }
  size_t buffered_bytes() const override { return body.size(); }
  void pause_response(bool paused) override;
  // For HTTP/2 there is nothing to pool: the stream is simply done. Should the
  // server have answered before our upload finished, the upload is cancelled.
  void release() override { abandon(); }

  // The Exchange still listens: callbacks may be delivered.
  bool live() const { return !abandoned && !done; }
  bool usable() const { return live() && !codec_.closed_; }
  bool reapable() const { return closed && (abandoned || done); }
  void abandon();
  void watch_watermark();
  void deliver_reset(ResetReason reason) {
    done = true;
    codec_.drop_hold(*this);
    cb_.on_upstream_reset(reason);
  }

  H2ClientCodec& codec_;
  UpstreamCallbacks& cb_;
  int32_t id = 0;  // 0 until the request is submitted

  // Request.
  h2::OutboundBody body;
  bool submitted = false;
  bool above_high = false;
  bool request_end_sent = false;  // our END_STREAM went out

  // Response.
  ResponseHead head;
  HeaderMap trailers;
  size_t header_bytes = 0;
  size_t header_count = 0;
  bool final_headers = false;  // the non-1xx head was delivered
  bool response_ended = false;  // END_STREAM received
  h2::InboundHold hold;

  // Lifecycle.
  bool closed = false;     // nghttp2 closed it, or it never existed there
  bool abandoned = false;  // release() / reset(): no callback follows
  bool done = false;       // on_upstream_reset delivered
  bool remote_reset = false;
  bool lib_reset = false;  // nghttp2 reset it: malformed or oversized response
  int not_sent_error = 0;  // nghttp2 error that kept the request HEADERS from going out
  ResetReason pending_reason = ResetReason::LocalReset;
};

// ---- nghttp2 callbacks ---------------------------------------------------------

struct H2ClientCodec::Callbacks {
  static H2ClientCodec& self(void* ud) { return *static_cast<H2ClientCodec*>(ud); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (Stream* s = self(ud).find(frame->hd.stream_id)) {
      s->header_bytes = 0;
      s->header_count = 0;
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                       void* ud) {
    H2ClientCodec& c = self(ud);
    Stream* s = c.find(frame->hd.stream_id);
    if (s == nullptr || !s->live()) return 0;
    s->header_bytes += namelen + valuelen;
    if (++s->header_count > c.opts_.max_headers_count ||
        s->header_bytes > c.opts_.max_header_list_bytes) {
      c.bump(&H2ClientStats::header_overflow);
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // nghttp2 resets the stream
    }
    std::string_view n = as_view(name, namelen), v = as_view(value, valuelen);
    if (s->final_headers) {
      s->trailers.add_lower(n, v);
    } else if (n == ":status") {
      int status = 0;
      std::from_chars(v.data(), v.data() + v.size(), status);  // nghttp2 checked 3 digits
      s->head.status = status;
    } else if (n.empty() || n.front() != ':') {
      s->head.headers.add_lower(n, v);
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    H2ClientCodec& c = self(ud);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        Stream* s = c.find(frame->hd.stream_id);
        if (s == nullptr || !s->live()) return 0;
        bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        if (!s->final_headers) {
          if (s->head.status >= 100 && s->head.status < 200) {
            s->head = ResponseHead{};  // informational: the real head follows
            return 0;
          }
          s->final_headers = true;
          s->response_ended = end;
          s->cb_.on_response_headers(std::move(s->head), end);
          return 0;
        }
        s->response_ended = true;
        if (s->hold.paused || s->hold.holding()) {
          s->hold.trailers = std::move(s->trailers);
        } else {
          s->cb_.on_response_trailers(std::move(s->trailers));
        }
        return 0;
      }
      case NGHTTP2_DATA: {
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
        Stream* s = c.find(frame->hd.stream_id);
        if (s == nullptr || !s->live()) return 0;
        s->response_ended = true;
        if (s->hold.paused || s->hold.holding()) {
          s->hold.end = true;
        } else {
          s->cb_.on_response_data({}, true);
        }
        return 0;
      }
      case NGHTTP2_RST_STREAM:
        c.bump(&H2ClientStats::rx_reset);
        if (Stream* s = c.find(frame->hd.stream_id)) s->remote_reset = true;
        return 0;
      case NGHTTP2_GOAWAY: {
        c.bump(&H2ClientStats::goaway_received);
        c.goaway_received_ = true;
        // Streams the Exchange opened but has not submitted will never be accepted.
        for (auto& s : c.streams_) {
          if (!s->submitted && s->live()) c.fail_later(*s, ResetReason::RemoteReset);
        }
        return 0;
      }
      default:
        return 0;
    }
  }

  static int on_data_chunk_recv(nghttp2_session* session, uint8_t, int32_t id,
                                const uint8_t* data, size_t len, void* ud) {
    H2ClientCodec& c = self(ud);
    Stream* s = c.find(id);
    if (s == nullptr || !s->live()) {
      nghttp2_session_consume(session, id, len);
      return 0;
    }
    if (s->hold.paused || s->hold.holding()) {
      s->hold.data.append(as_view(data, len));  // credit withheld until delivered
      return 0;
    }
    nghttp2_session_consume(session, id, len);
    s->cb_.on_response_data(as_view(data, len), false);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t, void* ud) {
    H2ClientCodec& c = self(ud);
    Stream* s = c.find(id);
    if (s == nullptr) return 0;
    s->closed = true;
    if (s->live() && !s->response_ended) {
      // REFUSED_STREAM and streams above a GOAWAY's last id land here as RemoteReset:
      // the server never processed them, so the Exchange may retry.
      ResetReason reason = s->remote_reset ? ResetReason::RemoteReset
                           : s->lib_reset  ? ResetReason::ProtocolError
                           : s->not_sent_error == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED
                               ? ResetReason::RemoteReset
                           : s->not_sent_error != 0 ? ResetReason::LocalReset
                                                    : ResetReason::RemoteReset;
      s->deliver_reset(reason);
    }
    if (!s->live()) c.drop_hold(*s);
    if (s->reapable()) c.request_flush();
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    H2ClientCodec& c = self(ud);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
          if (Stream* s = c.find(frame->hd.stream_id)) s->request_end_sent = true;
        }
        return 0;
      case NGHTTP2_RST_STREAM:
        c.bump(&H2ClientStats::tx_reset);
        if (Stream* s = c.find(frame->hd.stream_id); s != nullptr && !s->abandoned) {
          s->lib_reset = true;
        }
        return 0;
      case NGHTTP2_GOAWAY:
        if (frame->goaway.error_code != NGHTTP2_NO_ERROR && !c.local_goaway_error_) {
          c.bump(&H2ClientStats::protocol_error_closes);
          c.connection_failed_ = true;
        }
        return 0;
      default:
        return 0;
    }
  }

  static int on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int lib_error,
                               void* ud) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (Stream* s = self(ud).find(frame->hd.stream_id)) s->not_sent_error = lib_error;
    return 0;
  }

  static int on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame*, int lib_error,
                                   void* ud) {
    if (lib_error == NGHTTP2_ERR_HTTP_HEADER || lib_error == NGHTTP2_ERR_HTTP_MESSAGING) {
      self(ud).bump(&H2ClientStats::rx_messaging_error);
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

void H2ClientCodec::Stream::watch_watermark() {
  if (!above_high && body.size() > codec_.opts_.watermarks.high) {
    above_high = true;
    codec_.watch_.push_back(this);
  }
}

void H2ClientCodec::Stream::send_headers(const RequestHead& request, bool end_stream) {
  if (!usable() || submitted) return;
  submitted = true;
  nghttp2_session* session = codec_.session_.get();
  std::string_view authority = request.authority;
  if (authority.empty()) authority = request.headers.get_or("host", "");

  h2::HeaderBlock block;
  block.add(":method", request.method);
  block.add(":scheme", request.scheme.empty() ? std::string_view("http") : request.scheme);
  if (!authority.empty()) block.add(":authority", authority);
  block.add(":path", request.path.empty() ? std::string_view("/") : request.path);
  block.add_regular(request.headers, "host");  // :authority carries it

  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = &Callbacks::read_body;
  if (end_stream) body.end();
  int32_t rv = nghttp2_submit_request(session, nullptr, block.data(), block.size(),
                                      end_stream ? nullptr : &provider, this);
  if (rv < 0) {
    closed = true;  // nghttp2 never opened it
    codec_.fail_later(*this, rv == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED
                                 ? ResetReason::RemoteReset
                                 : ResetReason::Overflow);
    return;
  }
  id = rv;
  codec_.bump(&H2ClientStats::streams_total);
  codec_.request_flush();
}

void H2ClientCodec::Stream::send_data(std::string_view data, bool end_stream) {
  if (!usable() || body.ended()) return;
  body.append(data);
  if (end_stream) body.end();
  if (id > 0) body.resume(codec_.session_.get(), id);
  watch_watermark();
  codec_.request_flush();
}

void H2ClientCodec::Stream::send_trailers(const HeaderMap& t) {
  if (!usable() || body.ended()) return;
  body.end(t);
  if (id > 0) body.resume(codec_.session_.get(), id);
  codec_.request_flush();
}

void H2ClientCodec::Stream::pause_response(bool paused) {
  if (hold.paused == paused) return;
  hold.paused = paused;
  if (!paused && hold.holding() && !codec_.closed_) {
    codec_.resumed_.push_back(this);
    codec_.request_flush();
  }
}

void H2ClientCodec::Stream::abandon() {
  if (abandoned) return;
  abandoned = true;
  if (codec_.closed_) {
    closed = true;
  } else {
    codec_.drop_hold(*this);
    if (id > 0 && !closed && !(response_ended && request_end_sent)) {
      // Also cancels request HEADERS nghttp2 has not sent yet. A stream that ended
      // both ways (released from inside its last callback, before nghttp2 closed
      // it) needs none: a RST_STREAM there would cost the server a reset per
      // request and trip its rapid-reset limit on a busy connection.
      nghttp2_submit_rst_stream(codec_.session_.get(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    } else if (id == 0) {
      closed = true;
    }
  }
  codec_.request_flush();
}

// ---- H2ClientCodec -------------------------------------------------------------

H2ClientCodec::H2ClientCodec(ConnectionIo& io, const H2ClientOptions& opts)
    : io_(io), opts_(opts) {
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
  nghttp2_option_set_peer_max_concurrent_streams(opt.get(), opts_.max_concurrent_streams);

  nghttp2_session* raw = nullptr;
  nghttp2_session_client_new2(&raw, cbs.get(), this, opt.get());
  session_.reset(raw);

  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, opts_.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, opts_.max_header_list_bytes},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, settings,
                          sizeof(settings) / sizeof(settings[0]));
  nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(opts_.connection_window));
}

H2ClientCodec::~H2ClientCodec() {
  closed_ = true;
  streams_.clear();
}

H2ClientCodec::Stream* H2ClientCodec::find(int32_t stream_id) {
  if (closed_) return nullptr;
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session_.get(), stream_id));
}

void H2ClientCodec::bump(uint64_t H2ClientStats::*counter) {
  ++(stats_.*counter);
  if (opts_.stats_sink != nullptr) ++(opts_.stats_sink->*counter);
}

bool H2ClientCodec::stream_ids_left() const {
  return nghttp2_session_get_next_stream_id(session_.get()) <= (1u << 31) - 1;
}

UpstreamStream* H2ClientCodec::new_stream(UpstreamCallbacks& callbacks) {
  if (!can_take_stream()) return nullptr;
  streams_.push_back(std::make_unique<Stream>(*this, callbacks));
  Stream* s = streams_.back().get();
  ready_owed_.push_back(s);
  if (connected_) request_flush();
  return s;
}

bool H2ClientCodec::can_take_stream() const {
  if (!reusable()) return false;
  uint32_t limit = std::min(opts_.max_concurrent_streams,
                            nghttp2_session_get_remote_settings(
                                session_.get(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
  return active_streams() < limit;
}

size_t H2ClientCodec::active_streams() const {
  size_t n = 0;
  for (const auto& s : streams_) n += !s->reapable();
  return n;
}

bool H2ClientCodec::reusable() const {
  return !closed_ && !goaway_received_ && !connection_failed_ && stream_ids_left();
}

void H2ClientCodec::credit(Stream& s, size_t n) {
  if (n == 0 || closed_) return;
  if (s.closed || s.id == 0) {
    nghttp2_session_consume_connection(session_.get(), n);
  } else {
    nghttp2_session_consume(session_.get(), s.id, n);
  }
}

void H2ClientCodec::drop_hold(Stream& s) {
  credit(s, s.hold.data.size());
  s.hold.clear();
}

void H2ClientCodec::deliver_held(Stream& s) {
  if (!s.live()) {
    drop_hold(s);
    return;
  }
  while (!s.hold.paused && s.hold.holding() && s.live()) {
    if (!s.hold.data.empty()) {
      std::string data = std::move(s.hold.data);
      s.hold.data.clear();
      bool end = s.hold.end && !s.hold.trailers;
      if (end) s.hold.end = false;
      credit(s, data.size());
      s.cb_.on_response_data(data, end);
    } else if (s.hold.trailers) {
      HeaderMap t = std::move(*s.hold.trailers);
      s.hold.trailers.reset();
      s.hold.end = false;
      s.cb_.on_response_trailers(std::move(t));
    } else {
      s.hold.end = false;
      s.cb_.on_response_data({}, true);
    }
  }
}

void H2ClientCodec::fail_later(Stream& s, ResetReason reason) {
  s.pending_reason = reason;
  failed_.push_back(&s);
  request_flush();
}

void H2ClientCodec::reap() {
  // Only between callbacks: a stream is never freed under a call into it.
  auto dead = [](Stream* s) { return s->reapable(); };
  if (std::none_of(streams_.begin(), streams_.end(),
                   [&](const auto& s) { return dead(s.get()); })) {
    return;
  }
  for (auto* list : {&ready_owed_, &failed_, &resumed_, &watch_}) {
    std::erase_if(*list, dead);
  }
  std::erase_if(streams_, [&](const auto& s) { return dead(s.get()); });
}

void H2ClientCodec::request_flush() {
  flush_again_ = true;
  if (!in_dispatch_ && !closed_) io_.schedule_flush();
}

void H2ClientCodec::flush() {
  if (closed_) return;
  bool outer = !in_dispatch_;
  in_dispatch_ = true;
  do {
    flush_again_ = false;
    std::vector<Stream*> failed = std::move(failed_);
    failed_.clear();
    for (Stream* s : failed) {
      if (!s->live()) continue;
      if (s->id == 0) s->closed = true;
      s->deliver_reset(s->pending_reason);
    }
    if (connected_ && !ready_owed_.empty()) {
      std::vector<Stream*> ready = std::move(ready_owed_);
      ready_owed_.clear();
      for (Stream* s : ready) {
        if (s->live() && !s->submitted) s->cb_.on_upstream_ready();
      }
    }
    std::vector<Stream*> resumed = std::move(resumed_);
    resumed_.clear();
    for (Stream* s : resumed) deliver_held(*s);
    if (connected_) {
      int rv = h2::pump_output(session_.get(), io_, opts_.connection_write_high);
      if (rv != 0) {
        bump(&H2ClientStats::protocol_error_closes);
        connection_failed_ = true;
        break;
      }
    }
    std::vector<Stream*> watched = std::move(watch_);
    watch_.clear();
    for (Stream* s : watched) {
      if (!s->usable()) continue;
      if (s->body.size() > opts_.watermarks.low) {
        watch_.push_back(s);
        continue;
      }
      s->above_high = false;
      s->cb_.on_upstream_writable();
    }
    reap();
  } while (flush_again_ && !closed_ && !connection_failed_);
  if (outer) in_dispatch_ = false;
  after_output();
}

void H2ClientCodec::after_output() {
  if (closed_) return;
  if (connection_failed_) {
    fail_connection(ResetReason::ProtocolError);
    io_.close_after_write();
    return;
  }
  if (connected_ && !close_requested_ && nghttp2_session_want_read(session_.get()) == 0 &&
      nghttp2_session_want_write(session_.get()) == 0) {
    close_requested_ = true;  // GOAWAY received and its last stream finished
    io_.close_after_write();
  }
}

void H2ClientCodec::fail_connection(ResetReason reason) {
  if (closed_) return;
  closed_ = true;
  std::vector<Stream*> owed;
  for (auto& s : streams_) {
    // A response that ended and was fully handed over needs no reset; anything
    // still owed to the Exchange (body held back while paused included) is lost.
    if (s->live() && (!s->response_ended || s->hold.holding())) owed.push_back(s.get());
  }
  for (Stream* s : owed) {
    s->hold.clear();
    s->done = true;
    s->cb_.on_upstream_reset(reason);
  }
  for (auto& s : streams_) s->closed = true;
  ready_owed_.clear();
  failed_.clear();
  resumed_.clear();
  watch_.clear();
  // Streams the Exchange has not released yet stay until it does (inert).
  std::erase_if(streams_, [](const auto& s) { return s->reapable(); });
}

void H2ClientCodec::on_connected() {
  if (connected_ || closed_) return;
  connected_ = true;
  on_tick();
}

bool H2ClientCodec::on_read(std::string_view bytes) {
  if (closed_ || connection_failed_) return false;
  in_dispatch_ = true;
  ssize_t rv = nghttp2_session_mem_recv(session_.get(),
                                        reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
  if (rv < 0) {
    local_goaway_error_ = true;
    bump(&H2ClientStats::protocol_error_closes);
    if (rv != NGHTTP2_ERR_FLOODED) {
      nghttp2_session_terminate_session(session_.get(), NGHTTP2_PROTOCOL_ERROR);
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

void H2ClientCodec::on_write_drained() { on_tick(); }

void H2ClientCodec::on_tick() {
  if (closed_) {
    // Released streams of a dead connection still need freeing.
    std::erase_if(streams_, [](const auto& s) { return s->reapable(); });
    return;
  }
  in_dispatch_ = true;
  flush();
  in_dispatch_ = false;
}

void H2ClientCodec::on_connection_closed(ResetReason reason) { fail_connection(reason); }

}  // namespace infergate::gateway
