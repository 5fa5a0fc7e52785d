#include "gateway/http/h2_session.h"

#include <string>
#include <utility>

namespace infergate::gateway::h2 {

SessionStats& SessionStats::operator+=(const SessionStats& o) {
  streams_total += o.streams_total;
  rx_reset += o.rx_reset;
  tx_reset += o.tx_reset;
  header_overflow += o.header_overflow;
  rx_messaging_error += o.rx_messaging_error;
  protocol_error_closes += o.protocol_error_closes;
  return *this;
}

// ---- nghttp2 callbacks ---------------------------------------------------------

struct Session::Callbacks {
  static Session& self(void* user_data) { return *static_cast<Session*>(user_data); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    Session& c = self(ud);
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      c.request_begins(frame->hd.stream_id);
      return 0;
    }
    if (SessionStream* s = c.find_stream(frame->hd.stream_id)) {
      // Trailers get their own size budget, as in Envoy.
      s->header_bytes = 0;
      s->header_count = 0;
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                       void* ud) {
    Session& c = self(ud);
    SessionStream* s = c.find_stream(frame->hd.stream_id);
    if (s == nullptr || !s->takes_headers()) return 0;
    s->header_bytes += namelen + valuelen;
    if (++s->header_count > c.opts_.max_headers_count ||
        s->header_bytes > c.opts_.max_header_list_bytes) {
      c.count(&SessionStats::header_overflow);
      // nghttp2 resets the stream (INTERNAL_ERROR, as Envoy does) and skips the rest
      // of the block; the connection carries on.
      s->header_overflowed();
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    std::string_view n = as_view(name, namelen), v = as_view(value, valuelen);
    if (s->head_received) {
      s->trailers.add_lower(n, v);  // nghttp2 rejects pseudo-headers in trailers
    } else {
      s->add_head_field(n, v);
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    Session& c = self(ud);
    bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        // Header callbacks skip a stream once it stops taking headers, and so does
        // this: a block nghttp2 cut short never reaches here (its documented contract).
        if (SessionStream* s = c.find_stream(frame->hd.stream_id); s != nullptr && s->takes_headers()) {
          if (s->head_received) {
            c.trailers_received(*s);
          } else {
            c.head_complete(*s, end);
          }
        }
        return 0;
      case NGHTTP2_DATA:
        if (end) {
          if (SessionStream* s = c.find_stream(frame->hd.stream_id)) {
            s->end_received = true;
            if (s->takes_inbound()) c.inbound_ended(*s);
          }
        }
        return 0;
      case NGHTTP2_RST_STREAM:
        c.count(&SessionStats::rx_reset);
        if (SessionStream* s = c.find_stream(frame->hd.stream_id)) s->remote_reset = true;
        return c.take_reset_token() ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) c.ping_acked();
        return 0;
      case NGHTTP2_GOAWAY:
        c.goaway_received();
        return 0;
      default:
        return 0;
    }
  }

  static int on_data_chunk_recv(nghttp2_session* session, uint8_t, int32_t id,
                                const uint8_t* data, size_t len, void* ud) {
    Session& c = self(ud);
    SessionStream* s = c.find_stream(id);
    if (s == nullptr || !s->takes_inbound()) {
      nghttp2_session_consume(session, id, len);  // nobody wants it: keep the window open
      return 0;
    }
    if (s->hold.paused || s->hold.holding()) {
      s->hold.data.append(as_view(data, len));  // credit withheld until delivered
      return 0;
    }
    nghttp2_session_consume(session, id, len);
    s->deliver_data(as_view(data, len), false);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t, void* ud) {
    Session& c = self(ud);
    SessionStream* s = c.find_stream(id);
    if (s == nullptr) return 0;
    s->closed = true;
    c.stream_closed(*s);
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    Session& c = self(ud);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
          if (SessionStream* s = c.find_stream(frame->hd.stream_id)) {
            s->end_sent = true;
            c.end_sent(*s);
          }
        }
        return 0;
      case NGHTTP2_RST_STREAM:
        c.count(&SessionStats::tx_reset);
        if (SessionStream* s = c.find_stream(frame->hd.stream_id); s != nullptr && !s->reset_here()) {
          s->lib_reset = true;
        }
        return 0;
      case NGHTTP2_GOAWAY: {
        uint32_t ec = frame->goaway.error_code;
        bool torn_down = ec != NGHTTP2_NO_ERROR && !c.local_goaway_error_;
        c.goaway_sent(ec, torn_down);
        if (torn_down) c.connection_failed_ = true;
        return 0;
      }
      default:
        return 0;
    }
  }

  static int on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int lib_error,
                               void* ud) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    Session& c = self(ud);
    if (SessionStream* s = c.find_stream(frame->hd.stream_id)) c.headers_not_sent(*s, lib_error);
    return 0;
  }

  static int on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame*, int lib_error,
                                   void* ud) {
    if (lib_error == NGHTTP2_ERR_HTTP_HEADER || lib_error == NGHTTP2_ERR_HTTP_MESSAGING) {
      self(ud).count(&SessionStats::rx_messaging_error);
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source* source, void*) {
    return static_cast<OutboundBody*>(source->ptr)->read(session, id, buf, length, data_flags);
  }
};

// ---- setup -------------------------------------------------------------------

Session::Session(ConnectionIo& io, const SessionOptions& opts) : io_(io), opts_(opts) {}

Session::~Session() = default;

OptionPtr Session::new_options() {
  nghttp2_option* raw = nullptr;
  nghttp2_option_new(&raw);
  OptionPtr opt(raw);
  nghttp2_option_set_no_auto_window_update(opt.get(), 1);
  nghttp2_option_set_no_closed_streams(opt.get(), 1);
  return opt;
}

void Session::open(Side side, nghttp2_option* options,
                   std::initializer_list<nghttp2_settings_entry> settings) {
  nghttp2_session_callbacks* raw_cbs = nullptr;
  nghttp2_session_callbacks_new(&raw_cbs);
  CallbacksPtr cbs(raw_cbs);
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

  nghttp2_session* raw = nullptr;
  if (side == Side::Server) {
    nghttp2_session_server_new2(&raw, cbs.get(), this, options);
  } else {
    nghttp2_session_client_new2(&raw, cbs.get(), this, options);
  }
  session_.reset(raw);
  nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, settings.begin(), settings.size());
  nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(opts_.connection_window));
}

// ---- dispatch ------------------------------------------------------------------

bool Session::receive(std::string_view bytes) {
  if (closed_ || connection_failed_) return false;
  in_dispatch_ = true;
  ssize_t rv = nghttp2_session_mem_recv(session_.get(),
                                        reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
  if (rv < 0) {
    // Fatal: the session cannot go on. Tell the peer why when it is worth it.
    local_goaway_error_ = true;
    uint32_t code = receive_failed(rv);
    if (rv != NGHTTP2_ERR_FLOODED) {  // a flooder is not reading: don't queue more
      nghttp2_session_terminate_session(session_.get(), code);
      pump_output(session_.get(), io_, opts_.connection_write_high);
    }
    in_dispatch_ = false;
    fail_connection(ResetReason::ProtocolError);
    return false;
  }
  flush();
  in_dispatch_ = false;
  return !connection_failed_;
}

void Session::tick() {
  if (closed_) {
    reap();  // released streams of a dead connection still need freeing
    return;
  }
  in_dispatch_ = true;
  flush();
  in_dispatch_ = false;
}

void Session::request_flush() {
  flush_again_ = true;
  if (!in_dispatch_ && !closed_) io_.schedule_flush();
}

void Session::flush() {
  if (closed_) return;
  bool outer = !in_dispatch_;
  in_dispatch_ = true;
  do {
    flush_again_ = false;
    run_deferred();
    std::vector<SessionStream*> resumed = std::move(resumed_);
    resumed_.clear();
    for (SessionStream* s : resumed) {
      if (closed_) break;  // a callback took the connection down: the streams are gone
      deliver_held(*s);
    }
    if (may_send()) {
      int rv = pump_output(session_.get(), io_, opts_.connection_write_high);
      if (rv != 0) {
        count(&SessionStats::protocol_error_closes);
        connection_failed_ = true;
        break;
      }
    }
    // Streams whose outbound buffer drained below the low watermark.
    std::vector<SessionStream*> watched = std::move(watch_);
    watch_.clear();
    for (SessionStream* s : watched) {
      if (closed_) break;
      if (!s->takes_writable()) continue;
      if (s->body.size() > opts_.watermarks.low) {
        watch_.push_back(s);
        continue;
      }
      s->above_high = false;
      s->deliver_writable();
    }
    reap();
  } while (flush_again_ && !closed_ && !connection_failed_);
  if (outer) in_dispatch_ = false;
  after_output();
}

void Session::after_output() {
  if (closed_) return;
  if (connection_failed_) {
    fail_connection(ResetReason::ProtocolError);
    io_.close_after_write();
    return;
  }
  if (may_send() && !close_requested_ && nghttp2_session_want_read(session_.get()) == 0 &&
      nghttp2_session_want_write(session_.get()) == 0) {
    // GOAWAY exchanged and the last stream finished, or the peer said goodbye.
    close_requested_ = true;
    io_.close_after_write();
  }
}

void Session::fail_connection(ResetReason reason) {
  if (closed_) return;
  closed_ = true;
  // Nothing runs on this session again.
  resumed_.clear();
  watch_.clear();
  fail_streams(reason);
}

void Session::forget(const SessionStream& s) {
  std::erase(resumed_, &s);
  std::erase(watch_, &s);
}

// ---- outbound ------------------------------------------------------------------

nghttp2_data_provider Session::provider(SessionStream& s) {
  nghttp2_data_provider p;
  p.source.ptr = &s.body;
  p.read_callback = &Callbacks::read_body;
  return p;
}

void Session::queue_body(SessionStream& s, std::string_view data, bool end_stream) {
  s.body.append(data);
  if (end_stream) s.body.end();
  s.body.resume(session_.get(), s.id);  // a no-op until the provider has run dry once
  watch_watermark(s);
  request_flush();
}

void Session::queue_trailers(SessionStream& s, std::optional<HeaderMap> trailers) {
  s.body.end(std::move(trailers));
  s.body.resume(session_.get(), s.id);
  request_flush();
}

void Session::watch_watermark(SessionStream& s) {
  if (!s.above_high && s.body.size() > opts_.watermarks.high) {
    s.above_high = true;
    watch_.push_back(&s);
  }
}

void Session::submit_reset(int32_t id, uint32_t error_code) {
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, id, error_code);
}

// ---- inbound -------------------------------------------------------------------

void Session::pause_inbound(SessionStream& s, bool paused) {
  if (s.hold.paused == paused) return;
  s.hold.paused = paused;
  if (!paused && s.hold.holding() && !closed_) {
    resumed_.push_back(&s);  // delivered from the next flush, never re-entrantly
    request_flush();
  }
}

void Session::credit(const SessionStream& s, size_t n) {
  if (n == 0 || closed_) return;
  if (s.closed || s.id == 0) {
    nghttp2_session_consume_connection(session_.get(), n);
  } else {
    nghttp2_session_consume(session_.get(), s.id, n);
  }
}

void Session::drop_hold(SessionStream& s) {
  credit(s, s.hold.data.size());
  s.hold.clear();
}

void Session::inbound_ended(SessionStream& s) {
  if (s.hold.paused || s.hold.holding()) {
    s.hold.end = true;
  } else {
    s.deliver_data({}, true);
  }
}

void Session::trailers_received(SessionStream& s) {
  s.end_received = true;
  if (!s.takes_inbound()) return;
  if (s.hold.paused || s.hold.holding()) {
    s.hold.trailers = std::move(s.trailers);
  } else {
    s.deliver_trailers(std::move(s.trailers));
  }
}

void Session::deliver_held(SessionStream& s) {
  if (!s.takes_inbound()) {
    drop_hold(s);
    return;
  }
  while (!s.hold.paused && s.hold.holding() && s.takes_inbound()) {
    if (!s.hold.data.empty()) {
      std::string data = std::move(s.hold.data);
      s.hold.data.clear();
      bool end = s.hold.end && !s.hold.trailers;
      if (end) s.hold.end = false;
      credit(s, data.size());
      s.deliver_data(data, end);
    } else if (s.hold.trailers) {
      HeaderMap t = std::move(*s.hold.trailers);
      s.hold.trailers.reset();
      s.hold.end = false;
      s.deliver_trailers(std::move(t));
    } else {
      s.hold.end = false;
      s.deliver_data({}, true);
    }
  }
}

}  // namespace infergate::gateway::h2
