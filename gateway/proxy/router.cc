#include "gateway/proxy/router.h"

#include "gateway/control/snapshot.h"
#include "gateway/upstream/conn_pool.h"
#include "gateway/proxy/header_policy.h"
#include "gateway/proxy/route_actions_apply.h"
#include "gateway/proxy/stream_state.h"
#include "routing/route_actions.h"

namespace infergate::gateway {

namespace {

int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Router::~Router() { detach_upstream(false); }

FilterStatus Router::decode_headers(bool) {
  if (!stream_.resolve_backend()) return FilterStatus::Continue;
  const routing::Route& route = *stream_.state().route;
  if (route.retry && route.retry->attempts) max_attempts_ = 1 + *route.retry->attempts;
  start_attempt();
  return FilterStatus::Continue;
}

void Router::on_stream_end() { ended_ = true; }

FilterDataStatus Router::decode_data(std::string_view data, bool end_stream) {
  StreamState& st = stream_.state();
  if (!upstream_.is_open() || !upstream_ready_) {
    st.pending_body.append(data);
    if (st.pending_body.size() > Watermarks{}.high) stream_.pause_request_body(true);
    return FilterDataStatus::Continue;
  }
  retain(data);
  upstream_.stream()->send_data(data, end_stream);
  if (end_stream) request_sent_complete_ = true;
  watch_request_watermark();
  return FilterDataStatus::Continue;
}

FilterStatus Router::decode_trailers() {
  if (upstream_.is_open() && upstream_ready_) send_buffered_request();
  return FilterStatus::Continue;
}

void Router::watch_request_watermark() {
  if (upstream_.is_open() && upstream_.stream()->buffered_bytes() > Watermarks{}.high) {
    stream_.pause_request_body(true);
  }
}

// What was sent is kept for a replay on another endpoint until it outgrows the limit.
void Router::retain(std::string_view sent) {
  if (!retriable_) return;
  if (retained_body_.size() + sent.size() <= kRetryBufferLimit) {
    retained_body_.append(sent);
  } else {
    retriable_ = false;
    std::string().swap(retained_body_);
  }
}

void Router::start_attempt() {
  ++attempts_;
  StreamState& st = stream_.state();
  if (!choose_endpoint()) return;
  pools::EndpointState& endpoint = *st.endpoints.current();
  st.upstream_host = endpoint.key();
  upstream_ready_ = false;
  request_sent_complete_ = false;
  if (!take_attempt_slots()) {
    st.cstats->upstream_rq_pending_overflow.inc();
    stream_.send_local_reply(503, "upstream connect error or disconnect/reset before headers. reset reason: overflow",
                             ResponseFlag::UpstreamOverflow);
    return;
  }
  const pools::Cluster& cluster = *st.cluster;
  const pools::ConnectionLimits& limits = cluster.limits;
  std::optional<ConnectionBudget> budget;
  if (limits.max_connections || limits.connect_timeout)
    budget = ConnectionBudget{cluster.load, limits.max_connections, limits.connect_timeout};
  UpstreamStream* stream =
      stream_.new_upstream_stream(cluster, endpoint, *this, *st.cstats, budget ? &*budget : nullptr);
  if (!upstream_.open(stream, endpoint, *st.cstats)) {
    release_attempt_slots();
    stream_.send_local_reply(503, "upstream connect error or disconnect/reset before headers. reset reason: overflow",
                             ResponseFlag::UpstreamOverflow);
    return;
  }
  st.endpoints.attempt_started(cluster, st.flow.waited());
  st.flow.release();  // at a server now: counted there, no longer in transit
  st.upstream_start = std::chrono::steady_clock::now();
  st.try_deadline = st.route->per_try_timeout.count() > 0 ? st.upstream_start + st.route->per_try_timeout
                                                           : StreamState::kNever;
  stream_.deadlines_changed();
}

// The attempt's endpoint (pools/endpoint_choice.h). False when the request was answered: 429
// when the pool shed it, 503 when nothing can serve.
bool Router::choose_endpoint() {
  StreamState& st = stream_.state();
  // A DestinationRule consistentHash keeps a client on one endpoint; a request without the
  // hashed property is placed as if there were no hash policy (Envoy).
  pools::EndpointChoice::Request rq;
  rq.lb_draw = stream_.random();
  if (st.backend && st.backend->hash_policy) {
    if (auto h = routing::request_hash(*st.backend->hash_policy, st.request, stream_.downstream().peer_address))
      rq.lb_draw = *h;
  }
  rq.pick_draw = stream_.random();
  if (auto model = st.model()) rq.requested_model = *model;
  rq.forwarded_model = st.adapter;
  if (const std::string* objective = st.request.headers.get("x-gateway-inference-objective")) rq.objective = *objective;
  // The raw JSON of the body's "messages" / "prompt", while the held body is still here (the
  // first attempt): what prefix-cache affinity hashes.
  if (st.body_scan && st.body_scan->prompt_found() && !st.endpoints.current()) {
    const size_t begin = st.body_edits.map(st.body_scan->prompt_begin());
    const size_t end = st.body_edits.map(st.body_scan->prompt_end());
    if (end <= st.pending_body.size() && begin < end) rq.prompt = std::string_view(st.pending_body).substr(begin, end - begin);
  }
  const pools::EndpointChoice::Result r = st.endpoints.next(*st.cluster, rq, pools::steady_now_ms());
  auto count = [&](ClusterStats::PickOutcome o) {
    if (r.by_picker) st.cstats->picker_decisions[o].inc();
  };
  using Decision = pools::EndpointChoice::Decision;
  switch (r.decision) {
    case Decision::Picked: count(ClusterStats::kPicked); break;
    case Decision::Fallback: count(ClusterStats::kFallback); break;
    case Decision::Balanced: break;
    case Decision::Shed:
      count(ClusterStats::kShed);
      stream_.send_local_reply(429, "request shed: every model server of the pool is saturated",
                               ResponseFlag::RateLimited);
      return false;
    case Decision::NoEndpoint:
      count(ClusterStats::kNoEndpoint);
      st.cstats->upstream_cx_none_healthy.inc();
      stream_.send_local_reply(503, "no healthy upstream", ResponseFlag::NoHealthyUpstream);
      return false;
  }
  if (r.prefix_blocks) {
    st.cstats->picker_prefix_blocks_total.inc(r.prefix_blocks);
    st.cstats->picker_prefix_blocks_hit.inc(r.prefix_hits);
  }
  return true;
}

// The cluster's circuit breakers (DestinationRule connectionPool), shared by every worker:
// an attempt holds one active request and, until its connection is ready, one pending.
bool Router::take_attempt_slots() {
  const pools::Cluster& cluster = *stream_.state().cluster;
  pools::ClusterLoad& load = *cluster.load;
  if (!pools::ClusterLoad::try_take(load.rq_active, cluster.limits.max_requests)) return false;
  if (!pools::ClusterLoad::try_take(load.rq_pending, cluster.limits.max_pending_requests)) {
    pools::ClusterLoad::give_back(load.rq_active);
    return false;
  }
  holds_rq_ = holds_pending_ = true;
  return true;
}

void Router::release_attempt_slots() {
  const pools::Cluster* cluster = stream_.state().cluster;
  if (!cluster) return;
  pools::ClusterLoad& load = *cluster->load;
  if (holds_pending_) pools::ClusterLoad::give_back(load.rq_pending);
  if (holds_rq_) pools::ClusterLoad::give_back(load.rq_active);
  if (holds_retry_) pools::ClusterLoad::give_back(load.rq_retry);
  holds_rq_ = holds_pending_ = holds_retry_ = false;
}

void Router::on_upstream_ready() {
  StreamState& st = stream_.state();
  if (holds_pending_) {
    pools::ClusterLoad::give_back(st.cluster->load->rq_pending);
    holds_pending_ = false;
  }
  upstream_ready_ = true;
  const bool end = st.request_complete && st.pending_body.empty() && !st.has_request_trailers;
  upstream_.stream()->send_headers(st.request, end);
  if (end) {
    request_sent_complete_ = true;
    return;
  }
  send_buffered_request();
}

void Router::send_buffered_request() {
  if (!upstream_.is_open() || !upstream_ready_) return;
  StreamState& st = stream_.state();
  if (!st.pending_body.empty() || (st.request_complete && !st.has_request_trailers && !request_sent_complete_)) {
    const bool end = st.request_complete && !st.has_request_trailers;
    std::string body;
    body.swap(st.pending_body);
    retain(body);
    upstream_.stream()->send_data(body, end);
    if (!upstream_.is_open()) return;
    if (end) request_sent_complete_ = true;
  }
  if (st.request_complete && st.has_request_trailers && !request_sent_complete_) {
    upstream_.stream()->send_trailers(st.request_trailers);
    request_sent_complete_ = true;
  }
  if (upstream_.is_open() && upstream_.stream()->buffered_bytes() < Watermarks{}.low) {
    stream_.pause_request_body(false);
  }
}

void Router::on_upstream_writable() {
  stream_.pause_request_body(false);
}

void Router::on_response_headers(ResponseHead&& head, bool end_stream) {
  if (ended_) return;
  StreamState& st = stream_.state();
  st.response_started = true;
  retriable_ = false;
  std::string().swap(retained_body_);
  st.upstream_service_ms = ms_since(st.upstream_start);
  st.last_activity = std::chrono::steady_clock::now();
  st.try_deadline = StreamState::kNever;  // Envoy: the per-try timeout ends with the response headers
  st.response_code = head.status;
  st.upstream_status = head.status;
  st.cstats->count_response(head.status);
  strip_hop_by_hop(head.headers, /*keep_te_trailers=*/false);
  head.headers.set("x-envoy-upstream-service-time", std::to_string(st.upstream_service_ms));
  apply_response_filters(st.route->filters, head.headers);
  if (st.backend) apply_response_filters(st.backend->filters, head.headers);
  if (!st.session_cookie.empty()) head.headers.add_lower("set-cookie", st.session_cookie);
  st.cluster->report_result(*st.endpoints.current(), head.status < 500);
  stream_.encode_headers(std::move(head), end_stream);
}

void Router::on_response_data(std::string_view data, bool end_stream) {
  if (ended_) return;
  if (!data.empty() && first_data_) {
    first_data_ = false;
    stream_.state().endpoints.attempt_answered();
    flow_room();
  }
  stream_.encode_data(data, end_stream);
}

void Router::on_response_trailers(HeaderMap&& trailers) {
  if (ended_) return;
  stream_.encode_trailers(std::move(trailers));
}

void Router::pause_response(bool paused) {
  if (paused == upstream_paused_ || !upstream_.is_open()) return;
  upstream_paused_ = paused;
  upstream_.stream()->pause_response(paused);
}

void Router::on_downstream_writable() {
  if (upstream_paused_) pause_response(false);
}

void Router::on_upstream_reset(ResetReason reason) {
  StreamState& st = stream_.state();
  pools::EndpointState* endpoint = upstream_.endpoint();
  upstream_.on_reset();  // the codec sends no further callbacks for this stream
  release_attempt_slots();
  st.endpoints.attempt_answered();
  flow_room();
  if (ended_) return;
  if (endpoint) st.cluster->report_result(*endpoint, false);
  upstream_failed(reason);
}

// Starts another attempt when the request can be replayed and attempts remain.
bool Router::retry_on_another_endpoint() {
  StreamState& st = stream_.state();
  const pools::Cluster& cluster = *st.cluster;
  if (!retriable_ || attempts_ >= max_attempts_ || cluster.endpoints.size() <= 1) return false;
  if (!pools::ClusterLoad::try_take(cluster.load->rq_retry, cluster.limits.max_retries)) {
    st.cstats->upstream_rq_retry_overflow.inc();
    return false;
  }
  holds_retry_ = true;
  st.cstats->upstream_rq_retry.inc();
  st.pending_body.insert(0, retained_body_);
  retained_body_.clear();
  start_attempt();
  return true;
}

void Router::upstream_failed(ResetReason reason) {
  StreamState& st = stream_.state();
  switch (reason) {
    case ResetReason::ConnectFailure: st.flags.set(ResponseFlag::UpstreamConnectionFailure); break;
    case ResetReason::RemoteReset: st.flags.set(ResponseFlag::UpstreamRemoteReset); break;
    case ResetReason::ProtocolError: st.flags.set(ResponseFlag::UpstreamProtocolError); break;
    case ResetReason::Overflow: st.flags.set(ResponseFlag::UpstreamOverflow); break;
    default: st.flags.set(ResponseFlag::UpstreamConnectionTermination); break;
  }
  if (reason == ResetReason::RemoteReset) st.cstats->upstream_rq_rx_reset.inc();
  if (!st.response_started) {
    // Nothing went downstream yet: try another endpoint if the request can be replayed.
    const bool safe = reason == ResetReason::ConnectFailure || reason == ResetReason::RemoteReset ||
                      reason == ResetReason::ConnectionTermination;
    if (safe && retry_on_another_endpoint()) return;
    if (attempts_ > 1) st.flags.set(ResponseFlag::UpstreamRetryLimitExceeded);
    std::string body = "upstream connect error or disconnect/reset before headers. ";
    body += attempts_ > 1 ? "retried and the latest reset reason: " : "reset reason: ";
    body += reset_reason_name(reason);
    stream_.send_local_reply(503, body, ResponseFlag::None);
    return;
  }
  // Mid-response: the client must learn the response is truncated.
  stream_.reset_downstream();
}

void Router::detach_upstream(bool success) {
  // The circuit-breaker slots go back even without an open stream: a retry refused by a limit
  // holds its retry slot and has no stream (kept, the cluster would never retry again).
  release_attempt_slots();
  if (!upstream_.is_open()) return;
  StreamState& st = stream_.state();
  st.endpoints.attempt_answered();
  if (!success) st.cstats->upstream_rq_tx_reset.inc();
  upstream_.close(success);
  flow_room();
}

// A server may have room now (an attempt ended or started answering): requests waiting in
// the pool's flow-control queue go on as far as it allows.
void Router::flow_room() {
  const pools::Cluster* cluster = stream_.state().cluster;
  if (cluster && cluster->flow)
    cluster->flow->queue->capacity_changed(*cluster->flow, cluster->endpoints, pools::steady_now_ms());
}

// The attempt took too long before its response headers: reset it and, as Envoy does when
// retries allow, try another endpoint; else 504 like a request timeout.
void Router::on_try_timeout() {
  StreamState& st = stream_.state();
  st.try_deadline = StreamState::kNever;
  st.cstats->upstream_rq_per_try_timeout.inc();
  if (pools::EndpointState* endpoint = st.endpoints.current()) st.cluster->report_result(*endpoint, false);
  detach_upstream(false);
  if (retry_on_another_endpoint()) return;
  st.flags.set(ResponseFlag::UpstreamRequestTimeout);
  if (attempts_ > 1) st.flags.set(ResponseFlag::UpstreamRetryLimitExceeded);
  stream_.send_local_reply(504, "upstream request timeout", ResponseFlag::None);
}

}  // namespace infergate::gateway
