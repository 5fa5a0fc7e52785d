#include "gateway/proxy/exchange.h"

#include "tls/xfcc.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>

#include "gateway/proxy/header_policy.h"
#include "gateway/proxy/request_path.h"
#include "routing/route_actions.h"

namespace infergate::gateway {

namespace {

// Request bodies up to this size are kept until the first response byte so that a
// failed attempt can be replayed on another endpoint; larger bodies are not retried.
constexpr size_t kRetryBufferLimit = 64 * 1024;

int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Exchange::Exchange(WorkerContext& ctx, DownstreamStream& downstream, const ListenerInfo& listener,
                   std::shared_ptr<const DownstreamTls> tls)
    : ctx_(ctx), downstream_(downstream), listener_(listener), tls_(std::move(tls)) {}

Exchange::~Exchange() {
  release_prefill();
  if (upstream_) {
    UpstreamStream* u = upstream_;
    upstream_ = nullptr;
    release_attempt_slots();
    u->reset();
  }
  end_mirrors();
  if (!finished_) {
    // Torn down by its connection (worker shutdown) before it could finish.
    finished_ = true;
    if (!flags_.has(ResponseFlag::DownstreamConnectionTermination)) flags_.set(ResponseFlag::LocalReset);
    log_and_count();
  }
}

void Exchange::on_request_headers(RequestHead&& head, bool end_stream) {
  start_ = std::chrono::steady_clock::now();
  start_wall_ = std::chrono::system_clock::now();
  snapshot_ = ctx_.snapshot;
  request_ = std::move(head);
  request_complete_ = end_stream;
  ctx_.stats.downstream_rq_total.inc();
  (request_.version == HttpVersion::Http2 ? ctx_.stats.downstream_rq_http2_total : ctx_.stats.downstream_rq_http1_total)
      .inc();
  ctx_.stats.downstream_rq_active.add(1);
  ++ctx_.active_requests;
  prepare_request_headers();
  // Before anything reads the path: body model, authorization, rate limits, routing, upstream.
  if (auto reply = normalize_request_path(request_, snapshot_ ? &snapshot_->config->gateway.path_normalization : nullptr,
                                          ctx_.stats)) {
    local_reply(reply->status, reply->body, ResponseFlag::None, std::move(reply->headers));
    return;
  }
  if (wants_body_model(end_stream)) {
    awaiting_body_model_ = true;
    body_scan_.emplace();
    stream_idle_ = snapshot_->config->gateway.timeouts.stream_idle;
    last_activity_ = start_;
    arm_timer();
    return;
  }
  route_request();
}

// Bodies that can be JSON: what OpenAI-style APIs take. gRPC and multipart uploads stream
// on at once, never held.
bool Exchange::wants_body_model(bool end_stream) const {
  if (end_stream || !snapshot_ || !snapshot_->config->gateway.body_routing.enabled) return false;
  const std::string& m = request_.method;
  if (m != "POST" && m != "PUT" && m != "PATCH") return false;
  if (const std::string* ct = request_.headers.get("content-type")) {
    std::string_view type = *ct;
    type = type.substr(0, type.find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
    auto is = [&](std::string_view prefix) {  // case-insensitive, as media types are
      return type.size() >= prefix.size() && iequals(type.substr(0, prefix.size()), prefix);
    };
    // A "+json" type (application/grpc+json among them) is JSON to the model server's framework
    // (FastAPI reads any */*+json body as JSON), so it is read here too.
    const bool json = type.size() >= 5 && iequals(type.substr(type.size() - 5), "+json");
    if (!json && (is("application/grpc") || is("multipart/"))) return false;
  }
  return true;
}

void Exchange::scan_body(std::string_view data) {
  const auto state = body_scan_->feed(data);
  if (state != routing::ModelFieldScanner::State::Scanning || request_complete_ ||
      pending_body_.size() >= snapshot_->config->gateway.body_routing.max_bytes)
    body_model_ready();
}

// The model is known (or cannot be): expose it to route matching, then route.
void Exchange::body_model_ready() {
  awaiting_body_model_ = false;
  using State = routing::ModelFieldScanner::State;
  if (request_complete_) body_scan_->finish();
  const State state = body_scan_->state();
  count_duplicate_model();
  if (state == State::Conflict) return refuse_model_conflict();
  if (state == State::Invalid && routing::python_reads_as_utf16_or_32(pending_body_)) {
    // JSON the model server would decode and read a model from, the gateway cannot: refused
    // rather than routed as naming none.
    ctx_.stats.body_unsupported_encoding.inc();
    return local_reply(415, "request body is JSON in UTF-16 or UTF-32; the gateway reads request bodies as UTF-8: "
                            "send UTF-8\n", ResponseFlag::None);
  }
  if (body_scan_->found()) {
    request_.headers.set("x-gateway-model-name", body_scan_->model());
    ctx_.stats.count(state == State::Scanning ? BodyModelResult::TooLarge : BodyModelResult::Found);
  } else {
    ctx_.stats.count(state == State::Complete   ? BodyModelResult::Absent
                     : state == State::Scanning ? BodyModelResult::TooLarge
                                                : BodyModelResult::NotJson);
  }
  if (state == State::Scanning) {
    // The object did not end within maxBytes: the gateway acts on what it read and the rest
    // streams on, still read (on_request_data) so that a later "model" cannot make the server
    // serve a model the gateway did not route. The body is never held whole.
    body_scan_->lock();
  } else if (!body_scan_->found()) {
    body_scan_.reset();
  }
  route_request();
}

void Exchange::count_duplicate_model() {
  if (duplicate_model_counted_ || !body_scan_ || body_scan_->model_keys() < 2) return;
  duplicate_model_counted_ = true;
  ctx_.stats.duplicate_model.inc();
}

// The model server would serve a model other than the one routed on, rewritten and counted:
// the request ends here, before its body does upstream, so the server never completes it.
void Exchange::refuse_model_conflict() {
  ctx_.stats.model_conflict.inc();
  const bool too_many = body_scan_->model_keys() > routing::ModelFieldScanner::kMaxModelKeys;
  local_reply(400,
              too_many ? "request body has too many top-level \"model\" keys\n"
                       : "request body names a \"model\" after the part the gateway routed on (the first "
                         "bodyRouting.maxBytes of the body) that differs from the one it routed on; name the model "
                         "once, before the messages\n",
              ResponseFlag::None);
}

// Envoy keeps x-envoy-* only from trusted (internal) clients; X-Gateway-Model-Name is ours in
// the same way. Trusted: a front proxy's mTLS principal named in bodyRouting.
bool Exchange::trusts_model_header() const {
  if (!snapshot_ || !tls_ || !tls_->peer) return false;
  for (const std::string& p : snapshot_->config->gateway.body_routing.trusted_model_header_principals)
    if (p == "*" || p == tls_->peer->principal) return true;
  return false;
}

// InferenceModel targetModels / InferenceModelRewrite: the pool serves the model under another
// name (a LoRA adapter version, an alias). The body is still all here, so the value is
// replaced in place and Content-Length follows.
// Every top-level "model" is replaced, not only the one routed on: the server reads the last
// and a client may write several. Nothing has gone upstream yet, so pending_body_ starts at the
// body's first byte.
void Exchange::rewrite_model() {
  if (!body_scan_ || !body_scan_->found() || !snapshot_->models || snapshot_->models->empty()) return;
  auto target = snapshot_->models->rewrite(cluster_->name, body_scan_->model(), ctx_.model_weighted.next());
  if (!target || *target == body_scan_->model()) return;
  if (!body_edits_.replace(pending_body_, body_scan_->model_values(), routing::json_quote(*target))) return;
  // A body still streaming in: any later "model" would reach the server unrewritten.
  if (body_scan_->locked()) body_scan_->lock(/*strict=*/true);
  adapter_ = *target;
  if (const std::string* cl = request_.headers.get("content-length")) {
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), n);
    const ptrdiff_t change = body_edits_.size_change();
    // A declared length the edit would overflow (or make negative) is left alone: the body
    // cannot be that long, and the stream fails on its own.
    if (ec == std::errc() && ptr == cl->data() + cl->size() && n + std::min<ptrdiff_t>(change, 0) >= 0 &&
        (change <= 0 || n <= INT64_MAX - change))
      request_.headers.set("content-length", std::to_string(n + change));
  }
  ctx_.stats.model_rewritten.inc();
}

void Exchange::prepare_request_headers() {
  strip_hop_by_hop(request_.headers, /*keep_te_trailers=*/true);
  if (request_.headers.get("x-gateway-model-name") && !trusts_model_header())
    request_.headers.remove("x-gateway-model-name");
  append_forwarded_for(request_.headers, downstream_.peer_address());
  request_.headers.set("x-forwarded-proto", tls_ ? "https" : "http");
  apply_forward_client_cert();
  ensure_request_id(request_.headers, ctx_);
  if (request_.authority.empty()) {
    if (const std::string* host = request_.headers.get("host")) request_.authority = *host;
  }
  request_.headers.remove("host");
}

// Istio AuthorizationPolicy, as Envoy's RBAC filter enforces it: before routing, on the
// client's SPIFFE principal, address and the request; a denial is Envoy's 403.
bool Exchange::authorized() {
  const routing::AuthorizationEngine* engine = snapshot_->authz.get();
  if (!engine || engine->empty()) return true;
  routing::AuthzRequest rq;
  rq.principal = tls_ && tls_->peer ? std::string_view(tls_->peer->principal) : std::string_view();
  rq.source_ip = downstream_.peer_address();
  rq.authority = request_.authority;
  rq.method = request_.method;
  rq.path = request_.path_only();
  rq.port = listener_.port;
  rq.sni = tls_ ? std::string_view(tls_->sni) : std::string_view();
  rq.headers = &request_.headers;
  // The listener key is "<gateway ns>/<gateway name>/<listener>" (config::Listener::key).
  const std::string_view key = listener_.select(request_.authority);
  const size_t a = key.find('/'), b = a == std::string_view::npos ? a : key.find('/', a + 1);
  if (b != std::string_view::npos) {
    rq.gateway_ns = key.substr(0, a);
    rq.gateway_name = key.substr(a + 1, b - a - 1);
  }
  const routing::AuthzDecision d = engine->evaluate(rq);
  for (size_t i = 0; i < d.audit_count; ++i) snapshot_->authz_stats[d.audit[i]][2].inc();
  if (d.allowed) {
    ctx_.security.rbac_allowed.inc();
    if (d.deciding_policy >= 0) snapshot_->authz_stats[static_cast<size_t>(d.deciding_policy)][0].inc();
    return true;
  }
  ctx_.security.rbac_denied.inc();
  if (d.deciding_policy >= 0) snapshot_->authz_stats[static_cast<size_t>(d.deciding_policy)][1].inc();
  else snapshot_->authz_none_denied.inc();
  // Envoy sets no response flag for RBAC denials (the details say rbac_access_denied).
  local_reply(403, "RBAC: access denied", ResponseFlag::None);
  return false;
}

// Envoy's local_ratelimit filter, policies from GatewayConfig spec.localRateLimits: each
// matching policy takes a token; an empty bucket answers 429 with x-envoy-ratelimited.
bool Exchange::rate_limited() {
  routing::LocalRateLimiter* limiter = snapshot_->rate_limiter.get();
  if (!limiter || limiter->empty()) return false;
  routing::RateLimitRequest rq;
  rq.route_name = route_->name;
  rq.route_ns = route_->route_ns;
  rq.route_resource = route_->route_name;
  rq.authority = request_.authority;
  rq.path = request_.path_only();
  rq.method = request_.method;
  rq.principal = tls_ && tls_->peer ? std::string_view(tls_->peer->principal) : std::string_view();
  rq.source_ip = downstream_.peer_address();
  rq.headers = &request_.headers;
  const routing::RateLimitResult r = limiter->check(rq, last_activity_);
  for (size_t i = 0; i < snapshot_->rate_limit_stats.size() && i < 64; ++i) {
    const uint64_t bit = uint64_t{1} << i;
    if (r.allowed & bit) snapshot_->rate_limit_stats[i][0].inc();
    if (r.refused & bit) snapshot_->rate_limit_stats[i][limiter->policy(i).enforce ? 1 : 2].inc();
  }
  if (r.send_headers) {
    // IETF draft-polli-ratelimit-headers-03, as Envoy's enable_x_ratelimit_headers writes them.
    rate_limit_headers_.add_lower("x-ratelimit-limit", std::to_string(r.limit));
    rate_limit_headers_.add_lower("x-ratelimit-remaining", std::to_string(r.remaining));
    rate_limit_headers_.add_lower("x-ratelimit-reset", std::to_string(r.reset_seconds));
  }
  if (!r.limited) return false;
  HeaderMap extra = rate_limit_headers_;
  extra.add_lower("x-envoy-ratelimited", "true");
  local_reply(429, "local_rate_limited", ResponseFlag::RateLimited, std::move(extra));
  return true;
}

// Envoy's forward_client_cert_details: what the model server learns about the client's
// certificate, and never a header the client wrote itself unless the mode trusts it.
void Exchange::apply_forward_client_cert() {
  if (!snapshot_) return;
  const config::ForwardClientCertConfig& f = snapshot_->config->gateway.forward_client_cert;
  static constexpr std::string_view kXfcc = "x-forwarded-client-cert";
  const std::string* incoming = request_.headers.get(kXfcc);
  const tls::PeerCertificate* peer = tls_ ? tls_->peer.get() : nullptr;
  if (!incoming && !peer) return;
  const tls::XfccFields fields{f.subject, f.cert, f.chain, f.dns, f.uri};
  tls::XfccMode mode = tls::XfccMode::Sanitize;
  switch (f.mode) {
    case config::ForwardClientCert::Sanitize: mode = tls::XfccMode::Sanitize; break;
    case config::ForwardClientCert::ForwardOnly: mode = tls::XfccMode::ForwardOnly; break;
    case config::ForwardClientCert::AppendForward: mode = tls::XfccMode::AppendForward; break;
    case config::ForwardClientCert::SanitizeSet: mode = tls::XfccMode::SanitizeSet; break;
    case config::ForwardClientCert::AlwaysForwardOnly: mode = tls::XfccMode::AlwaysForwardOnly; break;
  }
  std::optional<std::string_view> in;
  if (incoming) in = *incoming;
  std::optional<std::string> out = tls::forward_client_cert(mode, fields, in, peer, tls_ ? tls_->local_uri : "");
  if (out) request_.headers.set(kXfcc, *out);
  else request_.headers.remove(kXfcc);
}

void Exchange::route_request() {
  if (!snapshot_ || !snapshot_->routes) {
    ctx_.stats.no_route.inc();
    local_reply(404, "", ResponseFlag::NoRouteFound);
    return;
  }
  if (!authorized()) return;
  const routing::RouteMatch m = snapshot_->routes->match_detail(request_, listener_.select(request_.authority));
  route_ = m.route;
  matched_prefix_ = m.path_prefix;
  if (!route_) {
    ctx_.stats.no_route.inc();
    local_reply(404, "", ResponseFlag::NoRouteFound);
    return;
  }
  stream_idle_ = snapshot_->config->gateway.timeouts.stream_idle;
  last_activity_ = std::chrono::steady_clock::now();
  if (rate_limited()) return;
  // Envoy's router answers direct-response and redirect routes itself, before any backend.
  if (auto reply = route_reply(*route_, request_, listener_.port, matched_prefix_)) {
    local_reply(reply->status, reply->body, ResponseFlag::None, std::move(reply->headers));
    return;
  }
  // Envoy's fault filter runs before the router: a delay, then an abort, each drawn alone.
  if (route_->fault) {
    const uint64_t delay_draw = ctx_.random();
    fault_ = decide_fault(*route_->fault, delay_draw, ctx_.random());
    if (fault_.delay.count() > 0) {
      start_fault_delay();
      return;
    }
  }
  after_fault_delay();
}

// The delay waits on a timer, so the worker keeps serving other streams meanwhile. The
// stream-idle timeout still applies; the route's request timeout starts after it, as
// Envoy's router only starts its timer when the fault filter lets the request through.
void Exchange::start_fault_delay() {
  flags_.set(ResponseFlag::DelayInjected);
  if (!alive_) alive_ = std::make_shared<Exchange*>(this);
  fault_timer_.emplace(ctx_.io);
  fault_timer_->expires_after(fault_.delay);
  fault_timer_->async_wait([weak = std::weak_ptr<Exchange*>(alive_)](boost::system::error_code ec) {
    if (ec) return;
    if (auto p = weak.lock()) {
      if (!(*p)->finished_) (*p)->after_fault_delay();
    }
  });
  arm_timer();
}

void Exchange::after_fault_delay() {
  if (fault_.abort_status) {
    local_reply(fault_.abort_status, "fault filter abort", ResponseFlag::FaultInjected);
    return;
  }
  if (!fault_.abort_grpc_status.empty()) {
    // A gRPC abort is a trailers-only gRPC answer: HTTP 200 with the status in headers.
    HeaderMap grpc;
    grpc.add_lower("content-type", "application/grpc");
    grpc.add_lower("grpc-status", std::to_string(grpc_status_code(fault_.abort_grpc_status)));
    grpc.add_lower("grpc-message", "fault filter abort");
    local_reply(200, "", ResponseFlag::FaultInjected, std::move(grpc));
    return;
  }
  choose_backend();
}

void Exchange::choose_backend() {
  uint64_t draw = 0;
  size_t backend = routing::Route::npos;
  if (const auto& hc = route_->header_canary) {
    if (const std::string* v = request_.headers.get(hc->header); v && *v == hc->value) backend = hc->backend;
  }
  if (backend != routing::Route::npos) {
    // A Rollout's canaryHeader: the canary, whatever the weights (no session is started).
  } else if (auto position = route_->session ? route_->session->position(request_) : std::nullopt) {
    draw = *position;
  } else {
    draw = ctx_.weighted.next();
    if (route_->session && route_->session->key == routing::SessionAffinity::Key::Cookie)
      session_cookie_ = route_->session->set_cookie(draw);
  }
  if (backend == routing::Route::npos) backend = route_->pick_backend(draw);
  if (backend == routing::Route::npos) {
    // Gateway API: a rule whose backends all weigh 0 (or cannot be resolved) answers 500.
    local_reply(500, "", ResponseFlag::NoClusterFound);
    return;
  }
  cluster_ = snapshot_->clusters->find(route_->backends[backend].cluster);
  if (!cluster_) {
    ctx_.stats.no_cluster.inc();
    local_reply(500, "", ResponseFlag::NoClusterFound);
    return;
  }
  backend_ = &route_->backends[backend];
  cstats_ = snapshot_->stats_for(cluster_);
  rewrite_model();
  if (snapshot_->version_stats) {
    std::optional<std::string_view> model;
    if (body_scan_ && body_scan_->found()) model = body_scan_->model();
    vstats_ = snapshot_->version_stats->find(backend_, model, adapter_);
    if (vstats_.objective) vstats_.objective->running.add(1);
  }
  if (route_->retry && route_->retry->attempts) max_attempts_ = 1 + *route_->retry->attempts;
  if (route_->request_timeout.count() > 0)
    request_deadline_ = std::chrono::steady_clock::now() + route_->request_timeout;
  apply_request_actions();
  start_mirrors();
  if (start_epp()) return;
  start_attempt();
}

// Envoy shadows the request as the router forwards it (route header changes and rewrites
// applied); each mirror draws its own percentage.
void Exchange::start_mirrors() {
  for (const routing::Mirror& m : route_->mirrors) {
    if (!routing::fraction_hit(m.per_million, ctx_.random())) continue;
    const pools::Cluster* c = snapshot_->clusters->find(m.cluster);
    if (!c) continue;
    const bool end = request_complete_ && !has_request_trailers_;
    auto copy = MirrorStream::start(ctx_, snapshot_, *c, request_, end && pending_body_.empty());
    if (!copy) continue;
    if (!pending_body_.empty()) copy->send_data(pending_body_, end);
    if (request_complete_ && has_request_trailers_) copy->send_trailers(request_trailers_);
    mirrors_.push_back(std::move(copy));
  }
}

void Exchange::end_mirrors() {
  for (auto& m : mirrors_) m->abandon();
  mirrors_.clear();
}

// Once per request (retries resend the result): the route's filters, then the chosen
// backend's, then a VirtualService path rewrite. Like Envoy, a rewritten path leaves the
// original in x-envoy-original-path.
void Exchange::apply_request_actions() {
  const std::string before = request_.path;
  bool path_changed = apply_request_filters(route_->filters, request_, matched_prefix_);
  path_changed |= apply_request_filters(backend_->filters, request_, matched_prefix_);
  if (route_->path_rewrite) {
    request_.path = route_->path_rewrite->apply(request_.path);
    path_changed = true;
  }
  if (path_changed && request_.path != before) {
    original_path_ = before;
    request_.headers.set("x-envoy-original-path", before);
  }
}

void Exchange::start_attempt() {
  ++attempts_;
  // A DestinationRule consistentHash keeps a client on one endpoint; a request without the
  // hashed property is placed as if there were no hash policy (Envoy).
  uint64_t draw = ctx_.random();
  if (backend_ && backend_->hash_policy) {
    if (auto h = routing::request_hash(*backend_->hash_policy, request_, downstream_.peer_address())) draw = *h;
  }
  if (cluster_->picker || picked_.count) {
    if (!pick_from_pool()) return;
  } else {
    endpoint_ = cluster_->pick(draw, endpoint_);
    if (!endpoint_) return no_healthy_upstream();
  }
  ConnPool& pool = ctx_.conn_pools.get(endpoint_->address, endpoint_->port,
                                      cluster_->protocol,
                                      snapshot_->upstream_tls_for(cluster_));
  upstream_host_ = endpoint_->key();
  upstream_ready_ = false;
  request_sent_complete_ = false;
  if (!take_attempt_slots()) {
    cstats_->upstream_rq_pending_overflow.inc();
    local_reply(503, "upstream connect error or disconnect/reset before headers. reset reason: overflow",
                ResponseFlag::UpstreamOverflow);
    return;
  }
  const pools::ConnectionLimits& limits = cluster_->limits;
  std::optional<ConnectionBudget> budget;
  if (limits.max_connections || limits.connect_timeout)
    budget = ConnectionBudget{cluster_->load, limits.max_connections, limits.connect_timeout};
  upstream_ = pool.new_stream(*this, cstats_, budget ? &*budget : nullptr);
  if (!upstream_) {
    release_attempt_slots();
    local_reply(503, "upstream connect error or disconnect/reset before headers. reset reason: overflow",
                ResponseFlag::UpstreamOverflow);
    return;
  }
  const_cast<pools::EndpointState*>(endpoint_)->active_requests.fetch_add(1, std::memory_order_relaxed);
  if (cluster_->picker) charge_prefill();
  cstats_->upstream_rq_total.inc();
  cstats_->upstream_rq_active.add(1);
  upstream_start_ = std::chrono::steady_clock::now();
  try_deadline_ = route_->per_try_timeout.count() > 0 ? upstream_start_ + route_->per_try_timeout : kNever;
  arm_timer();
}

void Exchange::no_healthy_upstream() {
  cstats_->upstream_cx_none_healthy.inc();
  local_reply(503, "no healthy upstream", ResponseFlag::NoHealthyUpstream);
}

namespace {

// Envoy's ext_proc filter lets a processor change any request header but these.
bool epp_may_mutate(std::string_view name) {
  return !name.empty() && name[0] != ':' && name != "host" && !name.starts_with("x-envoy-");
}

}  // namespace

// The prompt's bytes the chosen server is not expected to hold in its prefix cache.
void Exchange::charge_prefill() {
  const size_t block = cluster_->picker->block_bytes();
  const uint64_t cached = endpoint_ == picked_.primary() ? uint64_t{picked_.prefix_matched} * block : 0;
  prefill_charge_ = cached >= prompt_bytes_ ? 0 : static_cast<int64_t>(prompt_bytes_ - cached);
  if (prefill_charge_ == 0) return;
  prefill_on_ = const_cast<pools::EndpointState*>(endpoint_);
  prefill_on_->prefill_bytes.fetch_add(prefill_charge_, std::memory_order_relaxed);
}

void Exchange::release_prefill() {
  if (!prefill_on_) return;
  prefill_on_->prefill_bytes.fetch_sub(prefill_charge_, std::memory_order_relaxed);
  prefill_on_ = nullptr;
}

// The raw JSON of the body's "messages" / "prompt", while the held body is still here (the
// first attempt): what prefix-cache affinity hashes. Empty when the body was not held.
std::string_view Exchange::prompt_text() const {
  if (!body_scan_ || !body_scan_->prompt_found()) return {};
  const size_t begin = body_edits_.map(body_scan_->prompt_begin()), end = body_edits_.map(body_scan_->prompt_end());
  if (end > pending_body_.size() || begin >= end) return {};
  return std::string_view(pending_body_).substr(begin, end - begin);
}

// InferencePool picking (pools/endpoint_picker.h). A retry takes the first pick's next
// fallback that can still serve; when none is left it asks the picker again without the one
// that failed. False when the request was answered: 429 shed, 503 nothing ready.
bool Exchange::pick_from_pool() {
  const int64_t now = pools::steady_now_ms();
  while (next_fallback_ < picked_.count) {
    const bool primary = next_fallback_ == 0;  // the external picker's choice
    const pools::EndpointState* ep = picked_.endpoints[next_fallback_++];
    if (ep != endpoint_ && ep->eligible(now)) {
      endpoint_ = ep;
      cstats_->picker_decisions[primary ? ClusterStats::kPicked : ClusterStats::kFallback].inc();
      return true;
    }
  }
  if (!cluster_->picker) {  // an external pick ran out: the cluster's load balancer
    endpoint_ = cluster_->pick(ctx_.random(), endpoint_);
    if (endpoint_) return true;
    cstats_->picker_decisions[ClusterStats::kNoEndpoint].inc();
    no_healthy_upstream();
    return false;
  }
  const pools::EndpointPicker& picker = *cluster_->picker;
  const std::string_view requested = body_scan_ && body_scan_->found() ? std::string_view(body_scan_->model()) : "";
  const std::string_view model = adapter_.empty() ? requested : adapter_;
  pools::PickRequest rq;
  rq.exclude = endpoint_;
  rq.prompt_bytes = prompt_bytes_;
  rq.draw = ctx_.random();
  if (!model.empty()) rq.adapter = pools::adapter_hash(model);
  const std::string* objective = request_.headers.get("x-gateway-inference-objective");
  rq.sheddable = picker.sheddable(requested, objective ? std::string_view(*objective) : std::string_view());
  thread_local std::vector<uint64_t> hashes;
  if (picker.wants_prompt() && !endpoint_) {
    if (const std::string_view prompt = prompt_text(); !prompt.empty()) {
      prompt_bytes_ = static_cast<uint32_t>(std::min<size_t>(prompt.size(), UINT32_MAX));
      hashes.resize(picker.max_blocks());
      rq.prefix = std::span(hashes.data(), pools::prefix_block_hashes(model, prompt, picker.block_bytes(), hashes));
    }
  }
  picked_ = picker.pick(cluster_->endpoints, rq, now);
  next_fallback_ = 1;
  switch (picked_.outcome) {
    case pools::PickResult::Outcome::Shed:
      cstats_->picker_decisions[ClusterStats::kShed].inc();
      local_reply(429, "request shed: every model server of the pool is saturated", ResponseFlag::RateLimited);
      return false;
    case pools::PickResult::Outcome::NoneReady:
      cstats_->picker_decisions[ClusterStats::kNoEndpoint].inc();
      no_healthy_upstream();
      return false;
    case pools::PickResult::Outcome::Picked:
      break;
  }
  endpoint_ = picked_.primary();
  cstats_->picker_decisions[ClusterStats::kPicked].inc();
  if (!rq.prefix.empty()) {
    cstats_->picker_prefix_blocks_total.inc(rq.prefix.size());
    cstats_->picker_prefix_blocks_hit.inc(picked_.prefix_matched);
  }
  return true;
}

// InferencePool endpointPickerRef: ask the external picker over ext_proc, as Envoy does with
// the GIE EPP: request headers, then the body streamed (FULL_DUPLEX_STREAMED); its answer
// names the endpoint (and fallbacks) or answers the request itself. The request waits, its
// body held, until then.
bool Exchange::start_epp() {
  const auto& channel = snapshot_->epp_for(cluster_);
  if (!channel) return false;
  if (!alive_) alive_ = std::make_shared<Exchange*>(this);
  boost::asio::io_context& io = ctx_.io;
  epp_ = std::make_unique<ext_proc::EppCall>(
      channel, [&io](std::function<void()> fn) { boost::asio::post(io, std::move(fn)); },
      [weak = std::weak_ptr<Exchange*>(alive_)](ext_proc::EppResult r) {
        if (auto p = weak.lock()) (*p)->on_epp_result(std::move(r));
      });
  ext_proc::Headers headers;
  headers.reserve(request_.headers.size() + 4);
  headers.emplace_back(":method", request_.method);
  headers.emplace_back(":path", request_.path);
  headers.emplace_back(":authority", request_.authority);
  headers.emplace_back(":scheme", listener_.scheme);
  for (const auto& h : request_.headers) headers.emplace_back(h.name, h.value);
  const bool no_body = request_complete_ && pending_body_.empty();
  epp_->start(headers, no_body);
  if (!no_body && (!pending_body_.empty() || request_complete_)) epp_->send_body(pending_body_, request_complete_);
  epp_waiting_ = true;
  arm_timer();
  return true;
}

void Exchange::on_epp_result(ext_proc::EppResult r) {
  if (finished_ || !epp_waiting_) return;
  epp_waiting_ = false;
  switch (r.kind) {
    case ext_proc::ResultKind::kEndpoints: {
      // Only the pool's own endpoints: the picker chooses among them, it cannot send the
      // gateway anywhere else.
      picked_ = {};
      const int64_t now = pools::steady_now_ms();
      for (const std::string& want : r.endpoints) {
        for (const auto& ep : cluster_->endpoints) {
          if (picked_.count == picked_.endpoints.size()) break;
          if (ep->key() == want && ep->eligible(now)) picked_.endpoints[picked_.count++] = ep.get();
        }
      }
      if (picked_.count == 0)
        return epp_failed("no ready endpoint of the pool among " + (r.endpoints.empty() ? "none" : r.endpoints.front()));
      picked_.outcome = pools::PickResult::Outcome::Picked;
      next_fallback_ = 0;
      // Envoy applies the picker's header mutations (x-gateway-destination-endpoint among
      // them) to the upstream request, except to pseudo-headers, host and x-envoy-*.
      for (const auto& set : r.mutations.set) {
        if (!epp_may_mutate(set.key)) continue;
        if (set.action == ext_proc::AppendAction::kAppendIfExistsOrAdd) request_.headers.add_lower(set.key, set.value);
        else if (set.action == ext_proc::AppendAction::kAddIfAbsent) {
          if (!request_.headers.get(set.key)) request_.headers.add_lower(set.key, set.value);
        } else if (set.action == ext_proc::AppendAction::kOverwriteIfExistsOrAdd || request_.headers.get(set.key)) {
          request_.headers.set(set.key, set.value);
        }
      }
      for (const auto& name : r.mutations.remove)
        if (epp_may_mutate(name)) request_.headers.remove(name);
      cstats_->epp_results[ClusterStats::kEppEndpoint].inc();
      start_attempt();
      return;
    }
    case ext_proc::ResultKind::kImmediateResponse: {
      cstats_->epp_results[ClusterStats::kEppImmediate].inc();
      HeaderMap extra;
      for (const auto& [name, value] : r.immediate.headers)
        if (!name.empty() && name[0] != ':') extra.add(name, value);
      epp_.reset();
      const int status = r.immediate.status >= 200 && r.immediate.status < 600 ? r.immediate.status : 500;
      local_reply(status, r.immediate.body, ResponseFlag::None, std::move(extra));
      return;
    }
    case ext_proc::ResultKind::kFailure:
      return epp_failed(std::string(ext_proc::to_string(r.failure.kind)) + ": " + r.failure.message);
  }
}

// FailOpen: the pool's own picker decides, as if there were no external one. FailClose
// (the API's default): the request fails, 500 as Envoy's ext_proc filter answers.
void Exchange::epp_failed(std::string_view why) {
  epp_.reset();
  picked_ = {};
  if (cluster_->endpoint_picker->failure_mode == config::FailureMode::FailOpen) {
    cstats_->epp_results[ClusterStats::kEppFailOpen].inc();
    start_attempt();
    return;
  }
  cstats_->epp_results[ClusterStats::kEppFailClose].inc();
  local_reply(500, "endpoint picker failed: " + std::string(why), ResponseFlag::None);
}

// The GIE EPP learns which endpoint served from the response headers it is sent.
void Exchange::report_served_to_epp(const ResponseHead& head) {
  if (!epp_ || !endpoint_) return;
  ext_proc::Headers headers;
  headers.reserve(head.headers.size() + 2);
  headers.emplace_back(":status", std::to_string(head.status));
  for (const auto& h : head.headers) headers.emplace_back(h.name, h.value);
  headers.emplace_back(std::string(ext_proc::kDestinationEndpointServedHeader), endpoint_->key());
  epp_->send_response_headers(headers, false);
  epp_->finish();
  epp_.reset();
}

// The cluster's circuit breakers (DestinationRule connectionPool), shared by every worker:
// an attempt holds one active request and, until its connection is ready, one pending.
bool Exchange::take_attempt_slots() {
  pools::ClusterLoad& load = *cluster_->load;
  if (!pools::ClusterLoad::try_take(load.rq_active, cluster_->limits.max_requests)) return false;
  if (!pools::ClusterLoad::try_take(load.rq_pending, cluster_->limits.max_pending_requests)) {
    pools::ClusterLoad::give_back(load.rq_active);
    return false;
  }
  holds_rq_ = holds_pending_ = true;
  return true;
}

void Exchange::release_attempt_slots() {
  pools::ClusterLoad& load = *cluster_->load;
  if (holds_pending_) pools::ClusterLoad::give_back(load.rq_pending);
  if (holds_rq_) pools::ClusterLoad::give_back(load.rq_active);
  if (holds_retry_) pools::ClusterLoad::give_back(load.rq_retry);
  holds_rq_ = holds_pending_ = holds_retry_ = false;
}

void Exchange::on_upstream_ready() {
  if (holds_pending_) {
    pools::ClusterLoad::give_back(cluster_->load->rq_pending);
    holds_pending_ = false;
  }
  upstream_ready_ = true;
  const bool end = request_complete_ && pending_body_.empty() && !has_request_trailers_;
  upstream_->send_headers(request_, end);
  if (end) {
    request_sent_complete_ = true;
    return;
  }
  send_buffered_request();
}

void Exchange::send_buffered_request() {
  if (!upstream_ || !upstream_ready_) return;
  if (!pending_body_.empty() || (request_complete_ && !has_request_trailers_ && !request_sent_complete_)) {
    const bool end = request_complete_ && !has_request_trailers_;
    std::string body;
    body.swap(pending_body_);
    if (retriable_) {
      if (retained_body_.size() + body.size() <= kRetryBufferLimit) {
        retained_body_.append(body);
      } else {
        retriable_ = false;
        std::string().swap(retained_body_);
      }
    }
    upstream_->send_data(body, end);
    if (!upstream_) return;
    if (end) request_sent_complete_ = true;
  }
  if (request_complete_ && has_request_trailers_ && !request_sent_complete_) {
    upstream_->send_trailers(request_trailers_);
    request_sent_complete_ = true;
  }
  if (downstream_paused_ && upstream_ && upstream_->buffered_bytes() < Watermarks{}.low) {
    downstream_paused_ = false;
    if (!downstream_gone_) downstream_.pause_request_body(false);
  }
}

void Exchange::on_request_data(std::string_view data, bool end_stream) {
  bytes_received_ += data.size();
  last_activity_ = std::chrono::steady_clock::now();
  if (end_stream) request_complete_ = true;
  // A body longer than maxBytes, routed on its first part: the rest is read as it passes, and a
  // "model" that would change what the server serves stops the request before this data, and
  // so the body's end, goes anywhere.
  if (body_scan_ && body_scan_->locked() && !finished_ && !response_done_) {
    const auto state = body_scan_->feed(data);
    count_duplicate_model();
    if (state == routing::ModelFieldScanner::State::Conflict) return refuse_model_conflict();
  }
  for (auto& m : mirrors_) m->send_data(data, end_stream);
  if (finished_ || response_done_) return;
  if (!upstream_ || !upstream_ready_) {
    pending_body_.append(data);
    if (epp_ && epp_waiting_) epp_->send_body(data, end_stream);
    if (awaiting_body_model_) {
      // maxBytes bounds what is held while reading; pausing before it would stall the read.
      scan_body(data);
      if (finished_ || awaiting_body_model_) return;
    }
    if (pending_body_.size() > Watermarks{}.high && !downstream_paused_) {
      downstream_paused_ = true;
      downstream_.pause_request_body(true);
    }
    return;
  }
  if (retriable_) {
    if (retained_body_.size() + data.size() <= kRetryBufferLimit) {
      retained_body_.append(data);
    } else {
      retriable_ = false;
      std::string().swap(retained_body_);
    }
  }
  upstream_->send_data(data, end_stream);
  if (end_stream) request_sent_complete_ = true;
  if (upstream_ && upstream_->buffered_bytes() > Watermarks{}.high && !downstream_paused_) {
    downstream_paused_ = true;
    downstream_.pause_request_body(true);
  }
}

void Exchange::on_request_trailers(HeaderMap&& trailers) {
  request_complete_ = true;
  request_trailers_ = std::move(trailers);
  has_request_trailers_ = true;
  for (auto& m : mirrors_) m->send_trailers(request_trailers_);
  if (finished_ || response_done_) return;
  if (awaiting_body_model_) {
    body_model_ready();
    return;
  }
  if (epp_ && epp_waiting_) epp_->send_body({}, true);
  if (upstream_ && upstream_ready_) send_buffered_request();
}

void Exchange::on_upstream_writable() {
  if (downstream_paused_ && !downstream_gone_) {
    downstream_paused_ = false;
    downstream_.pause_request_body(false);
  }
}

void Exchange::on_response_headers(ResponseHead&& head, bool end_stream) {
  if (finished_) return;
  response_started_ = true;
  retriable_ = false;
  std::string().swap(retained_body_);
  upstream_service_ms_ = ms_since(upstream_start_);
  last_activity_ = std::chrono::steady_clock::now();
  try_deadline_ = kNever;  // Envoy: the per-try timeout ends with the response headers
  response_code_ = head.status;
  upstream_status_ = head.status;
  cstats_->count_response(head.status);
  strip_hop_by_hop(head.headers, /*keep_te_trailers=*/false);
  head.headers.set("x-envoy-upstream-service-time", std::to_string(upstream_service_ms_));
  apply_response_filters(route_->filters, head.headers);
  if (backend_) apply_response_filters(backend_->filters, head.headers);
  if (!session_cookie_.empty()) head.headers.add_lower("set-cookie", session_cookie_);
  for (const auto& h : rate_limit_headers_) head.headers.set(h.name, h.value);
  start_usage(head);
  if (!head.headers.get("date")) head.headers.add_lower("date", ctx_.date.get());
  head.headers.set("server", "infergate");
  cluster_->report_result(*const_cast<pools::EndpointState*>(endpoint_), head.status < 500);
  report_served_to_epp(head);
  if (end_stream) response_done_ = true;
  downstream_.send_headers(std::move(head), end_stream);
  if (end_stream) response_complete();
}

void Exchange::on_response_data(std::string_view data, bool end_stream) {
  if (finished_) return;
  bytes_sent_ += data.size();
  last_activity_ = std::chrono::steady_clock::now();
  if (!data.empty()) {
    if (first_byte_ == std::chrono::steady_clock::time_point{}) {
      first_byte_ = last_activity_;
      release_prefill();
    }
    last_byte_ = last_activity_;
    if (usage_) usage_->feed(data);
  }
  if (end_stream) response_done_ = true;
  downstream_.send_data(data, end_stream);
  if (end_stream) {
    response_complete();
    return;
  }
  if (!upstream_paused_ && upstream_ && downstream_.buffered_bytes() > Watermarks{}.high) {
    upstream_paused_ = true;
    upstream_->pause_response(true);
  }
}

// Token usage is read from successful OpenAI-style answers (JSON or SSE) that are not
// compressed; anything else streams through untouched.
void Exchange::start_usage(const ResponseHead& head) {
  if (!vstats_.version || head.status < 200 || head.status >= 300 || head.headers.get("content-encoding")) return;
  const std::string* ct = head.headers.get("content-type");
  if (!ct) return;
  if (auto body = metrics::TokenUsageReader::body_of(*ct)) usage_.emplace(*body);
}

void Exchange::on_response_trailers(HeaderMap&& trailers) {
  if (finished_) return;
  response_done_ = true;
  downstream_.send_trailers(std::move(trailers));
  response_complete();
}

void Exchange::on_downstream_writable() {
  if (upstream_paused_ && upstream_) {
    upstream_paused_ = false;
    upstream_->pause_response(false);
  }
}

void Exchange::on_upstream_reset(ResetReason reason) {
  upstream_ = nullptr;  // the codec sends no further callbacks for this stream
  if (cluster_) release_attempt_slots();
  release_prefill();
  if (finished_) return;
  if (endpoint_) {
    const_cast<pools::EndpointState*>(endpoint_)->active_requests.fetch_sub(1, std::memory_order_relaxed);
    cluster_->report_result(*const_cast<pools::EndpointState*>(endpoint_), false);
  }
  cstats_->upstream_rq_active.sub(1);
  upstream_failed(reason);
}

// Starts another attempt when the request can be replayed and attempts remain.
bool Exchange::retry_on_another_endpoint() {
  if (!retriable_ || attempts_ >= max_attempts_ || cluster_->endpoints.size() <= 1) return false;
  if (!pools::ClusterLoad::try_take(cluster_->load->rq_retry, cluster_->limits.max_retries)) {
    cstats_->upstream_rq_retry_overflow.inc();
    return false;
  }
  holds_retry_ = true;
  cstats_->upstream_rq_retry.inc();
  pending_body_.insert(0, retained_body_);
  retained_body_.clear();
  start_attempt();
  return true;
}

void Exchange::upstream_failed(ResetReason reason) {
  switch (reason) {
    case ResetReason::ConnectFailure: flags_.set(ResponseFlag::UpstreamConnectionFailure); break;
    case ResetReason::RemoteReset: flags_.set(ResponseFlag::UpstreamRemoteReset); break;
    case ResetReason::ProtocolError: flags_.set(ResponseFlag::UpstreamProtocolError); break;
    case ResetReason::Overflow: flags_.set(ResponseFlag::UpstreamOverflow); break;
    default: flags_.set(ResponseFlag::UpstreamConnectionTermination); break;
  }
  if (reason == ResetReason::RemoteReset) cstats_->upstream_rq_rx_reset.inc();
  if (!response_started_) {
    // Nothing went downstream yet: try another endpoint if the request can be replayed.
    const bool safe = reason == ResetReason::ConnectFailure || reason == ResetReason::RemoteReset ||
                      reason == ResetReason::ConnectionTermination;
    if (safe && retry_on_another_endpoint()) return;
    if (attempts_ > 1) flags_.set(ResponseFlag::UpstreamRetryLimitExceeded);
    std::string body = "upstream connect error or disconnect/reset before headers. ";
    body += attempts_ > 1 ? "retried and the latest reset reason: " : "reset reason: ";
    body += reset_reason_name(reason);
    local_reply(503, body, ResponseFlag::None);
    return;
  }
  // Mid-response: the client must learn the response is truncated.
  if (!downstream_gone_) downstream_.reset();
  finish();
}

void Exchange::local_reply(int status, std::string_view body, ResponseFlag flag, HeaderMap extra) {
  if (flag != ResponseFlag::None) flags_.set(flag);
  detach_upstream(false);
  if (downstream_gone_) {
    finish();
    return;
  }
  if (response_started_) {
    downstream_.reset();
    finish();
    return;
  }
  response_started_ = true;
  response_code_ = status;
  ResponseHead head;
  head.status = status;
  head.headers.add_lower("content-length", std::to_string(body.size()));
  if (!body.empty()) head.headers.add_lower("content-type", "text/plain");
  head.headers.add_lower("date", ctx_.date.get());
  head.headers.add_lower("server", "infergate");
  for (auto& h : extra) head.headers.set(h.name, h.value);
  // The router's replies carry the route's response headers too (Envoy's modify_headers);
  // a fault abort comes from the fault filter, before the router, and does not.
  if (route_ && flag != ResponseFlag::FaultInjected) {
    apply_response_filters(route_->filters, head.headers);
    if (backend_) apply_response_filters(backend_->filters, head.headers);
  }
  bytes_sent_ += body.size();
  response_done_ = true;
  if (body.empty() || request_.method == "HEAD") {
    downstream_.send_headers(std::move(head), true);
  } else {
    downstream_.send_headers(std::move(head), false);
    downstream_.send_data(body, true);
  }
  finish();
}

void Exchange::response_complete() {
  if (timer_) timer_->cancel();
  detach_upstream(true);
  finish();
}

void Exchange::detach_upstream(bool success) {
  if (!upstream_) return;
  UpstreamStream* u = upstream_;
  upstream_ = nullptr;
  release_attempt_slots();
  release_prefill();
  const_cast<pools::EndpointState*>(endpoint_)->active_requests.fetch_sub(1, std::memory_order_relaxed);
  cstats_->upstream_rq_active.sub(1);
  if (success) {
    u->release();
  } else {
    cstats_->upstream_rq_tx_reset.inc();
    u->reset();
  }
}

// One timer per exchange, set to the earliest of the request deadline, the current
// attempt's deadline and the stream-idle deadline. Activity only stamps a time: a timer
// that fires early for the idle check re-arms itself, so streaming never touches it.
std::chrono::steady_clock::time_point Exchange::next_deadline() const {
  auto d = std::min(request_deadline_, try_deadline_);
  if (stream_idle_.count() > 0) d = std::min(d, last_activity_ + stream_idle_);
  return d;
}

void Exchange::arm_timer() {
  if (finished_) return;
  const auto deadline = next_deadline();
  if (deadline == kNever) return;
  if (!alive_) alive_ = std::make_shared<Exchange*>(this);
  if (!timer_) timer_.emplace(ctx_.io);
  if (timer_armed_ && timer_->expiry() <= deadline) return;
  timer_armed_ = true;
  timer_->expires_at(deadline);
  timer_->async_wait([weak = std::weak_ptr<Exchange*>(alive_)](boost::system::error_code ec) {
    if (ec) return;
    if (auto p = weak.lock()) {
      (*p)->timer_armed_ = false;
      (*p)->on_timer();
    }
  });
}

void Exchange::on_timer() {
  if (finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now >= request_deadline_) {
    on_request_timeout();
  } else if (now >= try_deadline_) {
    on_per_try_timeout();
  } else if (stream_idle_.count() > 0 && now >= last_activity_ + stream_idle_) {
    on_stream_idle_timeout();
  } else {
    arm_timer();
  }
}

void Exchange::on_request_timeout() {
  flags_.set(ResponseFlag::UpstreamRequestTimeout);
  if (cstats_) cstats_->upstream_rq_timeout.inc();
  ctx_.stats.downstream_rq_timeout.inc();
  if (!response_started_) {
    local_reply(504, "upstream request timeout", ResponseFlag::None);
    return;
  }
  detach_upstream(false);
  if (!downstream_gone_) downstream_.reset();
  finish();
}

// The attempt took too long before its response headers: reset it and, as Envoy does
// when retries allow, try another endpoint; else 504 like a request timeout.
void Exchange::on_per_try_timeout() {
  try_deadline_ = kNever;
  cstats_->upstream_rq_per_try_timeout.inc();
  if (endpoint_) cluster_->report_result(*const_cast<pools::EndpointState*>(endpoint_), false);
  detach_upstream(false);
  if (retry_on_another_endpoint()) return;
  flags_.set(ResponseFlag::UpstreamRequestTimeout);
  if (attempts_ > 1) flags_.set(ResponseFlag::UpstreamRetryLimitExceeded);
  local_reply(504, "upstream request timeout", ResponseFlag::None);
}

// Envoy's stream_idle_timeout: 408 when nothing was answered yet, else a reset.
void Exchange::on_stream_idle_timeout() {
  ctx_.stats.downstream_rq_idle_timeout.inc();
  if (!response_started_) {
    local_reply(408, "stream timeout", ResponseFlag::StreamIdleTimeout);
    return;
  }
  flags_.set(ResponseFlag::StreamIdleTimeout);
  detach_upstream(false);
  if (!downstream_gone_) downstream_.reset();
  finish();
}

void Exchange::on_codec_reply(int status) {
  if (!response_started_) codec_reply_code_ = status;
}

void Exchange::on_downstream_reset(ResetReason reason) {
  downstream_gone_ = true;
  if (finished_) return;
  // A request the codec refused part-way (a bad chunk, an h2 violation) is Envoy's DPE,
  // not a client that went away.
  flags_.set(reason == ResetReason::ProtocolError ? ResponseFlag::DownstreamProtocolError
                                                  : ResponseFlag::DownstreamConnectionTermination);
  ctx_.stats.downstream_rq_rx_reset.inc();
  detach_upstream(false);
  finish();
}

void Exchange::finish() {
  if (finished_) return;
  finished_ = true;
  end_mirrors();
  if (timer_) timer_->cancel();
  if (fault_timer_) fault_timer_->cancel();
  alive_.reset();
  log_and_count();
  if (!downstream_gone_) downstream_.finish();
}

void Exchange::record_version_stats(std::chrono::steady_clock::time_point now) {
  RequestOutcome o;
  o.status = response_code_;
  o.local_reply = upstream_status_ == 0;
  o.flags = flags_;
  o.duration = now - start_;
  if (first_byte_ != std::chrono::steady_clock::time_point{}) {
    o.ttft = first_byte_ - start_;
    o.last_byte = last_byte_ - start_;
  }
  if (usage_) {
    if (response_done_) usage_->finish();
    o.input_tokens = usage_->prompt_tokens();
    o.output_tokens = usage_->completion_tokens();
    o.stream_events = usage_->data_events();
  }
  o.request_bytes = bytes_received_;
  o.response_bytes = bytes_sent_;
  if (vstats_.objective) vstats_.objective->running.sub(1);
  VersionStats::record(vstats_, o);
}

void Exchange::log_and_count() {
  // One clock read for every figure of the finished request.
  const auto now = std::chrono::steady_clock::now();
  const auto ms = [&](std::chrono::steady_clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count();
  };
  const int64_t duration = ms(start_);
  ctx_.stats.downstream_rq_active.sub(1);
  if (ctx_.active_requests) --ctx_.active_requests;
  if (response_code_) ctx_.stats.count_response(response_code_);
  ctx_.stats.downstream_rq_time.observe(static_cast<double>(duration));
  if (cstats_ && upstream_service_ms_ >= 0)
    cstats_->upstream_rq_time.observe(static_cast<double>(ms(upstream_start_)));
  if (vstats_.version || vstats_.objective) record_version_stats(now);
  if (!ctx_.access_log) return;
  metrics::AccessLogEntry e;
  e.start_time = start_wall_;
  e.method = request_.method;
  e.path = original_path_.empty() ? request_.path : original_path_;  // Envoy logs the original
  e.protocol = std::string(protocol_name(request_.version));
  e.response_code = response_code_ ? response_code_ : codec_reply_code_;
  e.response_flags = flags_.to_string();
  e.bytes_received = bytes_received_;
  e.bytes_sent = bytes_sent_;
  e.duration_ms = duration;
  e.upstream_service_time_ms = upstream_service_ms_;
  e.x_forwarded_for = request_.headers.get_or("x-forwarded-for", "");
  e.user_agent = request_.headers.get_or("user-agent", "");
  e.request_id = request_.headers.get_or("x-request-id", "");
  e.authority = request_.authority;
  e.upstream_host = upstream_host_;
  if (cluster_) e.upstream_cluster = cluster_->name;
  if (route_) e.route_name = route_->name;
  ctx_.access_log->log(std::move(e));
}

}  // namespace infergate::gateway
