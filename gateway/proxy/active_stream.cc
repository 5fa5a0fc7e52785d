#include "gateway/proxy/active_stream.h"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "gateway/proxy/backend_choice.h"
#include "gateway/proxy/filter_chain.h"
#include "gateway/proxy/header_policy.h"
#include "gateway/proxy/request_path.h"
#include "gateway/proxy/route_actions_apply.h"

namespace infergate::gateway {

ActiveStream::ActiveStream(WorkerContext& ctx, DownstreamStream& downstream, const ListenerInfo& listener,
                           std::shared_ptr<const DownstreamTls> tls)
    : ctx_(ctx), downstream_(downstream), listener_(listener), tls_(std::move(tls)) {
  info_.peer_address = downstream_.peer_address();
  info_.tls = tls_.get();
  info_.listener = &listener_;
}

ActiveStream::~ActiveStream() {
  if (router_) router_->detach_upstream(false);
  for (StreamFilter* f : filters_) f->on_stream_end();
  if (!finished_) {
    // Torn down by its connection (worker shutdown) before it could finish.
    finished_ = true;
    if (!state_.flags.has(ResponseFlag::DownstreamConnectionTermination)) state_.flags.set(ResponseFlag::LocalReset);
    log_and_count();
  }
}

void ActiveStream::on_request_headers(RequestHead&& head, bool end_stream) {
  state_.start = std::chrono::steady_clock::now();
  start_wall_ = std::chrono::system_clock::now();
  snapshot_ = ctx_.snapshot;
  state_.request = std::move(head);
  state_.request_complete = end_stream;
  headers_only_ = end_stream;
  ctx_.stats.downstream_rq_total.inc();
  (state_.request.version == HttpVersion::Http2 ? ctx_.stats.downstream_rq_http2_total
                                                 : ctx_.stats.downstream_rq_http1_total)
      .inc();
  ctx_.stats.downstream_rq_active.add(1);
  ++ctx_.active_requests;
  prepare_downstream_request(state_.request, info_, snapshot_.get(), ctx_);
  // Before anything reads the path: body model, authorization, rate limits, routing, upstream.
  if (auto reply = normalize_request_path(
          state_.request, snapshot_ ? &snapshot_->config->gateway.path_normalization : nullptr, ctx_.stats)) {
    send_local_reply(reply->status, reply->body, ResponseFlag::None, std::move(reply->headers));
    return;
  }
  if (!snapshot_ || !snapshot_->routes) {
    ctx_.stats.no_route.inc();
    send_local_reply(404, "", ResponseFlag::NoRouteFound);
    return;
  }
  info_.listener_key = listener_.select(state_.request.authority);
  state_.stream_idle = snapshot_->config->gateway.timeouts.stream_idle;
  state_.last_activity = state_.start;
  filters_ = FilterChain(*this);
  router_ = filters_.router();
  decode_headers_from(0);
}

void ActiveStream::decode_headers_from(size_t index) {
  stopped_ = false;
  for (size_t i = index; i < filters_.size(); ++i) {
    decoded_ = i + 1;
    const FilterStatus status = filters_[i]->decode_headers(headers_only_);
    if (finished_) return;
    if (status == FilterStatus::StopIteration) {
      stopped_ = true;
      arm_timer();
      return;
    }
  }
}

void ActiveStream::continue_decoding() {
  if (finished_ || !stopped_) return;
  decode_headers_from(decoded_);
}

// The route's backend, chosen once: by the endpoint picker filter when the pool has an
// external picker, else by the router.
bool ActiveStream::resolve_backend() {
  if (state_.backend_resolved) return state_.cluster != nullptr;
  state_.backend_resolved = true;
  return choose_backend(*this, SplitSequences{ctx_.weighted, ctx_.model_weighted});
}

void ActiveStream::on_request_data(std::string_view data, bool end_stream) {
  bytes_received_ += data.size();
  state_.last_activity = std::chrono::steady_clock::now();
  if (end_stream) state_.request_complete = true;
  if (finished_ || response_done_ || filters_.empty()) return;
  // While the chain is stopped before the router, the body is held for the filters after the
  // stop; the filters before it still see each chunk (the body model scan, the EPP's copy).
  const bool held = stopped_;
  if (held) {
    if (state_.pending_body.empty()) reserve_held_body(bytes_received_ - data.size());
    state_.pending_body.append(data);
  }
  const size_t seen = decoded_;
  bool unbounded_hold = false;
  for (size_t i = 0; i < seen; ++i) {
    const FilterDataStatus status = filters_[i]->decode_data(data, end_stream);
    if (finished_) return;
    if (status == FilterDataStatus::StopIterationAndBuffer) {
      unbounded_hold = true;  // the filter reads the body whole, within its own limit
      break;
    }
  }
  // Held bodies pause the client at the high watermark, also when the chain went on during
  // this chunk and the router now waits for its connection with the body; a filter reading
  // the body whole (the body model within maxBytes) is not paused.
  if (!held || unbounded_hold) return;
  if (state_.pending_body.size() > Watermarks{}.high) pause_request_body(true);
}

// A held body grows chunk by chunk; reserved at what is left of its declared length (within
// the high watermark, past which the client is paused anyway) it is copied once, not once per
// doubling.
void ActiveStream::reserve_held_body(uint64_t already_received) {
  const auto length = declared_content_length(state_.request.headers);
  if (!length || *length <= already_received) return;
  state_.pending_body.reserve(std::min<uint64_t>(*length - already_received, Watermarks{}.high));
}

void ActiveStream::on_request_trailers(HeaderMap&& trailers) {
  state_.request_complete = true;
  state_.request_trailers = std::move(trailers);
  state_.has_request_trailers = true;
  if (finished_ || response_done_ || filters_.empty()) return;
  const size_t seen = decoded_;
  for (size_t i = 0; i < seen; ++i) {
    if (filters_[i]->decode_trailers() == FilterStatus::StopIteration || finished_) return;
  }
}

void ActiveStream::pause_request_body(bool paused) {
  if (downstream_paused_ == paused) return;
  downstream_paused_ = paused;
  if (!downstream_gone_) downstream_.pause_request_body(paused);
}

void ActiveStream::encode_headers(ResponseHead&& head, bool end_stream) {
  if (finished_) return;
  encoding_head_ = std::move(head);
  encoding_end_ = end_stream;
  // Encoder filters run in reverse order; the router (last) produced the response.
  encode_headers_from(filters_.size() - 1);
}

void ActiveStream::encode_headers_from(size_t end) {
  for (size_t i = end; i-- > 0;) {
    if (filters_[i]->encode_headers(encoding_head_, encoding_end_) == FilterStatus::StopIteration) {
      if (finished_) return;
      encode_stopped_ = true;
      encode_stopped_at_ = i;
      router_->pause_response(true);
      return;
    }
    if (finished_) return;
  }
  send_response_head();
}

void ActiveStream::continue_encoding() {
  if (finished_ || !encode_stopped_) return;
  encode_stopped_ = false;
  encode_headers_from(encode_stopped_at_);
}

void ActiveStream::send_response_head() {
  ResponseHead head = std::move(encoding_head_);
  const bool end_stream = encoding_end_;
  start_usage(head);
  if (!head.headers.get("date")) head.headers.add_lower("date", ctx_.date.get());
  head.headers.set("server", "infergate");
  if (end_stream) response_done_ = true;
  downstream_.send_headers(std::move(head), end_stream);
  if (end_stream) {
    response_complete();
    return;
  }
  // What came while a filter held the head goes out now, in order.
  if (!held_response_data_.empty() || held_response_end_) {
    const std::string data = std::move(held_response_data_);
    held_response_data_.clear();
    encode_data(data, held_response_end_);
    if (finished_) return;
  }
  if (held_response_trailers_) {
    HeaderMap trailers = std::move(*held_response_trailers_);
    held_response_trailers_.reset();
    encode_trailers(std::move(trailers));
    return;
  }
  if (downstream_.buffered_bytes() <= Watermarks{}.high) router_->pause_response(false);
}

void ActiveStream::encode_data(std::string_view data, bool end_stream) {
  if (finished_) return;
  if (encode_stopped_) {
    held_response_data_.append(data);
    held_response_end_ = held_response_end_ || end_stream;
    return;
  }
  bytes_sent_ += data.size();
  state_.last_activity = std::chrono::steady_clock::now();
  if (!data.empty()) {
    if (first_byte_ == std::chrono::steady_clock::time_point{}) first_byte_ = state_.last_activity;
    last_byte_ = state_.last_activity;
    if (usage_) usage_->feed(data);
  }
  if (end_stream) response_done_ = true;
  downstream_.send_data(data, end_stream);
  if (end_stream) {
    response_complete();
    return;
  }
  if (downstream_.buffered_bytes() > Watermarks{}.high) router_->pause_response(true);
}

void ActiveStream::encode_trailers(HeaderMap&& trailers) {
  if (finished_) return;
  if (encode_stopped_) {
    held_response_trailers_ = std::move(trailers);
    return;
  }
  for (size_t i = filters_.size() - 1; i-- > 0;) filters_[i]->encode_trailers(trailers);
  response_done_ = true;
  downstream_.send_trailers(std::move(trailers));
  response_complete();
}

void ActiveStream::on_downstream_writable() {
  if (router_) router_->on_downstream_writable();
}

void ActiveStream::send_local_reply(int status, std::string_view body, ResponseFlag flag, HeaderMap extra) {
  if (flag != ResponseFlag::None) state_.flags.set(flag);
  abandon_upstream();
  if (downstream_gone_) {
    finish();
    return;
  }
  if (state_.response_started) {
    downstream_.reset();
    finish();
    return;
  }
  state_.response_started = true;
  state_.response_code = status;
  ResponseHead head;
  head.status = status;
  head.headers.add_lower("content-length", std::to_string(body.size()));
  if (!body.empty()) head.headers.add_lower("content-type", "text/plain");
  head.headers.add_lower("date", ctx_.date.get());
  head.headers.add_lower("server", "infergate");
  for (auto& h : extra) head.headers.set(h.name, h.value);
  // The router's replies carry the route's response headers too (Envoy's modify_headers);
  // a fault abort comes from the fault filter, before the router, and does not.
  if (state_.route && flag != ResponseFlag::FaultInjected) {
    apply_response_filters(state_.route->filters, head.headers);
    if (state_.backend) apply_response_filters(state_.backend->filters, head.headers);
  }
  bytes_sent_ += body.size();
  response_done_ = true;
  if (body.empty() || state_.request.method == "HEAD") {
    downstream_.send_headers(std::move(head), true);
  } else {
    downstream_.send_headers(std::move(head), false);
    downstream_.send_data(body, true);
  }
  finish();
}

void ActiveStream::response_complete() {
  if (timer_) timer_->cancel();
  if (router_) router_->detach_upstream(true);
  finish();
}

void ActiveStream::reset_downstream() {
  if (!downstream_gone_) downstream_.reset();
  finish();
}

void ActiveStream::abandon_upstream() {
  if (router_) router_->detach_upstream(false);
}

void ActiveStream::on_codec_reply(int status) {
  if (!state_.response_started) codec_reply_code_ = status;
}

void ActiveStream::on_downstream_reset(ResetReason reason) {
  downstream_gone_ = true;
  if (finished_) return;
  // A request the codec refused part-way (a bad chunk, an h2 violation) is Envoy's DPE,
  // not a client that went away.
  state_.flags.set(reason == ResetReason::ProtocolError ? ResponseFlag::DownstreamProtocolError
                                                        : ResponseFlag::DownstreamConnectionTermination);
  ctx_.stats.downstream_rq_rx_reset.inc();
  abandon_upstream();
  finish();
}

void ActiveStream::finish() {
  if (finished_) return;
  finished_ = true;
  // The usage is final before the filters see the end (token budgets charge it).
  if (usage_ && response_done_) usage_->finish();
  for (StreamFilter* f : filters_) f->on_stream_end();
  if (timer_) timer_->cancel();
  for (auto& t : scheduled_) t->cancel();
  alive_.reset();
  log_and_count();
  if (!downstream_gone_) downstream_.finish();
}

std::weak_ptr<ActiveStream*> ActiveStream::alive() {
  if (!alive_) alive_ = std::make_shared<ActiveStream*>(this);
  return alive_;
}

void ActiveStream::schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
  if (finished_) return;
  auto& timer = scheduled_.emplace_back(std::make_unique<boost::asio::steady_timer>(ctx_.io));
  timer->expires_after(delay);
  timer->async_wait([weak = alive(), fn = std::move(fn)](boost::system::error_code ec) {
    if (ec) return;
    if (auto p = weak.lock(); p && !(*p)->finished_) fn();
  });
  arm_timer();
}

std::function<void(std::function<void()>)> ActiveStream::poster() {
  return [&io = ctx_.io, weak = alive()](std::function<void()> fn) {
    boost::asio::post(io, [weak, fn = std::move(fn)] {
      if (auto p = weak.lock(); p && !(*p)->finished_) fn();
    });
  };
}

// One timer per stream, set to the earliest of the request deadline, the current attempt's
// deadline and the stream-idle deadline. Activity only stamps a time: a timer that fires
// early for the idle check re-arms itself, so streaming never touches it.
std::chrono::steady_clock::time_point ActiveStream::next_deadline() const {
  auto d = std::min(state_.request_deadline, state_.try_deadline);
  if (state_.stream_idle.count() > 0) d = std::min(d, state_.last_activity + state_.stream_idle);
  return d;
}

void ActiveStream::arm_timer() {
  if (finished_) return;
  const auto deadline = next_deadline();
  if (deadline == StreamState::kNever) return;
  if (!timer_) timer_.emplace(ctx_.io);
  if (timer_armed_ && timer_->expiry() <= deadline) return;
  timer_armed_ = true;
  timer_->expires_at(deadline);
  timer_->async_wait([weak = alive()](boost::system::error_code ec) {
    if (ec) return;
    if (auto p = weak.lock()) {
      (*p)->timer_armed_ = false;
      (*p)->on_timer();
    }
  });
}

void ActiveStream::on_timer() {
  if (finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now >= state_.request_deadline) {
    on_request_timeout();
  } else if (now >= state_.try_deadline) {
    router_->on_try_timeout();
  } else if (state_.stream_idle.count() > 0 && now >= state_.last_activity + state_.stream_idle) {
    on_stream_idle_timeout();
  } else {
    arm_timer();
  }
}

void ActiveStream::on_request_timeout() {
  state_.flags.set(ResponseFlag::UpstreamRequestTimeout);
  if (state_.cstats) state_.cstats->upstream_rq_timeout.inc();
  ctx_.stats.downstream_rq_timeout.inc();
  if (!state_.response_started) {
    send_local_reply(504, "upstream request timeout", ResponseFlag::None);
    return;
  }
  abandon_upstream();
  reset_downstream();
}

// Envoy's stream_idle_timeout: 408 when nothing was answered yet, else a reset.
void ActiveStream::on_stream_idle_timeout() {
  ctx_.stats.downstream_rq_idle_timeout.inc();
  if (!state_.response_started) {
    send_local_reply(408, "stream timeout", ResponseFlag::StreamIdleTimeout);
    return;
  }
  state_.flags.set(ResponseFlag::StreamIdleTimeout);
  abandon_upstream();
  reset_downstream();
}

}  // namespace infergate::gateway
