#include "gateway/control/snapshot.h"

#include <spdlog/spdlog.h>

#include <map>
#include <vector>
#include <mutex>
#include <optional>

#include "gateway/net/tls_setup.h"
#include "gateway/proxy/flow_stats.h"

namespace infergate::gateway {

namespace {

// The channel options of cluster `c`'s EPP; nullopt when a TLS file cannot be read (reported).
std::optional<ext_proc::EppChannelOptions> epp_options(const pools::Cluster& c, TlsBuild& build) {
  const config::EppConnectionSettings& s = c.epp;
  ext_proc::EppChannelOptions o;
  o.target = c.epp_target;
  o.message_timeout = s.message_timeout;
  o.max_body_mutation_bytes = s.max_body_mutation_bytes;
  o.health_interval = s.health_interval;
  o.health_service = s.health_service;
  o.tls.enabled = s.tls;
  o.tls.insecure_skip_verify = s.insecure_skip_verify;
  o.tls.server_name = s.server_name;
  std::string error;
  tls::PemSource pem;
  auto read = [&](const std::string& file, std::string& out) {
    if (file.empty() || !error.empty()) return;
    if (read_pem(file, pem, build, &error)) out = std::move(pem.pem);
  };
  if (s.tls) {
    read(s.ca_file, o.tls.ca_pem);
    read(s.cert_file, o.tls.cert_pem);
    read(s.key_file, o.tls.key_pem);
  }
  if (!error.empty()) {
    if (build.errors)
      build.errors->push_back(config::Diagnostic{s.source.file, s.source.document, "GatewayConfig",
                                                 "spec.endpointPicker.extProc.tls", s.source.line, error});
    return std::nullopt;
  }
  return o;
}

// One gRPC channel per EPP target and settings while any snapshot uses it: a reload keeps
// the connection.
std::shared_ptr<ext_proc::EppChannel> epp_channel(const pools::Cluster& c, TlsBuild& build) {
  auto options = epp_options(c, build);
  if (!options) return nullptr;
  static std::mutex mu;
  static std::vector<std::weak_ptr<ext_proc::EppChannel>> channels;  // a few: one per EPP and settings
  std::lock_guard lock(mu);
  std::erase_if(channels, [](const auto& w) { return w.expired(); });
  for (const auto& w : channels)
    if (auto existing = w.lock(); existing && existing->options() == *options) return existing;
  if (options->tls.enabled && options->tls.insecure_skip_verify)
    spdlog::warn("endpoint picker {} for {}: TLS without verifying the EPP's certificate (insecureSkipVerify, "
                 "the default until spec.endpointPicker.extProc.tls.caFile is set)",
                 options->target, c.name);
  auto channel = ext_proc::EppChannel::create(std::move(*options));
  channels.push_back(channel);
  return channel;
}

// The DestinationRule TLS settings of cluster `c` (Istio applies a host's rule to every
// route reaching it, Gateway API routes included), built into a client context.
std::shared_ptr<const tls::ClientContext> upstream_tls(const config::Config& cfg, const pools::Cluster& c,
                                                       TlsBuild& build) {
  std::string ns = c.service_ns, name = c.service_name;
  if (ns.empty() && c.name.rfind("service/", 0) == 0) {
    // "service/<ns>/<name>/<port>" (config/cluster_names.h)
    const size_t a = c.name.find('/', 8), b = a == std::string::npos ? a : c.name.find('/', a + 1);
    if (b == std::string::npos) return nullptr;
    ns = c.name.substr(8, a - 8);
    name = c.name.substr(a + 1, b - a - 1);
  }
  if (ns.empty()) return nullptr;
  const config::DestinationRule* rule = nullptr;
  const config::DestinationRuleSubset* subset = nullptr;
  if (!c.subset.empty()) subset = cfg.find_subset(ns, name, c.subset, &rule);
  if (!rule) rule = cfg.find_destination_rule(ns, name);
  if (!rule) return nullptr;
  const config::IstioTrafficPolicy policy = config::merged_traffic_policy(*rule, subset);
  if (!policy.tls) return nullptr;
  return build_upstream_tls(cfg, *policy.tls, rule->meta.ns, "DestinationRule/" + rule->meta.name, rule->meta.source,
                            rule->host, c.protocol == pools::UpstreamProtocol::H2c, build);
}

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config, uint64_t version,
                                               std::string source, pools::EndpointRegistry& registry,
                                               metrics::Registry& metrics, std::vector<config::Diagnostic>* errors,
                                               const Snapshot* previous) {
  auto snap = std::make_shared<Snapshot>();
  snap->version = version;
  snap->source = std::move(source);
  snap->routes = routing::RouteTable::build(*config, errors);
  snap->clusters = pools::ClusterSet::build(*config, registry, errors);
  snap->models = routing::ModelRewriteTable::build(*config);
  snap->cluster_stats.reserve(snap->clusters->clusters().size());
  TlsBuild tls_build;
  tls_build.errors = errors;
  for (const auto& c : snap->clusters->clusters()) {
    snap->cluster_stats.emplace_back(metrics, c.name);
    if (c.flow) snap->cluster_stats.back().flow = FlowStats::make(metrics, c, *config);
    snap->epp_channels.push_back(c.endpoint_picker ? epp_channel(c, tls_build) : nullptr);
    snap->upstream_tls.push_back(upstream_tls(*config, c, tls_build));
  }
  snap->tls_files = std::move(tls_build.files);
  const std::string& workload_ns =
      config->gateway.workload.ns.empty() ? config->gateway.meta.ns : config->gateway.workload.ns;
  snap->authz = std::make_shared<const routing::AuthorizationEngine>(
      routing::AuthorizationEngine::build(config->authorization_policies, config->gateway.workload, workload_ns));
  for (const auto& name : snap->authz->policy_names()) {
    // Envoy's RBAC per-policy view, "<ns>.<name>" as Istio names policies.
    const std::string envoy = "http.ingress_http.rbac.policy." + name + ".";
    auto counter = [&](const char* result) {
      return metrics.counter("infergate_rbac_policy_total", "Requests an AuthorizationPolicy decided or audited",
                             {{"policy", name}, {"result", result}}, envoy + result);
    };
    snap->authz_stats.push_back({counter("allowed"), counter("denied"), counter("audit")});
  }
  snap->authz_none_denied =
      metrics.counter("infergate_rbac_policy_total", "Requests an AuthorizationPolicy decided or audited",
                      {{"policy", "none"}, {"result", "denied"}}, "http.ingress_http.rbac.policy.none.denied");
  snap->rate_limiter = routing::LocalRateLimiter::build(config->gateway.local_rate_limits,
                                                        previous ? previous->rate_limiter.get() : nullptr);
  for (const auto& name : snap->rate_limiter->policy_names()) {
    // Envoy's local_ratelimit stats (<stat_prefix>.http_local_rate_limit.ok / rate_limited),
    // the policy name as the stat prefix.
    const std::string envoy = "http_local_rate_limit." + name + ".";
    auto counter = [&](const char* result, const char* stat) {
      return metrics.counter("infergate_local_rate_limit_total", "Requests a local rate limit policy saw, by result",
                             {{"policy", name}, {"result", result}}, envoy + stat);
    };
    snap->rate_limit_stats.push_back({counter("ok", "ok"), counter("rate_limited", "rate_limited"),
                                      counter("shadow_limited", "shadow_limited")});
  }
  snap->token_budgets =
      build_token_budget_runtime(config->gateway, metrics, previous ? &previous->token_budgets : nullptr);
  if (config->gateway.metrics.per_version)
    snap->version_stats = VersionStats::build(*config, *snap->routes, *snap->clusters, *snap->models, metrics);
  snap->config = std::move(config);
  return snap;
}

}  // namespace infergate::gateway
