// What one request's filters share: the request as it will be forwarded, the body held for
// it, and the decisions taken on the way (body model, route, backend, flags). Envoy keeps
// these in the stream's headers, StreamInfo and filter state; here they are one struct the
// ActiveStream owns and every filter of the stream reads and writes through FilterCallbacks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/net/listener_info.h"
#include "gateway/proxy/response_flags.h"
#include "gateway/proxy/version_stats.h"
#include "pools/cluster.h"
#include "pools/endpoint_choice.h"
#include "routing/body_model.h"
#include "routing/http_message.h"
#include "routing/route_table.h"

namespace infergate::metrics {
class TokenUsageReader;
}

namespace infergate::gateway {

struct ClusterStats;

// Who sent the request and on which listener.
struct DownstreamInfo {
  std::string_view peer_address;
  const DownstreamTls* tls = nullptr;  // null: plaintext
  const ListenerInfo* listener = nullptr;
  std::string_view listener_key;       // the listener the request's authority selects
  std::string_view principal() const {
    return tls && tls->peer ? std::string_view(tls->peer->principal) : std::string_view();
  }
};

struct StreamState {
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::time_point kNever = Clock::time_point::max();

  RequestHead request;
  HeaderMap request_trailers;
  bool has_request_trailers = false;
  bool request_complete = false;
  // Request body not yet sent upstream: all of it while the chain is stopped before the router.
  std::string pending_body;

  // Body-based routing (proxy/filters/body_model_filter.h): the scanner of the body's "model",
  // kept while it was found (or is still being checked past bodyRouting.maxBytes).
  std::optional<routing::ModelFieldScanner> body_scan;
  routing::BodyEdits body_edits;  // what the model rewrite changed in pending_body
  std::string_view adapter;       // the model forwarded instead of the body's (in the snapshot's table)
  std::optional<std::string_view> model() const {
    if (body_scan && body_scan->found()) return std::string_view(body_scan->model());
    return std::nullopt;
  }

  // Route match, done once (proxy/route_match.h).
  bool route_matched = false;
  const routing::Route* route = nullptr;
  std::string_view matched_prefix;  // the HTTPRoute PathPrefix that matched

  // The backend (proxy/backend_choice.h), chosen once.
  bool backend_resolved = false;
  const routing::BackendRef* backend = nullptr;
  const pools::Cluster* cluster = nullptr;
  const ClusterStats* cstats = nullptr;
  VersionStats::Series vstats;
  std::string session_cookie;  // Set-Cookie starting a sessionPersistence session ("" = none)
  std::string original_path;   // before a route rewrite; "" when not rewritten
  // Which endpoints the request may go to: the external picker's answer, the pool picker's
  // pick and fallbacks, or the cluster's load balancer.
  pools::EndpointChoice endpoints;
  // Flow control (proxy/filters/flow_control_filter.h): the request's place in its pool's
  // queue, or the room it was let through on until the router reaches a server.
  pools::FlowTicket flow;

  // Timing and outcome, for timeouts, the access log and the statistics.
  Clock::time_point start;
  Clock::time_point last_activity;
  std::chrono::milliseconds stream_idle{0};
  Clock::time_point request_deadline = kNever;
  Clock::time_point try_deadline = kNever;
  ResponseFlags flags;
  bool response_started = false;
  int response_code = 0;
  int upstream_status = 0;  // what the model server answered (0: nothing)
  int64_t upstream_service_ms = -1;
  Clock::time_point upstream_start;
  std::string_view upstream_host;  // the endpoint's key (lives with the snapshot)

  // Token usage of the response (proxy/stream_log.cc), read from successful JSON and SSE answers
  // when the per-version series or a filter wants it (`wants_usage`: token budgets charge it).
  // Set once the response starts; complete when on_stream_end runs. Null: nothing read.
  bool wants_usage = false;
  const metrics::TokenUsageReader* usage = nullptr;
};

}  // namespace infergate::gateway
