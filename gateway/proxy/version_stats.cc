#include "gateway/proxy/version_stats.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "config/cluster_names.h"
#include "metrics/buckets.h"
#include "routing/http_message.h"

namespace infergate::gateway {

namespace {

constexpr std::string_view kHeaderModel = "x-gateway-model-name";
constexpr std::string_view kOther = "other";
// requests[0] counts streams that ended without a status; 1..5 the status classes.
constexpr std::array<std::string_view, 6> kClassLabels = {"reset", "1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr std::array<std::string_view, static_cast<size_t>(ObjectiveError::kCount)> kErrorCodes = {
    "BadRequest", "ModelServerError", "ServiceUnavailable", "InferencePoolResourceExhausted", "Internal"};

metrics::Labels with(metrics::Labels labels, std::string name, std::string_view value) {
  labels.emplace_back(std::move(name), std::string(value));
  return labels;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Every model name the config can route, rewrite or declare: the values of the model label.
std::set<std::string> known_models(const config::Config& config) {
  std::set<std::string> out;
  for (const config::InferenceModel& m : config.inference_models) {
    out.insert(m.model_name);
    for (const auto& t : m.target_models) out.insert(t.name);
  }
  for (const config::InferenceModelRewrite& rw : config.model_rewrites)
    for (const config::ModelRewriteRule& rule : rw.rules) {
      out.insert(rule.exact_models.begin(), rule.exact_models.end());
      for (const auto& t : rule.targets) out.insert(t.model_rewrite);
    }
  for (const config::HttpRoute& route : config.routes)
    for (const config::HttpRouteRule& rule : route.rules)
      for (const config::RouteMatch& m : rule.matches)
        for (const config::HeaderMatch& h : m.headers)
          if (h.type == config::StringMatchType::Exact && iequals(h.name, kHeaderModel)) out.insert(h.value);
  for (const config::VirtualService& vs : config.virtual_services)
    for (const config::VsHttpRoute& http : vs.http)
      for (const config::VsMatch& m : http.matches)
        for (const config::IstioNamedMatch& h : m.headers)
          if (h.match.type == config::IstioMatchType::Exact && h.name == kHeaderModel) out.insert(h.match.value);
  out.erase("");
  return out;
}

}  // namespace

std::string version_of(const pools::Cluster& cluster) {
  if (!cluster.subset.empty()) return cluster.subset;
  const std::string* common = nullptr;
  bool all = !cluster.endpoints.empty();
  for (const auto& ep : cluster.endpoints) {
    auto it = ep->labels.find("version");
    if (it == ep->labels.end() || it->second.empty() || (common && *common != it->second)) {
      all = false;
      break;
    }
    common = &it->second;
  }
  if (all && common) return *common;
  return std::string(config::cluster_object_name(cluster.name));
}

class VersionStatsBuilder {
 public:
  VersionStatsBuilder(VersionStats& out, metrics::Registry& r) : out_(out), r_(r) {}

  VersionStats::Series series(const std::string& route, const std::string& backend, const std::string& version,
                              std::string_view model, std::string_view adapter, bool pool) {
    VersionStats::Series s;
    s.version = version_series(route, backend, version, model, adapter);
    if (pool) s.objective = objective_series(model, adapter.empty() ? model : adapter);
    return s;
  }

 private:
  const VersionSeries* version_series(const std::string& route, const std::string& backend,
                                      const std::string& version, std::string_view model, std::string_view adapter) {
    auto key = std::make_tuple(route, backend, version, std::string(model), std::string(adapter));
    if (auto it = version_cache_.find(key); it != version_cache_.end()) return it->second;
    const metrics::Labels labels{{"route", route},
                                 {"backend", backend},
                                 {"version", version},
                                 {"model", std::string(model)},
                                 {"adapter", std::string(adapter)}};
    auto v = std::make_unique<VersionSeries>();
    for (size_t i = 0; i < kClassLabels.size(); ++i) {
      metrics::Counter c = r_.counter("infergate_version_requests_total",
                                      "Requests per route, backend version, model and adapter, by status class "
                                      "(\"reset\": ended without a status)",
                                      with(labels, "response_code_class", kClassLabels[i]));
      if (i == 0) v->reset = c;
      else v->requests[i - 1] = c;
    }
    for (size_t i = 0; i < kResponseFlagCount; ++i)
      v->errors[i] = r_.sparse_counter("infergate_version_request_errors_total",
                                       "Requests per version that ended with an Envoy response flag, by flag",
                                       with(labels, "response_flag", kResponseFlagNames[i].name));
    v->duration = r_.sparse_histogram("infergate_version_request_duration_seconds",
                                      "Request time per version, request headers in to last response byte out (s)",
                                      metrics::kRequestLatencyBucketsSeconds, labels);
    v->ttft = r_.sparse_histogram("infergate_version_time_to_first_token_seconds",
                                  "Time to the first response body byte per version (s)",
                                  metrics::kRequestLatencyBucketsSeconds, labels);
    v->tpot = r_.sparse_histogram("infergate_version_time_per_output_token_seconds",
                           "Time per output token after the first, of streamed responses, per version (s)",
                           metrics::kTokenLatencyBucketsSeconds, labels);
    v->input_tokens = r_.counter("infergate_version_input_tokens_total",
                                 "Prompt tokens per version, as the model server's usage reports them", labels);
    v->output_tokens = r_.counter("infergate_version_output_tokens_total",
                                  "Completion tokens per version, as the model server's usage reports them", labels);
    const VersionSeries* raw = v.get();
    out_.version_series_.push_back(std::move(v));
    out_.label_set_list_.push_back(
        VersionStats::LabelSet{route, backend, version, std::string(model), std::string(adapter), raw});
    version_cache_.emplace(std::move(key), raw);
    return raw;
  }

  const ObjectiveSeries* objective_series(std::string_view model, std::string_view target) {
    auto key = std::make_pair(std::string(model), std::string(target));
    if (auto it = objective_cache_.find(key); it != objective_cache_.end()) return it->second;
    const metrics::Labels labels{{"model_name", key.first}, {"target_model_name", key.second}};
    auto o = std::make_unique<ObjectiveSeries>();
    o->requests = r_.counter("inference_objective_request_total", "Counter of inference objective requests broken out for each model and target model.", labels);
    for (size_t i = 0; i < kErrorCodes.size(); ++i)
      o->errors[i] = r_.sparse_counter("inference_objective_request_error_total",
                                       "Counter of inference objective requests errors broken out for each model and "
                                       "target model.",
                                       with(labels, "error_code", kErrorCodes[i]));
    o->duration = r_.sparse_histogram("inference_objective_request_duration_seconds",
                               "Inference objective response latency distribution in seconds for each model and "
                               "target model.",
                               metrics::kGieLatencyBucketsSeconds, labels);
    o->normalized_tpot = r_.sparse_histogram("inference_objective_normalized_time_per_output_token_seconds",
                                      "Inference objective latency divided by number of output tokens in seconds for "
                                      "each model and target model.",
                                      metrics::kTokenLatencyBucketsSeconds, labels);
    o->input_tokens = r_.sparse_histogram("inference_objective_input_tokens",
                                   "Inference objective input token count distribution for requests in each model.",
                                   metrics::kTokenCountBuckets, labels);
    o->output_tokens = r_.sparse_histogram("inference_objective_output_tokens",
                                    "Inference objective output token count distribution for requests in each model.",
                                    metrics::kTokenCountBuckets, labels);
    o->request_sizes = r_.sparse_histogram("inference_objective_request_sizes",
                                    "Inference objective requests size distribution in bytes for each model and target "
                                    "model.",
                                    metrics::kSizeBucketsBytes, labels);
    o->response_sizes = r_.sparse_histogram("inference_objective_response_sizes",
                                     "Inference objective responses size distribution in bytes for each model and "
                                     "target model.",
                                     metrics::kSizeBucketsBytes, labels);
    o->running = r_.gauge("inference_objective_running_requests",
                          "Inference objective number of running requests in each model.",
                          {{"model_name", key.first}});
    const ObjectiveSeries* raw = o.get();
    out_.objective_series_.push_back(std::move(o));
    objective_cache_.emplace(std::move(key), raw);
    return raw;
  }

  VersionStats& out_;
  metrics::Registry& r_;
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, const VersionSeries*>
      version_cache_;
  std::map<std::pair<std::string, std::string>, const ObjectiveSeries*> objective_cache_;
};

std::shared_ptr<const VersionStats> VersionStats::build(const config::Config& config, const routing::RouteTable& routes,
                                                        const pools::ClusterSet& clusters,
                                                        const routing::ModelRewriteTable& models,
                                                        metrics::Registry& registry) {
  auto stats = std::make_shared<VersionStats>();
  VersionStatsBuilder builder(*stats, registry);
  // Without body-based routing no request has a model: one label set per backend.
  const std::set<std::string> names =
      config.gateway.body_routing.enabled ? known_models(config) : std::set<std::string>{};
  for (const routing::Route& route : routes.routes()) {
    const std::string route_label = route.route_ns + "/" + route.route_name;
    for (const routing::BackendRef& b : route.backends) {
      const pools::Cluster* cluster = clusters.find(b.cluster);
      if (!cluster) continue;
      const std::string backend(config::cluster_object_name(cluster->name));
      const std::string version = version_of(*cluster);
      const bool pool = config::is_inference_pool_cluster(cluster->name);
      auto entry_for = [&](std::string_view model, std::string_view lookup) {
        ModelEntry e;
        e.adapters.emplace_back("", builder.series(route_label, backend, version, model, "", pool));
        if (!pool) return e;
        for (std::string_view t : models.targets(cluster->name, lookup)) {
          if (t == lookup && lookup == model) continue;  // forwarded as asked: not rewritten
          const bool seen = std::any_of(e.adapters.begin(), e.adapters.end(), [&](const auto& a) { return a.first == t; });
          if (!seen) e.adapters.emplace_back(std::string(t), builder.series(route_label, backend, version, model, t, pool));
        }
        return e;
      };
      BackendEntry& be = stats->backends_[&b];
      be.none.adapters.emplace_back("", builder.series(route_label, backend, version, "", "", pool));
      if (!config.gateway.body_routing.enabled) continue;
      // "" is no model anyone declares (the loader rejects empty names): the generic rewrite.
      be.other = entry_for(kOther, "");
      for (const std::string& m : names) be.models.emplace(m, entry_for(m, m));
    }
  }
  return stats;
}

VersionStats::Series VersionStats::find(const routing::BackendRef* backend, std::optional<std::string_view> model,
                                        std::string_view adapter) const {
  auto it = backends_.find(backend);
  if (it == backends_.end()) return {};
  const BackendEntry& be = it->second;
  const ModelEntry* e = &be.none;
  if (model) {
    auto m = be.models.find(*model);
    e = m != be.models.end() ? &m->second : (be.other.adapters.empty() ? &be.none : &be.other);
  }
  for (const auto& [name, s] : e->adapters)
    if (name == adapter) return s;
  return e->adapters.front().second;
}

void VersionStats::record(const Series& s, const RequestOutcome& o) {
  const bool has_status = o.status >= 100 && o.status < 600;
  std::optional<uint64_t> tokens = o.output_tokens;
  if (!tokens && o.stream_events > 0) tokens = o.stream_events;
  std::optional<double> tpot;
  if (o.stream_events > 0 && tokens && *tokens >= 2 && o.ttft && o.last_byte && *o.last_byte > *o.ttft)
    tpot = seconds(*o.last_byte - *o.ttft) / static_cast<double>(*tokens - 1);
  if (const VersionSeries* v = s.version) {
    (has_status ? v->requests[static_cast<size_t>(o.status / 100 - 1)] : v->reset).inc();
    if (!o.flags.empty()) {
      for (size_t i = 0; i < kResponseFlagCount; ++i)
        if (o.flags.has(kResponseFlagNames[i].flag)) v->errors[i].inc();
    }
    v->duration.observe(seconds(o.duration));
    if (o.ttft && o.status >= 200 && o.status < 300) v->ttft.observe(seconds(*o.ttft));
    if (tpot) v->tpot.observe(*tpot);
    if (o.input_tokens) v->input_tokens.inc(*o.input_tokens);
    if (o.output_tokens) v->output_tokens.inc(*o.output_tokens);
  }
  if (const ObjectiveSeries* g = s.objective) {
    g->requests.inc();
    std::optional<ObjectiveError> error;
    if (o.status == 429 || o.flags.has(ResponseFlag::UpstreamOverflow)) {
      error = ObjectiveError::InferencePoolResourceExhausted;
    } else if (o.flags.has(ResponseFlag::NoHealthyUpstream)) {
      error = ObjectiveError::ServiceUnavailable;
    } else if (!has_status || (o.local_reply && o.status >= 400)) {
      error = ObjectiveError::Internal;
    } else if (o.status >= 500) {
      error = ObjectiveError::ModelServerError;
    } else if (o.status >= 400) {
      error = ObjectiveError::BadRequest;
    }
    if (error) g->errors[static_cast<size_t>(*error)].inc();
    g->duration.observe(seconds(o.duration));
    g->request_sizes.observe(static_cast<double>(o.request_bytes));
    if (has_status) g->response_sizes.observe(static_cast<double>(o.response_bytes));
    if (o.input_tokens) g->input_tokens.observe(static_cast<double>(*o.input_tokens));
    if (o.output_tokens) g->output_tokens.observe(static_cast<double>(*o.output_tokens));
    if (!error && tokens && *tokens > 0) g->normalized_tpot.observe(seconds(o.duration) / static_cast<double>(*tokens));
  }
}

}  // namespace infergate::gateway
