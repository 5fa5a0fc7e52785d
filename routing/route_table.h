#pragma once
// The immutable route table: HTTPRoute rules compiled for matching, plus the per-rule backend
// split. Built once per config snapshot on the control thread; read concurrently by workers.
//
// Matching (Gateway API HTTPRoute semantics):
//  - Listener: a route attaches to the listeners of its parentRefs (sectionName / port narrow
//    it). A parentRef of a foreign kind whose parent is not defined (GKE `InferenceGateway`)
//    attaches the route to every listener. match(head, "") ignores listeners altogether.
//  - Hostname: route hostnames (intersected with the listener hostname) vs :authority with the
//    port stripped, case-insensitive; "*.example.com" matches any name with at least one more
//    label. Like Envoy virtual hosts the most specific host wins: exact, then the longest
//    wildcard, then routes without hostnames; if nothing matches in a more specific host we
//    fall through to the less specific ones (so a catch-all route still catches).
//  - Path: Exact; PathPrefix element-wise ("/v1" matches "/v1", "/v1/", "/v1/x", not "/v10";
//    a trailing "/" in the prefix is ignored); RegularExpression: RE2 full match. The path is
//    compared as received, up to "?".
//  - Headers: name case-insensitive; Exact value or RE2 full match; a header sent several
//    times is matched against its values joined with "," (as Envoy does).
//  - Query params: name case-sensitive, first occurrence, raw (not percent-decoded, as Envoy).
//  - Method: exact.
//  Precedence among all matching (route, rule, match) entries, per Gateway API:
//    Exact path > RegularExpression (longer pattern first; implementation-specific, as Envoy
//    Gateway does) > PathPrefix with more characters > has method > more header matches >
//    more query matches > older route (metadata.creationTimestamp, RFC 3339 UTC as Kubernetes
//    writes it; a route without one counts as the newest) >
//    "<ns>/<name>" alphabetically > rule order > match order.
//
// VirtualServices (Istio semantics, routing/istio_match.h for the match conditions):
//  - Listener: spec.gateways (or a match's own gateways) name Gateways defined here; empty,
//    "mesh", or a gateway not defined here means every listener. match.port narrows it.
//  - Hostname: spec.hosts; a host naming a Service stands for every name a client may use for
//    it ("svc", "svc.ns", "svc.ns.svc", "svc.ns.svc.cluster.local"); "*" is any host. Host
//    selection is the same most-specific-first as above.
//  - Order: within one hostname, VirtualService routes come before HTTPRoute matches and keep
//    Istio's order: VirtualServices oldest first, http[] in order, match[] in order, first
//    match wins; nothing after a catch-all of the same VirtualService is kept, and when several
//    VirtualServices share the hostname their catch-all routes move to the end (Istio's
//    gateway merge). A match with sourceLabels/sourceNamespace is never taken.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "routing/http_message.h"
#include "routing/route_actions.h"
#include "routing/weighted_choice.h"

namespace infergate::routing {

struct BackendRef {
  std::string cluster;  // config/cluster_names.h naming; matches pools::ClusterSet
  uint32_t weight = 0;
  std::vector<config::HttpRouteFilter> filters;  // backendRefs[].filters, applied when chosen
  // The cluster's DestinationRule consistentHash: hash the request with request_hash() and
  // pass the hash as the draw to pools::Cluster::pick (whose policy is then ConsistentHash).
  std::optional<HashPolicy> hash_policy;
};

enum class RouteKind { HttpRoute, VirtualService };

// One HTTPRoute rule, or one match of a VirtualService http[] entry (Istio makes one Envoy
// route per match), ready to serve.
struct Route {
  static constexpr size_t npos = kNoBackend;

  RouteKind kind = RouteKind::HttpRoute;

  // HTTPRoute: "<ns>/<route>/rule<i>" (or "<ns>/<route>/<rule name>" when named).
  // VirtualService: "<ns>/<vs>/http<i>" (or "<ns>/<vs>/<http name>"), then ".<match name>"
  // when the match is named, as Istio names Envoy routes.
  std::string name;
  std::string route_ns;
  std::string route_name;
  size_t rule_index = 0;   // HTTPRoute rules[i] / VirtualService http[i]
  size_t match_index = 0;  // VirtualService: http[i].match[j] this route serves (0 if none)
  std::vector<BackendRef> backends;
  uint64_t total_weight = 0;
  std::vector<uint64_t> cumulative_weights;  // running sums of backends[].weight
  // Effective timeouts: the rule's HTTPRoute timeouts, else GatewayConfig timeouts. 0 = none.
  std::chrono::milliseconds request_timeout{0};
  std::chrono::milliseconds per_try_timeout{0};
  // Rule filters, in order. VirtualService: its headers become Request/ResponseHeaderModifier
  // filters and an authority rewrite (rewrite.authority or a request ":authority"/"host"
  // header) a URLRewrite filter with only `hostname` set.
  std::vector<config::HttpRouteFilter> filters;
  // HTTPRoute: rules[].retry. VirtualService: Istio's policy — absent retries mean
  // {attempts 2, retry_on connect-failure,refused-stream,unavailable,cancelled,
  // retriable-status-codes, codes 503}; attempts 0 means none (nullopt).
  std::optional<config::RetryPolicy> retry;
  config::SourceLocation source;

  // HTTPRoute sessionPersistence: the session's position is the backend draw.
  std::optional<SessionAffinity> session;
  // A Rollout's canaryHeader on this rule: a request whose `header` (lower-case) equals
  // `value` goes to backends[backend] whatever the weights, so testers reach the canary
  // before any weight moves (the seed VirtualService's `version: v2` route).
  struct HeaderCanary {
    std::string header, value;
    size_t backend = 0;
  };
  std::optional<HeaderCanary> header_canary;
  // Request copies (HTTPRoute RequestMirror filters and VirtualService mirrors alike).
  std::vector<Mirror> mirrors;
  // VirtualService only (HTTPRoutes express these as filters):
  std::optional<FaultPolicy> fault;
  std::optional<PathRewrite> path_rewrite;
  std::optional<Redirect> redirect;              // answer with a redirect; no backend
  std::optional<DirectResponse> direct_response;  // answer directly; no backend

  // Index into `backends` for a uniform 64-bit draw (WeightedSequence::next() or a hash).
  // npos when there are no backends or all weights are 0: the request gets a 500, as the
  // Gateway API requires for a rule whose backends all have weight 0.
  size_t pick_backend(uint64_t draw) const { return pick_weighted(cumulative_weights, draw); }
};

// A matched route and, when it matched through an HTTPRoute PathPrefix, that prefix
// (trailing "/" removed, "/" stays "/"; "" otherwise): ReplacePrefixMatch rewrites and
// redirects replace exactly the prefix that matched. Views into the table.
struct RouteMatch {
  const Route* route = nullptr;
  std::string_view path_prefix;
};

class RouteTable {
 public:
  // Compiles every HTTPRoute rule and every VirtualService match. Problems the loader cannot see (nothing today but kept for
  // regexes and future checks) are appended to *errors; a route with an error is left out.
  // Never returns null.
  static std::shared_ptr<const RouteTable> build(const config::Config& config,
                                                 std::vector<config::Diagnostic>* errors);

  // Best route for the request on listener `listener_name` (config::Listener::key()), or
  // nullptr (-> 404). "" = ignore listener attachment.
  const Route* match(const RequestHead& head, std::string_view listener_name) const {
    return match_detail(head, listener_name).route;
  }
  RouteMatch match_detail(const RequestHead& head, std::string_view listener_name) const;

  const std::vector<Route>& routes() const { return routes_; }

  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  struct Impl;  // compiled matchers; defined in route_table.cc

 private:
  RouteTable();
  static void add_virtual_services(const config::Config& config, RouteTable& table,
                                   std::vector<config::Diagnostic>* errors);
  static void add_header_canaries(const config::Config& config, RouteTable& table);
  std::vector<Route> routes_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace infergate::routing
