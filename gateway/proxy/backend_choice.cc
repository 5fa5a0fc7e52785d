#include "gateway/proxy/backend_choice.h"

#include <cstdint>

#include "gateway/control/snapshot.h"
#include "gateway/proxy/route_actions_apply.h"
#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

namespace {

// InferenceModel targetModels / InferenceModelRewrite: the pool serves the model under another
// name (a LoRA adapter version, an alias). The body is still all here, so the value is
// replaced in place and Content-Length follows.
// Every top-level "model" is replaced, not only the one routed on: the server reads the last
// and a client may write several. Nothing has gone upstream yet, so pending_body starts at the
// body's first byte.
void rewrite_model(FilterCallbacks& stream, routing::WeightedSequence& models) {
  StreamState& st = stream.state();
  const Snapshot& snapshot = stream.snapshot();
  if (!st.body_scan || !st.body_scan->found() || !snapshot.models || snapshot.models->empty()) return;
  auto target = snapshot.models->rewrite(st.cluster->name, st.body_scan->model(), models.next());
  if (!target || *target == st.body_scan->model()) return;
  if (!st.body_edits.replace(st.pending_body, st.body_scan->model_values(), routing::json_quote(*target))) return;
  // A body still streaming in: any later "model" would reach the server unrewritten.
  if (st.body_scan->locked()) st.body_scan->lock(/*strict=*/true);
  st.adapter = *target;
  if (const auto declared = declared_content_length(st.request.headers); declared && *declared <= INT64_MAX) {
    const auto n = static_cast<int64_t>(*declared);
    const ptrdiff_t change = st.body_edits.size_change();
    // A declared length the edit would overflow (or make negative) is left alone: the body
    // cannot be that long, and the stream fails on its own.
    if (n + std::min<ptrdiff_t>(change, 0) >= 0 && (change <= 0 || n <= INT64_MAX - change))
      st.request.headers.set("content-length", std::to_string(n + change));
  }
  stream.stats().model_rewritten.inc();
}

// Once per request (retries resend the result): the route's filters, then the chosen
// backend's, then a VirtualService path rewrite. Like Envoy, a rewritten path leaves the
// original in x-envoy-original-path.
void apply_request_actions(StreamState& st) {
  const std::string before = st.request.path;
  bool path_changed = apply_request_filters(st.route->filters, st.request, st.matched_prefix);
  path_changed |= apply_request_filters(st.backend->filters, st.request, st.matched_prefix);
  if (st.route->path_rewrite) {
    st.request.path = st.route->path_rewrite->apply(st.request.path);
    path_changed = true;
  }
  if (path_changed && st.request.path != before) {
    st.original_path = before;
    st.request.headers.set("x-envoy-original-path", before);
  }
}

}  // namespace

bool choose_backend(FilterCallbacks& stream, SplitSequences draws) {
  StreamState& st = stream.state();
  const routing::Route& route = *st.route;
  const Snapshot& snapshot = stream.snapshot();
  uint64_t draw = 0;
  size_t backend = routing::Route::npos;
  if (const auto& hc = route.header_canary) {
    if (const std::string* v = st.request.headers.get(hc->header); v && *v == hc->value) backend = hc->backend;
  }
  if (backend != routing::Route::npos) {
    // A Rollout's canaryHeader: the canary, whatever the weights (no session is started).
  } else if (auto position = route.session ? route.session->position(st.request) : std::nullopt) {
    draw = *position;
  } else {
    draw = snapshot.config->gateway.split_selection == config::SplitSelection::Random ? stream.random()
                                                                                        : draws.backends.next();
    if (route.session && route.session->key == routing::SessionAffinity::Key::Cookie)
      st.session_cookie = route.session->set_cookie(draw);
  }
  if (backend == routing::Route::npos) backend = route.pick_backend(draw);
  if (backend == routing::Route::npos) {
    // Gateway API: a rule whose backends all weigh 0 (or cannot be resolved) answers 500.
    stream.send_local_reply(500, "", ResponseFlag::NoClusterFound);
    return false;
  }
  const pools::Cluster* cluster = snapshot.clusters->find(route.backends[backend].cluster);
  if (!cluster) {
    stream.stats().no_cluster.inc();
    stream.send_local_reply(500, "", ResponseFlag::NoClusterFound);
    return false;
  }
  st.cluster = cluster;
  st.backend = &route.backends[backend];
  st.cstats = snapshot.stats_for(cluster);
  rewrite_model(stream, draws.models);
  if (snapshot.version_stats) {
    st.vstats = snapshot.version_stats->find(st.backend, st.model(), st.adapter);
    if (st.vstats.objective) st.vstats.objective->running.add(1);
  }
  // The route's timeout runs from here, the external endpoint picker's answer included.
  if (route.request_timeout.count() > 0) st.request_deadline = std::chrono::steady_clock::now() + route.request_timeout;
  apply_request_actions(st);
  return true;
}

}  // namespace infergate::gateway
