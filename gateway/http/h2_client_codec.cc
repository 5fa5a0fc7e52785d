#include "gateway/http/h2_client_codec.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>

namespace infergate::gateway {

H2ClientStats& H2ClientStats::operator+=(const H2ClientStats& o) {
  h2::SessionStats::operator+=(o);
  goaway_received += o.goaway_received;
  return *this;
}

// One request/response exchange with the upstream.
class H2ClientCodec::Stream final : public UpstreamStream, public h2::SessionStream {
 public:
  Stream(H2ClientCodec& codec, UpstreamCallbacks& cb) : codec_(codec), cb_(cb) {}
  ~Stream() override { codec_.forget(*this); }

  // UpstreamStream.
  void send_headers(const RequestHead& head, bool end_stream) override;
  void send_data(std::string_view data, bool end_stream) override;
  void send_trailers(const HeaderMap& trailers) override;
  void reset() override { abandon(); }
  size_t buffered_bytes() const override { return body.size(); }
  void pause_response(bool paused) override { codec_.pause_inbound(*this, paused); }
  // For HTTP/2 there is nothing to pool: the stream is simply done. Should the
  // server have answered before our upload finished, the upload is cancelled.
  void release() override { abandon(); }

  // h2::SessionStream.
  bool takes_headers() const override { return live(); }
  void add_head_field(std::string_view name, std::string_view value) override;
  bool takes_inbound() const override { return live(); }
  void deliver_data(std::string_view data, bool end) override { cb_.on_response_data(data, end); }
  void deliver_trailers(HeaderMap&& t) override { cb_.on_response_trailers(std::move(t)); }
  bool takes_writable() const override { return usable(); }
  void deliver_writable() override { cb_.on_upstream_writable(); }
  bool reset_here() const override { return abandoned; }

  // The Exchange still listens: callbacks may be delivered.
  bool live() const { return !abandoned && !done; }
  bool usable() const { return live() && !codec_.closed_; }
  bool reapable() const { return closed && (abandoned || done); }
  void abandon();
  void deliver_reset(ResetReason reason) {
    done = true;
    codec_.drop_hold(*this);
    cb_.on_upstream_reset(reason);
  }

  H2ClientCodec& codec_;
  UpstreamCallbacks& cb_;

  bool submitted = false;  // the request HEADERS were handed to nghttp2
  ResponseHead head;       // being received (head_received: delivered)

  // Lifecycle.
  bool abandoned = false;  // release() / reset(): no callback follows
  bool done = false;       // on_upstream_reset delivered
  int not_sent_error = 0;  // nghttp2 error that kept the request HEADERS from going out
  ResetReason pending_reason = ResetReason::LocalReset;
};

void H2ClientCodec::Stream::add_head_field(std::string_view n, std::string_view v) {
  if (n == ":status") {
    int status = 0;
    std::from_chars(v.data(), v.data() + v.size(), status);  // nghttp2 checked 3 digits
    head.status = status;
  } else if (n.empty() || n.front() != ':') {
    head.headers.add_lower(n, v);
  }
}

void H2ClientCodec::Stream::send_headers(const RequestHead& request, bool end_stream) {
  if (!usable() || submitted) return;
  submitted = true;
  std::string_view authority = request.authority;
  if (authority.empty()) authority = request.headers.get_or("host", "");

  h2::HeaderBlock block;
  block.add(":method", request.method);
  block.add(":scheme", request.scheme.empty() ? std::string_view("http") : request.scheme);
  if (!authority.empty()) block.add(":authority", authority);
  block.add(":path", request.path.empty() ? std::string_view("/") : request.path);
  block.add_regular(request.headers, "host");  // :authority carries it

  nghttp2_data_provider provider = codec_.provider(*this);
  if (end_stream) body.end();
  int32_t rv = nghttp2_submit_request(codec_.session(), nullptr, block.data(), block.size(),
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
  codec_.queue_body(*this, data, end_stream);
}

void H2ClientCodec::Stream::send_trailers(const HeaderMap& t) {
  if (!usable() || body.ended()) return;
  codec_.queue_trailers(*this, t);
}

void H2ClientCodec::Stream::abandon() {
  if (abandoned) return;
  abandoned = true;
  if (codec_.closed_) {
    closed = true;
  } else {
    codec_.drop_hold(*this);
    if (id > 0 && !closed && !(end_received && end_sent)) {
      // Also cancels request HEADERS nghttp2 has not sent yet. A stream that ended
      // both ways (released from inside its last callback, before nghttp2 closed
      // it) needs none: a RST_STREAM there would cost the server a reset per
      // request and trip its rapid-reset limit on a busy connection.
      codec_.submit_reset(id, NGHTTP2_CANCEL);
    } else if (id == 0) {
      closed = true;
    }
  }
  codec_.request_flush();
}

// ---- h2::Session hooks -------------------------------------------------------------

void H2ClientCodec::goaway_received() {
  bump(&H2ClientStats::goaway_received);
  goaway_received_ = true;
  // Streams the Exchange opened but has not submitted will never be accepted.
  for (auto& s : streams_) {
    if (!s->submitted && s->live()) fail_later(*s, ResetReason::RemoteReset);
  }
}

void H2ClientCodec::head_complete(h2::SessionStream& ss, bool end_stream) {
  auto& s = static_cast<Stream&>(ss);
  if (s.head.status >= 100 && s.head.status < 200) {
    s.head = ResponseHead{};  // informational: the real head follows
    return;
  }
  s.head_received = true;
  s.end_received = end_stream;
  s.cb_.on_response_headers(std::move(s.head), end_stream);
}

void H2ClientCodec::stream_closed(h2::SessionStream& ss) {
  auto& s = static_cast<Stream&>(ss);
  if (s.live() && !s.end_received) {
    // REFUSED_STREAM and streams above a GOAWAY's last id land here as RemoteReset:
    // the server never processed them, so the Exchange may retry.
    ResetReason reason = s.remote_reset ? ResetReason::RemoteReset
                         : s.lib_reset  ? ResetReason::ProtocolError
                         : s.not_sent_error == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED
                             ? ResetReason::RemoteReset
                         : s.not_sent_error != 0 ? ResetReason::LocalReset
                                                 : ResetReason::RemoteReset;
    s.deliver_reset(reason);
  }
  if (!s.live()) drop_hold(s);
  if (s.reapable()) request_flush();
}

void H2ClientCodec::headers_not_sent(h2::SessionStream& s, int lib_error) {
  static_cast<Stream&>(s).not_sent_error = lib_error;
}

void H2ClientCodec::goaway_sent(uint32_t, bool torn_down) {
  if (torn_down) bump(&H2ClientStats::protocol_error_closes);
}

uint32_t H2ClientCodec::receive_failed(ssize_t) {
  bump(&H2ClientStats::protocol_error_closes);
  return NGHTTP2_PROTOCOL_ERROR;
}

void H2ClientCodec::fail_later(Stream& s, ResetReason reason) {
  s.pending_reason = reason;
  failed_.push_back(&s);
  request_flush();
}

void H2ClientCodec::run_deferred() {
  std::vector<Stream*> failed = std::move(failed_);
  failed_.clear();
  for (Stream* s : failed) {
    if (closed_) return;  // a callback took the connection down: the streams are gone
    if (!s->live()) continue;
    if (s->id == 0) s->closed = true;
    s->deliver_reset(s->pending_reason);
  }
  if (connected_ && !ready_owed_.empty()) {
    std::vector<Stream*> ready = std::move(ready_owed_);
    ready_owed_.clear();
    for (Stream* s : ready) {
      if (closed_) return;
      if (s->live() && !s->submitted) s->cb_.on_upstream_ready();
    }
  }
}

void H2ClientCodec::reap() {
  // Only between callbacks: a stream is never freed under a call into it.
  auto dead = [](Stream* s) { return s->reapable(); };
  if (std::none_of(streams_.begin(), streams_.end(),
                   [&](const auto& s) { return dead(s.get()); })) {
    return;
  }
  for (auto* list : {&ready_owed_, &failed_}) std::erase_if(*list, dead);
  std::erase_if(streams_, [&](const auto& s) { return dead(s.get()); });
}

void H2ClientCodec::fail_streams(ResetReason reason) {
  std::vector<Stream*> owed;
  for (auto& s : streams_) {
    // A response that ended and was fully handed over needs no reset; anything
    // still owed to the Exchange (body held back while paused included) is lost.
    if (s->live() && (!s->end_received || s->hold.holding())) owed.push_back(s.get());
  }
  for (Stream* s : owed) {
    s->hold.clear();
    s->done = true;
    s->cb_.on_upstream_reset(reason);
  }
  for (auto& s : streams_) s->closed = true;
  ready_owed_.clear();
  failed_.clear();
  // Streams the Exchange has not released yet stay until it does (inert).
  reap();
}

// ---- H2ClientCodec -------------------------------------------------------------

H2ClientCodec::H2ClientCodec(ConnectionIo& io, const H2ClientOptions& opts)
    : h2::Session(io, opts), opts_(opts) {
  h2::OptionPtr opt = new_options();
  nghttp2_option_set_peer_max_concurrent_streams(opt.get(), opts_.max_concurrent_streams);
  open(Side::Client, opt.get(),
       {
           {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
           {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, opts_.initial_stream_window},
           {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, opts_.max_header_list_bytes},
           {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
       });
}

H2ClientCodec::~H2ClientCodec() {
  closed_ = true;
  streams_.clear();
}

H2ClientCodec::Stream* H2ClientCodec::find(int32_t stream_id) {
  if (closed_) return nullptr;
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session(), stream_id));
}

h2::SessionStream* H2ClientCodec::find_stream(int32_t id) { return find(id); }

void H2ClientCodec::bump(uint64_t H2ClientStats::*counter) {
  ++(stats_.*counter);
  if (opts_.stats_sink != nullptr) ++(opts_.stats_sink->*counter);
}

bool H2ClientCodec::stream_ids_left() const {
  return nghttp2_session_get_next_stream_id(session()) <= (1u << 31) - 1;
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
                                session(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
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

void H2ClientCodec::on_connected() {
  if (connected_ || closed_) return;
  connected_ = true;
  tick();
}

}  // namespace infergate::gateway
