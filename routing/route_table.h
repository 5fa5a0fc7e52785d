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
#include "routing/weighted_choice.h"

namespace infergate::routing {

struct BackendRef {
  std::string cluster;  // config/cluster_names.h naming; matches pools::ClusterSet
  uint32_t weight = 0;
  std::vector<config::HttpRouteFilter> filters;  // backendRefs[].filters, applied when chosen
};

// One HTTPRoute rule, ready to serve.
struct Route {
  static constexpr size_t npos = kNoBackend;

  std::string name;  // "<ns>/<route>/rule<i>" (or "<ns>/<route>/<rule name>" when named)
  std::string route_ns;
  std::string route_name;
  size_t rule_index = 0;
  std::vector<BackendRef> backends;
  uint64_t total_weight = 0;
  std::vector<uint64_t> cumulative_weights;  // running sums of backends[].weight
  // Effective timeouts: the rule's HTTPRoute timeouts, else GatewayConfig timeouts. 0 = none.
  std::chrono::milliseconds request_timeout{0};
  std::chrono::milliseconds per_try_timeout{0};
  std::vector<config::HttpRouteFilter> filters;  // rule filters, in order
  std::optional<config::RetryPolicy> retry;
  config::SourceLocation source;

  // Index into `backends` for a uniform 64-bit draw (WeightedSequence::next() or a hash).
  // npos when there are no backends or all weights are 0: the request gets a 500, as the
  // Gateway API requires for a rule whose backends all have weight 0.
  size_t pick_backend(uint64_t draw) const { return pick_weighted(cumulative_weights, draw); }
};

class RouteTable {
 public:
  // Compiles every HTTPRoute rule. Problems the loader cannot see (nothing today but kept for
  // regexes and future checks) are appended to *errors; a route with an error is left out.
  // Never returns null.
  static std::shared_ptr<const RouteTable> build(const config::Config& config,
                                                 std::vector<config::Diagnostic>* errors);

  // Best route for the request on listener `listener_name` (config::Listener::key()), or
  // nullptr (-> 404). "" = ignore listener attachment.
  const Route* match(const RequestHead& head, std::string_view listener_name) const;

  const std::vector<Route>& routes() const { return routes_; }

  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  struct Impl;  // compiled matchers; defined in route_table.cc

 private:
  RouteTable();
  std::vector<Route> routes_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace infergate::routing
