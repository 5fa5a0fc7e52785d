#pragma once
// infergate's own GatewayConfig (infergate.dev/v1alpha1) and the static endpoints it declares.
// Its admin, rate-limit, TLS and picker parts are in admin_model.h, rate_limit_model.h,
// security.h and inference.h. Conventions: config/model.h.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/admin_model.h"
#include "config/model/common.h"
#include "config/model/dns.h"
#include "config/model/flow_control.h"
#include "config/model/inference.h"
#include "config/model/security.h"
#include "config/model/token_budget.h"
#include "config/rate_limit_model.h"
#include "config/source_location.h"

namespace infergate::config {

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
  // Bytes that open no stream (HTTP/2 PING, SETTINGS, WINDOW_UPDATE) do not make it busy.
  std::chrono::milliseconds idle{std::chrono::hours(1)};
  // From the first byte of a downstream request head (or of the HTTP/2 preface) until the
  // head is complete (Envoy HCM request_headers_timeout, which Envoy leaves off): a slowloris
  // client trickling a head byte by byte is answered 408 and closed, not held for the idle
  // timeout. 10 s, as the TLS handshake's bound: plenty for any honest client.
  std::chrono::milliseconds request_headers{std::chrono::seconds(10)};
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

// How a weighted rule picks its backend per request (spec.trafficSplit.selection).
//  Smooth: a low-discrepancy sequence: a 90/10 split sends every ~10th request to the 10 %
//          side, the proportions are exact within a few hundred requests (the default).
//  Random: an independent draw per request, as Envoy's weighted clusters: the 10 % side may
//          get several in a row. Tools that probe a split that way (the Inference Extension
//          conformance suite's warmup waits for three answers in a row from the 30 % side)
//          need it.
enum class SplitSelection { Smooth, Random };

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
  DnsConfig dns;                                 // spec.dns (config/model/dns.h)
  FlowControlConfig flow_control;                // spec.flowControl (config/model/flow_control.h)
  std::vector<TokenBudget> token_budgets;        // spec.tokenBudgets (config/model/token_budget.h)
  TokenBudgetStore token_budget_store;           // spec.tokenBudgetStore
  SplitSelection split_selection = SplitSelection::Smooth;  // spec.trafficSplit.selection
};

// A pod outside a cluster (GatewayConfig spec.endpoints[]), or a ready pod / EndpointSlice
// address read from the Kubernetes API (config/kubernetes_endpoints.h). Selected by
// InferencePool and Service selectors through `labels`, exactly as the pod's labels would be
// inside a cluster. `port`, when given, REPLACES the target port of every Service/InferencePool
// selecting this endpoint: several simulated pods on one host cannot all listen on the pool's
// targetPort.
struct Endpoint {
  std::string name;       // unique among endpoints
  std::string address;    // IP or hostname
  std::optional<uint16_t> port;
  Labels labels;
  SourceLocation source;
  // From the cluster: the pod's namespace, so only selectors of that namespace pick it. ""
  // (static endpoints) = selectable from every namespace, as before.
  std::string ns;
  // From an EndpointSlice of a Service without a selector: that Service's name (in `ns`); such
  // an endpoint is that Service's only, never picked by a label selector.
  std::string service;
};

// Whether a Service or InferencePool of namespace `ns` with `selector` picks `ep`.
bool endpoint_selected(const Labels& selector, std::string_view ns, const Endpoint& ep);
// Whether the selector-less Service `ns`/`name` owns `ep` (its EndpointSlices).
bool endpoint_of_service(std::string_view ns, std::string_view name, const Endpoint& ep);

}  // namespace infergate::config
