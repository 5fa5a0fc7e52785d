#pragma once
// Istio networking.istio.io kinds: VirtualService and DestinationRule. Istio's
// security.istio.io kinds are in istio_security.h. Conventions: config/model.h.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/model/common.h"
#include "config/model/security.h"

namespace infergate::config {

// Istio VirtualService and DestinationRule (networking.istio.io v1, v1beta1, v1alpha3).
// Istio names follow the API; see config/parse_virtual_service.cc for what Istio semantics
// each field keeps outside a cluster.

// A StringMatch: exactly one of exact / prefix / regex (RE2, full match). Present = `{}`
// (or, for headers and query parameters, regex "*"): the header/parameter only has to exist.
enum class IstioMatchType { Exact, Prefix, Regex, Present };

struct IstioStringMatch {
  IstioMatchType type = IstioMatchType::Present;
  std::string value;
};

struct IstioNamedMatch {
  std::string name;  // headers: lower-cased; query parameters: as written
  IstioStringMatch match;
};

struct VsMatch {                               // spec.http[].match[]
  std::string name;
  std::optional<IstioStringMatch> uri;         // path without the query; Prefix = string prefix
  std::optional<IstioStringMatch> scheme;
  std::optional<IstioStringMatch> method;
  std::optional<IstioStringMatch> authority;   // :authority as received (port included)
  std::vector<IstioNamedMatch> headers;
  std::vector<IstioNamedMatch> without_headers;  // inverted; a missing header counts as ""
  std::vector<IstioNamedMatch> query_params;
  bool ignore_uri_case = false;                // exact/prefix uri only (as Envoy)
  std::optional<uint16_t> port;                // listener port this match is limited to
  std::vector<std::string> gateways;           // as written; narrows the VirtualService's own
  // sourceLabels / sourceNamespace select client workloads, which do not exist outside a
  // mesh: such a match is never taken (a gateway's own labels would not match them either).
  bool source_restricted = false;
  int line = 0;
};

// Where traffic goes: a Service (resolved by the loader) on one port, optionally one subset.
struct IstioDestination {
  std::string host;                 // as written
  std::string subset;               // "" = every endpoint of the Service
  std::optional<uint16_t> port;     // as written
  // Resolved by the loader: the Service `host` names (short name in the VirtualService's
  // namespace, "name.ns", "name.ns.svc" or "name.ns.svc.cluster.local") and the port used:
  // the written one, else the Service's only port.
  std::string service_ns;
  std::string service_name;
  uint16_t service_port = 0;
  int line = 0;

  // "name.ns.svc.cluster.local": what Istio puts in cluster names.
  std::string fqdn() const { return service_name + "." + service_ns + ".svc.cluster.local"; }
};

// headers.request / headers.response: written as maps; kept in written order.
struct IstioHeaderOperations {
  HeaderModifier request;   // ":authority"/"host" in set/add moved to `authority`
  HeaderModifier response;
  std::string authority;    // request authority rewrite ("" = none)
};

struct VsRouteDestination {                    // spec.http[].route[]
  IstioDestination destination;
  uint32_t weight = 0;                         // as written; 0 when absent
  bool weight_written = false;
  // What the destination really receives, Istio's way: a lone destination gets all the
  // traffic whatever its weight (100); with several, weights are relative and 0 = none.
  uint32_t effective_weight = 0;
  IstioHeaderOperations headers;
  int line = 0;
};

struct IstioRetry {                            // spec.http[].retries
  uint32_t attempts = 0;                       // 0 disables retries
  std::optional<std::chrono::milliseconds> per_try_timeout;
  std::vector<std::string> retry_on;           // conditions; "" entries never; codes split out
  std::vector<uint16_t> retry_on_codes;        // numeric entries of retryOn
  bool retry_on_written = false;
  std::optional<std::chrono::milliseconds> backoff;
};

// Fault injection. Percentages are parts per million (Istio sends Envoy value * 10000); a
// fault without a percentage applies to no request, exactly as Istio translates it.
struct IstioFaultDelay {
  std::chrono::milliseconds fixed_delay{0};
  uint32_t per_million = 0;
};
struct IstioFaultAbort {
  uint16_t http_status = 0;                    // 200..599; 0 when grpc_status is used
  std::string grpc_status;                     // e.g. "UNAVAILABLE"
  uint32_t per_million = 0;
};
struct IstioFault {
  std::optional<IstioFaultDelay> delay;
  std::optional<IstioFaultAbort> abort;
};

struct IstioMirror {                           // mirror + mirrorPercentage, or mirrors[]
  IstioDestination destination;
  uint32_t per_million = 1'000'000;            // absent percentage = every request
  int list_index = -1;                         // index in mirrors[]; -1 = written as `mirror`
};

struct IstioRewrite {                          // spec.http[].rewrite
  std::string uri;                             // replaces the matched prefix (Envoy prefix_rewrite)
  std::string uri_regex_match;                 // uriRegexRewrite.match ("" = none)
  std::string uri_regex_rewrite;               // uriRegexRewrite.rewrite (\1 style groups)
  std::string authority;
};

struct IstioRedirect {                         // spec.http[].redirect
  std::string uri;                             // "" = keep the path
  std::string authority;                       // "" = keep
  std::string scheme;                          // "" = keep
  std::optional<uint16_t> port;
  bool derive_port_from_request = false;       // derivePort: FROM_REQUEST_PORT
  uint16_t code = 301;                         // redirectCode; Istio's default is 301
};

struct IstioDirectResponse {
  uint16_t status = 200;
  std::string body;
};

struct VsHttpRoute {                           // spec.http[]
  std::string name;
  std::vector<VsMatch> matches;                // empty = every request
  std::vector<VsRouteDestination> route;       // empty only with redirect or directResponse
  std::optional<IstioRedirect> redirect;
  std::optional<IstioDirectResponse> direct_response;
  std::optional<IstioRewrite> rewrite;
  std::optional<std::chrono::milliseconds> timeout;  // nullopt = GatewayConfig default
  std::optional<IstioRetry> retries;           // nullopt = Istio's default policy
  std::optional<IstioFault> fault;
  std::vector<IstioMirror> mirrors;
  IstioHeaderOperations headers;
  int line = 0;
};

struct VirtualService {
  ObjectMeta meta;
  std::string api_version;
  std::vector<std::string> hosts;              // lower-cased; "*" and "*.example.com" allowed
  std::vector<std::string> gateways;           // as written; empty = "mesh"
  int gateways_line = 0;                       // line of spec.gateways (diagnostics)
  std::vector<VsHttpRoute> http;
};

enum class IstioLbPolicy { LeastRequest, RoundRobin, Random, ConsistentHash };

struct IstioConsistentHash {
  enum class Key { Header, Cookie, QueryParameter, SourceIp };
  Key key = Key::Header;
  std::string name;                            // header (lower-cased), cookie or parameter
  std::string cookie_path;
  std::optional<std::chrono::milliseconds> cookie_ttl;
};

struct IstioLoadBalancer {
  IstioLbPolicy policy = IstioLbPolicy::LeastRequest;  // Istio's default (UNSPECIFIED)
  std::optional<IstioConsistentHash> consistent_hash;  // set iff policy == ConsistentHash
};

struct IstioConnectionPool {                   // nullopt = no limit of ours
  std::optional<uint32_t> http1_max_pending_requests;
  std::optional<uint32_t> http2_max_requests;
  std::optional<uint32_t> max_requests_per_connection;
  std::optional<uint32_t> max_retries;
  std::optional<uint32_t> tcp_max_connections;
  std::optional<std::chrono::milliseconds> connect_timeout;
  std::optional<std::chrono::milliseconds> idle_timeout;
};


struct IstioTrafficPolicy {
  std::optional<IstioLoadBalancer> load_balancer;
  std::optional<IstioConnectionPool> connection_pool;
  std::optional<IstioOutlierDetection> outlier_detection;
  std::optional<IstioClientTls> tls;
};

struct DestinationRuleSubset {
  std::string name;                            // a DNS label, unique within the rule
  Labels labels;                               // narrows the Service's selector
  std::optional<IstioTrafficPolicy> traffic_policy;
  int line = 0;
};

struct DestinationRule {
  ObjectMeta meta;
  std::string api_version;
  std::string host;                            // as written
  std::optional<IstioTrafficPolicy> traffic_policy;
  std::vector<DestinationRuleSubset> subsets;
  std::string service_ns;                      // resolved by the loader; "" = no such Service
  std::string service_name;
};

// Istio's merge of a subset's policy over the rule's: each of load balancer, connection pool,
// outlier detection and tls given at subset level replaces the rule's as a whole.
IstioTrafficPolicy merged_traffic_policy(const DestinationRule& rule,
                                         const DestinationRuleSubset* subset);

}  // namespace infergate::config
