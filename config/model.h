#pragma once
// The validated configuration model: plain structs, one per resource kind we act on, already
// checked by the loader (types, ranges, required fields, references). Nothing here parses or
// validates; consumers (routing/, pools/, gateway/) may rely on every invariant noted below.
//
// Namespaces: a resource without metadata.namespace is in "default" (as kubectl would put it).
// A reference without a namespace points into the referring resource's namespace.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/admin_model.h"
#include "config/authorization_policy.h"
#include "config/rate_limit_model.h"
#include "config/security_model.h"
#include "config/source_location.h"

namespace infergate::config {

using Labels = std::map<std::string, std::string>;

struct ObjectMeta {
  std::string name;
  std::string ns = "default";
  Labels labels;
  std::string creation_timestamp;  // RFC 3339 as written, "" when absent (route precedence)
  SourceLocation source;
};

// ---------------------------------------------------------------------------------------------
// GatewayConfig (apiVersion infergate.dev/v1alpha1): what the Kubernetes kinds do not cover.
// At most one per configuration; absent = all defaults and no static endpoints.

enum class AccessLogFormat { Envoy, Json };

struct AccessLogConfig {
  std::string path;  // "" disables the access log; otherwise the file is appended to
  AccessLogFormat format = AccessLogFormat::Envoy;
};

struct Limits {
  // Envoy max_request_headers_kb default 60.
  uint32_t max_request_headers_bytes = 60 * 1024;
  // Envoy common_http_protocol_options.max_headers_count default 100.
  uint32_t max_headers_count = 100;
  // 0 = unlimited: prompts with long contexts are large and are streamed, not buffered.
  uint64_t max_request_body_bytes = 0;
  // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS we advertise downstream.
  uint32_t max_concurrent_streams = 100;
  // HTTP/2 initial stream window. Envoy defaults to 256 MiB and bounds memory with its
  // buffer watermarks; our codec holds unconsumed data against the window instead, so the
  // window is the per-stream memory bound: 1 MiB keeps loopback and LAN uploads at full
  // speed while a stalled upstream parks at most that much per stream.
  uint32_t h2_initial_stream_window_bytes = 1024u * 1024;
  // Bytes buffered per stream before reading pauses (Envoy per_connection_buffer_limit_bytes).
  uint32_t per_stream_buffer_limit_bytes = 1024 * 1024;
};

// 0 always means "no timeout".
struct Timeouts {
  // Envoy cluster connect_timeout default 5 s.
  std::chrono::milliseconds connect{5000};
  // Whole request including the streamed response. Envoy's route default is 15 s, which cuts
  // long LLM generations mid-stream; an inference gateway defaults to none and relies on the
  // idle timeouts below to catch a stuck upstream. Routes override it (HTTPRoute timeouts).
  std::chrono::milliseconds request{0};
  // Per upstream attempt (Envoy per_try_timeout, default none). HTTPRoute backendRequest overrides.
  std::chrono::milliseconds per_try{0};
  // Connection without any stream, downstream and upstream (Envoy common idle_timeout, 1 h).
  std::chrono::milliseconds idle{std::chrono::hours(1)};
  // A stream with no bytes either way (Envoy HCM stream_idle_timeout, 5 min): catches a model
  // server that stopped emitting tokens without closing.
  std::chrono::milliseconds stream_idle{std::chrono::minutes(5)};
  // Grace period for in-flight requests on shutdown/listener drain.
  std::chrono::milliseconds drain{std::chrono::seconds(20)};
};

// Body-based routing (the Inference Extension's BBR): the JSON body's top-level "model" is read
// before route matching and exposed as X-Gateway-Model-Name, so routes can match models and
// LoRA adapters, and InferenceModel / InferenceModelRewrite can rewrite it. The body is held
// (never sent upstream) until the object ends or `max_bytes` arrived; a longer body is routed
// on the "model" read so far. Only POST/PUT/PATCH bodies that are not gRPC or multipart.
struct BodyRouting {
  bool enabled = true;
  uint32_t max_bytes = 1024 * 1024;  // = the per-stream buffer: holding it costs nothing extra
  // X-Gateway-Model-Name is the gateway's own conclusion about the body, so a client's value is
  // removed from every request, except from these mTLS principals (a trusted front proxy that
  // read the body itself); "*" = any verified client certificate. The body still wins when it
  // names a model.
  std::vector<std::string> trusted_model_header_principals;  // spec.bodyRouting.trustedModelHeaderPrincipals
};

// GatewayConfig spec.pathNormalization: Istio's meshConfig.pathNormalization, applied to
// every request's path before anything reads it (routing/path_normalization.h). BASE is
// Istio's default; the escaped-slash action is Envoy's path_with_escaped_slashes_action,
// KEEP_UNCHANGED by default as in Envoy and Istio (DECODE_AND_MERGE_SLASHES is Istio's
// MERGE_SLASHES plus UNESCAPE_AND_FORWARD, so it implies that action).
enum class PathNormalizationMode : uint8_t { None, Base, MergeSlashes, DecodeAndMergeSlashes };
enum class EscapedSlashesAction : uint8_t { KeepUnchanged, RejectRequest, UnescapeAndRedirect, UnescapeAndForward };
struct PathNormalization {
  PathNormalizationMode normalization = PathNormalizationMode::Base;
  EscapedSlashesAction escaped_slashes = EscapedSlashesAction::KeepUnchanged;
};

// Scraping the model servers of InferencePools (their /metrics: queue depth, KV-cache use,
// loaded LoRA adapters), the signals the endpoint picker and the pool gauges read. Defaults are
// the Inference Extension's: every 50 ms, data older than 200 ms is stale.
struct ModelServerMetrics {
  bool enabled = true;
  std::string path = "/metrics";
  std::chrono::milliseconds interval{50};
  std::chrono::milliseconds timeout{1000};      // one scrape, connect included
  std::chrono::milliseconds stale_after{200};
};

// The families infergate adds to Envoy's (which are always there).
struct MetricsConfig {
  // infergate_version_* and the Inference Extension's inference_objective_* families, one
  // label set per (route, backend, version, model, adapter).
  bool per_version = true;
};

// Istio DestinationRule trafficPolicy.outlierDetection (also an InferencePool's, through
// GatewayConfig endpointPicker).
struct IstioOutlierDetection {                 // nullopt = Envoy's default for that field
  std::optional<uint32_t> consecutive_5xx_errors;
  std::optional<uint32_t> consecutive_gateway_errors;
  std::optional<std::chrono::milliseconds> interval;
  std::optional<std::chrono::milliseconds> base_ejection_time;
  std::optional<uint32_t> max_ejection_percent;  // 0..100
};

// How an InferencePool chooses the model server for a request (pools/endpoint_picker.h).
// Profiles: the Inference Extension's default scheduler (scraped queue, KV cache and
// prefix-cache scorers), infergate's (the same plus LoRA affinity, with the gateway's own
// in-flight counts so picks between two scrapes do not herd onto one server), or a plain
// load balancer for comparison.
enum class PickerProfile { Infergate, InferenceExtension, LeastRequest, RoundRobin };

struct ScorerWeights {
  double queue = 2, kv_cache = 2, prefix_cache = 3, lora_affinity = 1;
  double prefill = 2;  // infergate's: pending prefill bytes (the Inference Extension has none)
};

struct PickerSettings {
  PickerProfile profile = PickerProfile::Infergate;
  std::optional<ScorerWeights> weights;  // nullopt = the profile's (the Inference Extension: no LoRA)
  // Saturation (the Inference Extension's defaults): waiting queue >= 5 or KV-cache use >= 0.8.
  // When every endpoint is saturated, sheddable requests get 429.
  uint32_t queue_threshold = 5;
  double kv_cache_threshold = 0.8;
  // Prefix-cache affinity: prompt blocks of 64 bytes (~16 tokens), the first 256 hashed, an
  // index of 31250 blocks per server (the Inference Extension's defaults).
  uint32_t prefix_block_bytes = 64;
  uint32_t prefix_max_blocks = 256;
  uint32_t prefix_blocks_per_server = 31250;
  // Passive outlier detection of the pool's endpoints, Istio's outlierDetection fields;
  // nullopt = Envoy's defaults (5 consecutive 5xx, 30 s base ejection, 10 %).
  std::optional<IstioOutlierDetection> outlier_detection;
  SourceLocation source;
};

struct PoolPickerSettings {
  std::string ns, name;  // the InferencePool
  PickerSettings settings;
  std::string field_path;  // for validation messages
};

struct EndpointPickerConfig {
  PickerSettings defaults;                 // every InferencePool without its own entry
  std::vector<PoolPickerSettings> pools;   // spec.endpointPicker.pools[]
  // The settings pool ns/name uses.
  const PickerSettings& for_pool(std::string_view ns, std::string_view name) const {
    for (const auto& p : pools)
      if (p.ns == ns && p.name == name) return p.settings;
    return defaults;
  }
};

struct GatewayConfig {
  ObjectMeta meta;          // name "" when no GatewayConfig document was given
  uint32_t workers = 0;     // 0 = one worker per core
  AdminConfig admin;
  AccessLogConfig access_log;
  Limits limits;
  Timeouts timeouts;
  BodyRouting body_routing;
  ModelServerMetrics model_server_metrics;
  MetricsConfig metrics;
  EndpointPickerConfig endpoint_picker;
  MeshTls tls;                                   // spec.tls
  ForwardClientCertConfig forward_client_cert;   // spec.forwardClientCertDetails / setCurrentClientCertDetails
  WorkloadIdentity workload;                     // spec.workload
  std::vector<LocalRateLimit> local_rate_limits; // spec.localRateLimits
  ConnectionLimits connection_limits;            // spec.connectionLimits
  std::optional<StatsListenerConfig> stats;      // spec.stats (admin_model.h)
  PathNormalization path_normalization;          // spec.pathNormalization
};

// A pod outside a cluster (GatewayConfig spec.endpoints[]). Selected by InferencePool and
// Service selectors through `labels`, exactly as the pod's labels would be inside a cluster.
// `port`, when given, REPLACES the target port of every Service/InferencePool selecting this
// endpoint: several simulated pods on one host cannot all listen on the pool's targetPort.
struct Endpoint {
  std::string name;       // unique among endpoints
  std::string address;    // IP or hostname
  std::optional<uint16_t> port;
  Labels labels;
  SourceLocation source;
};

// ---------------------------------------------------------------------------------------------
// Gateway API Gateway (gateway.networking.k8s.io): one Listener per spec.listeners[] entry.

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
// Kubernetes v1 Service.

struct ServicePort {
  std::string name;
  uint16_t port = 0;             // 1..65535
  uint16_t target_port = 0;      // numeric targetPort; defaults to `port`; 0 when named
  std::string target_port_name;  // named targetPort (needs an endpoint port override)
  std::string app_protocol;      // e.g. "kubernetes.io/h2c"
};

struct Service {
  ObjectMeta meta;
  Labels selector;  // empty selector selects nothing (as in Kubernetes)
  std::vector<ServicePort> ports;
};

// ---------------------------------------------------------------------------------------------
// Gateway API Inference Extension InferencePool, v1 (inference.networking.k8s.io) and
// v1alpha2 (inference.networking.x-k8s.io), normalised into one struct.

enum class AppProtocol { Http, H2c };
enum class FailureMode { FailClose, FailOpen };

struct EndpointPickerRef {
  std::string name;          // a Service in the pool's namespace
  uint16_t port = 9002;      // v1 port.number / v1alpha2 portNumber; GIE convention 9002
  FailureMode failure_mode = FailureMode::FailClose;  // API default
};

struct InferencePool {
  ObjectMeta meta;
  std::string api_version;          // as written, to tell v1 from v1alpha2 in dumps
  Labels selector;                  // spec.selector.matchLabels (v1alpha2: spec.selector)
  std::vector<uint16_t> target_ports;  // 1..8 entries (v1alpha2: the one targetPortNumber)
  AppProtocol app_protocol = AppProtocol::Http;
  std::optional<EndpointPickerRef> endpoint_picker;  // v1 endpointPickerRef / v1alpha2 extensionRef
};

// ---------------------------------------------------------------------------------------------
// Gateway API HTTPRoute.

struct ParentRef {
  std::string group = "gateway.networking.k8s.io";
  std::string kind = "Gateway";
  std::string name;
  std::string ns;             // resolved: the route's namespace when not written
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

struct HeaderValue {
  std::string name;
  std::string value;
};

struct HeaderModifier {
  std::vector<HeaderValue> set;
  std::vector<HeaderValue> add;
  std::vector<std::string> remove;
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

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Gateway API Inference Extension model kinds: InferenceModel (v1alpha2,
// inference.networking.x-k8s.io), InferenceObjective (v1alpha2 x-k8s.io, and under
// inference.networking.k8s.io), InferenceModelRewrite (v1alpha2, either group). They never
// route by themselves: once a request's backend is an InferencePool, the pool's models say
// how the body's `model` is rewritten and how important the request is.

// A reference to an InferencePool in the referring resource's namespace (GIE forbids others).
struct PoolRef {
  std::string group;          // as written; "" when absent
  std::string kind = "InferencePool";
  std::string name;
  std::string ns;             // resolved: the referring resource's namespace
  int line = 0;
};

enum class Criticality { Critical, Standard, Sheddable };

struct TargetModel {          // InferenceModel spec.targetModels[]
  std::string name;
  uint32_t weight = 1;        // 1..1000000 (GIE: all written or none; none = equal split)
  int line = 0;
};

struct InferenceModel {
  ObjectMeta meta;
  std::string api_version;
  std::string model_name;                 // spec.modelName: the body's `model` it claims
  Criticality criticality = Criticality::Standard;  // absent = Standard
  bool criticality_written = false;
  std::vector<TargetModel> target_models;  // empty = forwarded under model_name unchanged
  PoolRef pool_ref;
};

struct InferenceObjective {
  ObjectMeta meta;
  std::string api_version;
  std::optional<int32_t> priority;        // unset = 0 for consumers; negative = sheddable
  PoolRef pool_ref;
};

struct ModelRewriteTarget {   // InferenceModelRewrite spec.rules[].targets[]
  std::string model_rewrite;
  uint32_t weight = 1;        // absent = 1 (equal split among unweighted targets)
  int line = 0;
};

struct ModelRewriteRule {     // spec.rules[]
  // matches[].model.value (type Exact, the only one GIE defines). Empty = this rule matches
  // every model not matched by an exact rule (GIE's generic fallback).
  std::vector<std::string> exact_models;
  std::vector<ModelRewriteTarget> targets;  // at least one
  int line = 0;
};

struct InferenceModelRewrite {
  ObjectMeta meta;
  std::string api_version;
  PoolRef pool_ref;
  std::vector<ModelRewriteRule> rules;
};

// ---------------------------------------------------------------------------------------------
// Rollout (infergate.dev/v1alpha1): a progressive canary of one route rule's two backends (or
// of an InferenceModel's targetModels), run by the gateway itself: Argo Rollouts' canary steps
// (setWeight, pause) gated by Flagger-style analysis of the gateway's own per-version metrics.

enum class RolloutTargetKind { HttpRoute, VirtualService, InferenceModel };

struct RolloutTarget {
  RolloutTargetKind kind = RolloutTargetKind::HttpRoute;
  std::string ns;    // the Rollout's namespace unless written
  std::string name;
  std::optional<size_t> rule;  // HTTPRoute rules[i] / VirtualService http[i]; nullopt = the only one
  std::string rule_name;       // or by name
  int line = 0;
};

struct RolloutStep {
  enum class Kind { SetWeight, Pause };
  Kind kind = Kind::SetWeight;
  uint32_t weight = 0;  // SetWeight: the canary's percent, 0..100
  std::optional<std::chrono::milliseconds> duration;  // Pause: nullopt = until resumed or promoted
  int line = 0;
};

enum class GateMetric { ErrorRate, LatencyP99, TtftP90, TpotP90 };

// One check of an analysis. Absolute (`max`: a ratio 0..1 for the error rate, seconds for the
// latencies) and/or relative to the stable version over the same window (`max_ratio`: canary
// / stable; for the error rate `max_increase`: canary - stable, in points of 0..1).
struct RolloutGate {
  GateMetric metric = GateMetric::ErrorRate;
  std::optional<double> max;
  std::optional<double> max_ratio;
  std::optional<double> max_increase;
  int line = 0;
};

// An external check: an instant PromQL query whose first sample must stay within bounds.
struct PrometheusGate {
  std::string address;  // http://host:port
  std::string query;
  std::optional<double> max, min;
  int line = 0;
};

struct RolloutAnalysis {
  std::chrono::milliseconds interval{10000};  // between verdicts
  std::chrono::milliseconds window{0};        // the sliding window a verdict reads; 0 = interval
  uint32_t failure_limit = 2;                 // failed verdicts in a row that abort
  uint32_t min_requests = 20;                 // canary requests in the window before any verdict
  std::vector<RolloutGate> gates;
  std::vector<PrometheusGate> prometheus;
};

struct RolloutHeaderCanary {
  std::string name;   // lower-cased
  std::string value;  // exact
};

struct Rollout {
  ObjectMeta meta;
  RolloutTarget target;
  std::string stable, canary;  // backends as POST /weights names them (backendRef, subset, targetModel)
  std::vector<RolloutStep> steps;
  RolloutAnalysis analysis;
  std::optional<RolloutHeaderCanary> canary_header;  // such requests always reach the canary
};

// ---------------------------------------------------------------------------------------------

struct Config {
  GatewayConfig gateway;
  std::vector<Listener> listeners;
  std::vector<Endpoint> endpoints;     // from GatewayConfig spec.endpoints
  std::vector<Service> services;
  std::vector<InferencePool> pools;
  std::vector<HttpRoute> routes;
  std::vector<VirtualService> virtual_services;   // sorted oldest first (Istio's merge order)
  std::vector<DestinationRule> destination_rules;  // sorted oldest first
  std::vector<InferenceModel> inference_models;             // sorted oldest first
  std::vector<InferenceObjective> inference_objectives;
  std::vector<InferenceModelRewrite> model_rewrites;        // sorted oldest first
  std::vector<Rollout> rollouts;
  std::vector<TlsSecret> secrets;                          // kubernetes.io/tls (and CA) Secrets
  std::vector<PeerAuthentication> peer_authentications;
  std::vector<AuthorizationPolicy> authorization_policies;  // sorted oldest first

  const Service* find_service(std::string_view ns, std::string_view name) const;
  const InferencePool* find_pool(std::string_view ns, std::string_view name) const;
  // The oldest DestinationRule whose host is the Service ns/name; nullptr when none.
  const DestinationRule* find_destination_rule(std::string_view service_ns,
                                               std::string_view service_name) const;
  // Subset `subset` of Service ns/name in the oldest rule that defines it (Istio merges the
  // rules of one host; an earlier subset of the same name wins). `rule` gets its rule.
  const DestinationRuleSubset* find_subset(std::string_view service_ns,
                                           std::string_view service_name,
                                           std::string_view subset,
                                           const DestinationRule** rule = nullptr) const;
  // Secret ns/name holding TLS or CA material; nullptr when none. effective_mtls
  // (security_model.h) resolves PeerAuthentication for the gateway's workload.
  const TlsSecret* find_secret(std::string_view ns, std::string_view name) const;
  // GatewayConfig spec.tls.certificates[] entry `name`; nullptr when none.
  const CertificateFiles* find_certificate_files(std::string_view name) const;
};

// True when every selector label is present in `labels` with the same value. An empty
// selector matches nothing (Kubernetes Services with no selector get no endpoints).
bool selector_matches(const Labels& selector, const Labels& labels);

}  // namespace infergate::config
