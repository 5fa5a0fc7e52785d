#pragma once
// Internal to config/: one parser per resource kind, each reading a document's mapping into
// the model and reporting through the ParseContext. Cross-resource checks live in validate.h.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "config/parse_context.h"

namespace infergate::config::detail {

// A Gateway as a whole (its listeners go into Config::listeners).
struct GatewayRecord {
  std::string ns;
  std::string name;
  std::string resource;  // "Gateway/<name>"
  SourceLocation source;
};

// Everything gathered from all documents before the cross-resource checks.
struct Collected {
  Config config;
  std::vector<GatewayRecord> gateways;
  std::vector<std::string> gateway_config_resources;  // to reject a second GatewayConfig
  std::vector<SourceLocation> gateway_config_sources;
};

// Gateway API hostname: DNS name, optionally "*." wildcard prefix, no port, no trailing dot.
bool valid_hostname(std::string_view h);

// metadata.name (required unless `name_optional`), namespace, labels, creationTimestamp.
ObjectMeta parse_metadata(ParseContext& ctx, const MapView& doc, bool name_optional = false);

// The frame every foreign kind shares: top-level keys, metadata (into *meta) and a required
// spec. Returns the spec; nullopt when the name or the spec is missing (already reported).
std::optional<MapView> parse_object(ParseContext& ctx, const MapView& doc, ObjectMeta* meta);

void parse_gateway_config(ParseContext& ctx, const MapView& doc, Collected& out);
void parse_gateway(ParseContext& ctx, const MapView& doc, Collected& out);
std::optional<Service> parse_service(ParseContext& ctx, const MapView& doc);
std::optional<InferencePool> parse_inference_pool(ParseContext& ctx, const MapView& doc,
                                                  const std::string& api_version);
std::optional<HttpRoute> parse_http_route(ParseContext& ctx, const MapView& doc);
std::optional<VirtualService> parse_virtual_service(ParseContext& ctx, const MapView& doc,
                                                    const std::string& api_version);
// Istio's trafficPolicy.outlierDetection of `parent` (nullopt when absent); also what an
// InferencePool's GatewayConfig endpointPicker entry takes.
std::optional<IstioOutlierDetection> parse_outlier(ParseContext& ctx, const MapView& parent);
std::optional<DestinationRule> parse_destination_rule(ParseContext& ctx, const MapView& doc,
                                                      const std::string& api_version);
// GIE model kinds (parse_inference_models.cc). Pool references are resolved by validate.
std::optional<InferenceModel> parse_inference_model(ParseContext& ctx, const MapView& doc,
                                                    const std::string& api_version);
std::optional<InferenceObjective> parse_inference_objective(ParseContext& ctx, const MapView& doc,
                                                            const std::string& api_version);
std::optional<InferenceModelRewrite> parse_model_rewrite(ParseContext& ctx, const MapView& doc,
                                                         const std::string& api_version);

// Active health checks (parse_health_check.cc): `parent`'s healthCheck in GatewayConfig
// (nullopt when absent), and GKE's HealthCheckPolicy (nullopt when it has errors).
std::optional<HealthCheck> parse_health_check(ParseContext& ctx, const MapView& parent);
std::optional<HealthCheckPolicy> parse_health_check_policy(ParseContext& ctx, const MapView& doc);

// Rollout (parse_rollout.cc); references are checked by validate_rollouts.
std::optional<Rollout> parse_rollout(ParseContext& ctx, const MapView& doc);

// Security kinds. parse_secret returns nullopt for Secrets that carry no TLS material
// (parse_security.cc); parse_authorization_policy is in parse_authorization_policy.cc.
std::optional<TlsSecret> parse_secret(ParseContext& ctx, const MapView& doc);
std::optional<PeerAuthentication> parse_peer_authentication(ParseContext& ctx, const MapView& doc);
std::optional<AuthorizationPolicy> parse_authorization_policy(ParseContext& ctx, const MapView& doc);
// GatewayConfig spec.tls, spec.forwardClientCertDetails, spec.setCurrentClientCertDetails,
// spec.workload (parse_security.cc).
void parse_gateway_security(ParseContext& ctx, const MapView& spec, GatewayConfig& gc);
// Istio trafficPolicy.tls of `parent` (nullopt when absent) (parse_security.cc).
std::optional<IstioClientTls> parse_client_tls(ParseContext& ctx, const MapView& parent);
// GatewayConfig spec.flowControl (parse_flow_control.cc).
void parse_flow_control(ParseContext& ctx, const MapView& m, FlowControlConfig& fc);
// GatewayConfig spec.localRateLimits and spec.connectionLimits (parse_rate_limits.cc).
void parse_rate_limits(ParseContext& ctx, const MapView& spec, GatewayConfig& gc);
// What local rate limits and token budgets share (parse_rate_limits.cc): a policy name that
// labels counters (1 to 128 of [A-Za-z0-9._-]), an RFC 9110 token (header name, method), and
// the request match {routes, hosts, pathPrefix, methods}.
bool valid_policy_name(std::string_view name);
bool valid_token(std::string_view token);
void parse_rate_limit_match(ParseContext& ctx, const MapView& m, RateLimitMatch& match);
// GatewayConfig spec.tokenBudgets and spec.tokenBudgetStore (parse_token_budgets.cc).
void parse_token_budgets(ParseContext& ctx, const MapView& spec, GatewayConfig& gc);

// GatewayConfig spec.admin and spec.stats (parse_admin.cc).
void parse_admin_spec(ParseContext& ctx, const MapView& m, AdminConfig& admin);
void parse_stats_spec(ParseContext& ctx, const MapView& m, StatsListenerConfig& stats);
// A file field made absolute and checked readable (parse_security.cc's file_path rules).
std::optional<std::string> resolve_file(ParseContext& ctx, const MapView& m, std::string_view key);

}  // namespace infergate::config::detail
