#pragma once
// Gateway API (gateway.networking.k8s.io) kinds: Gateway, as the listeners it declares, and
// HTTPRoute with its matches, filters and backends. Conventions: config/model.h.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/model/common.h"
#include "config/source_location.h"

namespace infergate::config {

// Gateway API Gateway (gateway.networking.k8s.io): one Listener per spec.listeners[] entry,
// and the Gateway itself for what is not per listener (its class and addresses: what its
// status reports, config/kubernetes_status.h).

struct GatewayAddress {
  std::string type = "IPAddress";  // spec.addresses[].type as written (default IPAddress)
  std::string value;
};

struct Gateway {
  ObjectMeta meta;
  std::string class_name;                  // spec.gatewayClassName
  std::vector<GatewayAddress> addresses;   // spec.addresses as written
};

enum class ListenerProtocol { Http, Https };

struct Listener {
  std::string gateway_ns;
  std::string gateway_name;
  std::string name;                 // spec.listeners[].name
  std::string address = "0.0.0.0";  // first spec.addresses[].value of the Gateway
  uint16_t port = 0;                // 1..65535
  ListenerProtocol protocol = ListenerProtocol::Http;
  std::string hostname;             // "" = any; may be a wildcard "*.example.com"
  std::vector<std::string> certificate_refs;  // tls.certificateRefs[].name (HTTPS)
  SourceLocation source;

  // "<gateway ns>/<gateway name>/<listener name>": the listener name RouteTable::match takes.
  std::string key() const { return gateway_ns + "/" + gateway_name + "/" + name; }
};

// ---------------------------------------------------------------------------------------------
// Gateway API HTTPRoute.

struct ParentRef {
  std::string group = "gateway.networking.k8s.io";
  std::string kind = "Gateway";
  std::string name;
  std::string ns;             // resolved: the route's namespace when not written
  bool ns_written = false;    // spec said namespace (status echoes the parentRef as written)
  std::string section_name;   // a listener name; "" = every listener of the parent
  std::optional<uint16_t> port;
  // True when the parent is of a foreign kind (e.g. GKE's InferenceGateway) that is not defined
  // here: the route then attaches to every listener (see routing/route_table.h).
  bool unresolved_foreign = false;
  int line = 0;
};

enum class PathMatchType { Exact, PathPrefix, RegularExpression };
enum class StringMatchType { Exact, RegularExpression };

struct PathMatch {
  PathMatchType type = PathMatchType::PathPrefix;
  std::string value = "/";  // starts with "/" unless type is RegularExpression
};

struct HeaderMatch {
  StringMatchType type = StringMatchType::Exact;
  std::string name;   // as written; compared case-insensitively
  std::string value;
};

struct QueryParamMatch {
  StringMatchType type = StringMatchType::Exact;
  std::string name;   // compared case-sensitively (Gateway API)
  std::string value;
};

struct RouteMatch {
  PathMatch path;
  std::vector<HeaderMatch> headers;
  std::vector<QueryParamMatch> query_params;
  std::string method;  // "" = any method
  int line = 0;
};
enum class PathRewriteType { ReplaceFullPath, ReplacePrefixMatch };

struct PathRewrite {
  PathRewriteType type = PathRewriteType::ReplaceFullPath;
  std::string value;
};

struct UrlRewrite {
  std::string hostname;              // "" = keep
  std::optional<PathRewrite> path;
};

struct RequestRedirect {
  std::string scheme;                // "" = keep
  std::string hostname;              // "" = keep
  std::optional<uint16_t> port;
  std::optional<PathRewrite> path;
  uint16_t status_code = 302;        // 301 | 302 (Gateway API); 303/307/308 accepted too
};

struct RequestMirror {
  std::string group;
  std::string kind = "Service";
  std::string name;
  std::string ns;
  std::optional<uint16_t> port;
  std::optional<uint32_t> percent;   // 0..100; absent = 100
};

enum class FilterType {
  RequestHeaderModifier,
  ResponseHeaderModifier,
  RequestMirror,
  RequestRedirect,
  URLRewrite,
  ExtensionRef,
};

struct HttpRouteFilter {
  FilterType type = FilterType::RequestHeaderModifier;
  HeaderModifier header_modifier;    // Request/ResponseHeaderModifier
  std::optional<RequestMirror> mirror;
  std::optional<RequestRedirect> redirect;
  std::optional<UrlRewrite> url_rewrite;
  std::string extension_ref;         // "group/kind/name" as written (not acted on yet)
  int line = 0;
};

struct BackendRef {
  std::string group;                 // "" = core (Service)
  std::string kind = "Service";      // "Service" | "InferencePool"
  std::string name;
  std::string ns;                    // resolved: the route's namespace when not written
  std::optional<uint16_t> port;      // required for Service, ignored for InferencePool
  uint32_t weight = 1;               // 0..1000000
  std::vector<HttpRouteFilter> filters;
  int line = 0;

  bool is_inference_pool() const { return kind == "InferencePool"; }
};

struct RetryPolicy {                 // HTTPRoute rules[].retry (Gateway API, experimental)
  std::vector<uint16_t> codes;       // 400..599 (VirtualService: any status in retryOn)
  std::optional<uint32_t> attempts;
  std::optional<std::chrono::milliseconds> backoff;
  // Envoy retry_on conditions ("connect-failure", "5xx", ...). Empty for HTTPRoutes; routes
  // built from a VirtualService carry Istio's (default or written) list here.
  std::vector<std::string> retry_on;
};

struct RouteTimeouts {               // nullopt = GatewayConfig default; 0 = no timeout
  std::optional<std::chrono::milliseconds> request;
  std::optional<std::chrono::milliseconds> backend_request;
};

// HTTPRoute rules[].sessionPersistence (Gateway API, extended): requests carrying the same
// session keep going to the same backend of the rule, so an A/B user stays on one version.
struct SessionPersistence {
  enum class Type { Cookie, Header };
  Type type = Type::Cookie;                      // the API default
  std::string session_name;                      // cookie or header name; "" = ours by default
  std::optional<std::chrono::milliseconds> absolute_timeout;  // Cookie: its Max-Age when Permanent
  std::optional<std::chrono::milliseconds> idle_timeout;      // accepted; not tracked (warned)
  bool permanent = false;                        // cookieConfig.lifetimeType Permanent
  int line = 0;
};

struct HttpRouteRule {
  std::string name;                  // rules[].name (optional in Gateway API)
  std::vector<RouteMatch> matches;   // never empty: a rule without matches gets PathPrefix "/"
  std::vector<HttpRouteFilter> filters;
  std::vector<BackendRef> backend_refs;  // may be empty: requests then get 500 (Gateway API)
  RouteTimeouts timeouts;
  std::optional<RetryPolicy> retry;
  std::optional<SessionPersistence> session_persistence;
  int line = 0;
};

struct HttpRoute {
  ObjectMeta meta;
  std::vector<ParentRef> parent_refs;
  std::vector<std::string> hostnames;  // "" entries never; wildcards "*.example.com" allowed
  std::vector<HttpRouteRule> rules;
};

}  // namespace infergate::config
