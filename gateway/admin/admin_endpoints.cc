// The admin API: Envoy's paths (/ready, /server_info, /stats, /stats/prometheus,
// /config_dump, /clusters, /healthcheck/fail|ok, /drain_listeners, /quitquitquit,
// /reset_counters, /logging) plus /metrics and /pools. Registered by the Server, which owns the
// state they show; every handler runs on the control thread.
#include <boost/asio/post.hpp>

#include <nlohmann/json.hpp>
#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <limits>

#include "config/cluster_names.h"
#include "gateway/net/server.h"

namespace infergate::gateway {

namespace {

using nlohmann::json;

constexpr const char* kVersion = "infergate/0.1.0";

std::string filter_lines(const std::string& text, const std::string& pattern, std::string* error) {
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok()) {
    *error = "invalid filter regex: " + re.error();
    return {};
  }
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    std::string_view name = line.substr(0, line.find(':'));
    if (RE2::PartialMatch(name, re)) out.append(line).push_back('\n');
    start = end + 1;
  }
  return out;
}

json labels_json(const config::Labels& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

json config_dump(const Snapshot& s) {
  const config::Config& c = *s.config;
  json j;
  j["version"] = s.version;
  j["source"] = s.source;
  json gw;
  gw["workers"] = c.gateway.workers;
  gw["admin"] = {{"address", c.gateway.admin.address}, {"port", c.gateway.admin.port}};
  {  // who may use it (never a token or key: paths and names only)
    const config::AdminConfig& a = c.gateway.admin;
    json auth = {{"token_file", a.auth.token_file},
                 {"allowed_principals", a.auth.allowed_principals},
                 {"require_for_read_only", a.auth.require_for_read_only}};
    gw["admin"]["auth"] = a.auth.configured() ? auth : json(nullptr);
    gw["admin"]["tls"] = a.tls.enabled() ? json{{"cert_file", a.tls.cert_file}, {"ca_file", a.tls.ca_file}} : json(nullptr);
    gw["admin"]["limits"] = {{"max_body_bytes", a.limits.max_body_bytes},
                             {"max_config_body_bytes", a.limits.max_config_body_bytes},
                             {"max_nesting_depth", a.limits.max_nesting_depth},
                             {"requests_per_second", a.limits.requests_per_second},
                             {"burst", a.limits.burst}};
    gw["stats"] = c.gateway.stats ? json{{"address", c.gateway.stats->address}, {"port", c.gateway.stats->port}}
                                  : json(nullptr);
  }
  gw["access_log"] = {{"path", c.gateway.access_log.path},
                      {"format", c.gateway.access_log.format == config::AccessLogFormat::Json ? "json" : "envoy"}};
  const auto& t = c.gateway.timeouts;
  gw["timeouts_ms"] = {{"connect", t.connect.count()}, {"request", t.request.count()}, {"per_try", t.per_try.count()},
                       {"idle", t.idle.count()},       {"stream_idle", t.stream_idle.count()}, {"drain", t.drain.count()},
                       {"request_headers", t.request_headers.count()}};
  const auto& l = c.gateway.limits;
  gw["limits"] = {{"max_request_headers_bytes", l.max_request_headers_bytes},
                  {"max_headers_count", l.max_headers_count},
                  {"max_request_body_bytes", l.max_request_body_bytes},
                  {"max_concurrent_streams", l.max_concurrent_streams}};
  {
    static constexpr const char* kModes[] = {"NONE", "BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"};
    static constexpr const char* kSlashes[] = {"KEEP_UNCHANGED", "REJECT_REQUEST", "UNESCAPE_AND_REDIRECT",
                                               "UNESCAPE_AND_FORWARD"};
    const auto& p = c.gateway.path_normalization;
    gw["path_normalization"] = {{"normalization", kModes[static_cast<size_t>(p.normalization)]},
                                {"path_with_escaped_slashes", kSlashes[static_cast<size_t>(p.escaped_slashes)]}};
    const auto& b = c.gateway.body_routing;
    gw["body_routing"] = {{"enabled", b.enabled},
                          {"max_bytes", b.max_bytes},
                          {"trusted_model_header_principals", b.trusted_model_header_principals}};
  }
  j["gateway"] = gw;
  json listeners = json::array();
  for (const auto& li : c.listeners)
    listeners.push_back({{"name", li.key()},
                         {"address", li.address},
                         {"port", li.port},
                         {"protocol", li.protocol == config::ListenerProtocol::Https ? "HTTPS" : "HTTP"},
                         {"hostname", li.hostname}});
  j["listeners"] = listeners;
  json routes = json::array();
  for (const auto& r : s.routes->routes()) {
    json backends = json::array();
    for (const auto& b : r.backends) backends.push_back({{"cluster", b.cluster}, {"weight", b.weight}});
    routes.push_back({{"name", r.name},
                      {"backends", backends},
                      {"request_timeout_ms", r.request_timeout.count()},
                      {"source", r.source.file + ":" + std::to_string(r.source.line)}});
  }
  j["routes"] = routes;
  json clusters = json::array();
  for (const auto& cl : s.clusters->clusters()) {
    json eps = json::array();
    for (const auto& e : cl.endpoints)
      eps.push_back({{"address", e->key()}, {"name", e->name}, {"labels", labels_json(e->labels)}});
    clusters.push_back({{"name", cl.name},
                        {"protocol", cl.protocol == pools::UpstreamProtocol::H2c ? "h2c" : "http/1.1"},
                        {"endpoints", eps}});
  }
  j["clusters"] = clusters;
  json endpoints = json::array();
  for (const auto& e : c.endpoints) {
    json ej = {{"name", e.name}, {"address", e.address}, {"labels", labels_json(e.labels)}};
    if (e.port) ej["port"] = *e.port;
    endpoints.push_back(ej);
  }
  j["endpoints"] = endpoints;
  return j;
}

std::string health_flags(const pools::EndpointState& e, int64_t now) {
  if (!e.healthy.load(std::memory_order_relaxed) || !e.hc_healthy.load(std::memory_order_relaxed))
    return "/failed_active_hc";
  if (e.ejected(now)) return "/failed_outlier_check";
  return "healthy";
}

// The endpoint's active health check (gateway/control/health_checker.h), under the caller's
// lock of detail_mu; null when no check covers it.
json health_check_json(const pools::EndpointState& e, int64_t now) {
  const auto& d = e.hc_detail;
  if (d.origin.empty()) return nullptr;
  return {{"healthy", e.hc_healthy.load(std::memory_order_relaxed)},
          {"checks", d.checks},
          {"consecutive_passes", d.consecutive_passes},
          {"consecutive_failures", d.consecutive_failures},
          {"last_check_ms_ago", d.last_check_ms == 0 ? json(nullptr) : json(now - d.last_check_ms)},
          {"last_failure", d.last_failure},
          {"origin", d.origin}};
}

// The pool's external endpoint picker: where, how (TLS, timeout, health) and what its channel
// saw (pools/ext_proc/epp_client.h); null without an endpointPickerRef.
json endpoint_picker_json(const pools::Cluster& c, const ext_proc::EppChannel* channel) {
  if (!c.endpoint_picker) return nullptr;
  const config::EppConnectionSettings& s = c.epp;
  json out = {{"name", c.endpoint_picker->name},
              {"target", c.epp_target},
              {"failure_mode", c.endpoint_picker->failure_mode == config::FailureMode::FailOpen ? "FailOpen" : "FailClose"},
              {"tls", !s.tls ? "disabled" : s.insecure_skip_verify ? "unverified" : "verified"},
              {"message_timeout_ms", s.message_timeout.count()},
              {"health_interval_ms", s.health_interval.count()},
              {"subset_hint", s.subset_hint}};
  if (!channel) return out;
  const ext_proc::EppChannelStats& st = channel->stats();
  out["ready"] = channel->ready();
  out["stats"] = {{"calls", st.calls.load()},
                  {"endpoints", st.endpoints.load()},
                  {"immediate_responses", st.immediate.load()},
                  {"failures", st.failures.load()},
                  {"timeouts", st.timeouts.load()},
                  {"unavailable", st.unavailable.load()},
                  {"protocol_errors", st.protocol_errors.load()},
                  {"cancelled", st.cancelled.load()},
                  {"endpoint_conflicts", st.endpoint_conflicts.load()},
                  {"response_mutations", st.response_mutations.load()},
                  {"response_timeouts", st.response_timeouts.load()},
                  {"health_checks", st.health_checks.load()},
                  {"health_failures", st.health_failures.load()}};
  return out;
}

// The check a cluster runs (config/model/health_check.h); null when none.
json health_check_settings(const pools::Cluster& c) {
  if (!c.health_check) return nullptr;
  const config::HealthCheck& h = *c.health_check;
  json statuses = json::array();
  for (const auto& r : h.expected_statuses) statuses.push_back({{"start", r.start}, {"end", r.end}});
  return {{"path", h.path},
          {"host", h.host},
          {"port", h.port ? json(*h.port) : json(nullptr)},
          {"interval_ms", h.interval.count()},
          {"timeout_ms", h.timeout.count()},
          {"healthy_threshold", h.healthy_threshold},
          {"unhealthy_threshold", h.unhealthy_threshold},
          {"expected_statuses", std::move(statuses)},
          {"response", h.response},
          {"origin", h.origin}};
}

// One InferencePool endpoint as /pools shows it: health, in-flight count, scraped signals.
json pool_endpoint(const pools::EndpointState& e, int64_t now, int64_t stale_after_ms) {
  const int64_t at = e.scraped_at_ms.load(std::memory_order_relaxed);
  json j{{"address", e.key()},
         {"name", e.name},
         {"labels", e.labels},
         {"health_flags", health_flags(e, now)},
         {"rq_active", e.active_requests.load(std::memory_order_relaxed)},
         {"queue_size", e.queue_size.load(std::memory_order_relaxed)},
         {"running_requests", e.running_requests.load(std::memory_order_relaxed)},
         {"kv_cache_usage", e.kv_cache_usage.load(std::memory_order_relaxed)},
         {"prefill_bytes", e.prefill_bytes.load(std::memory_order_relaxed)},
         {"ejected", e.ejected(now)},
         {"scraped_ms_ago", at == 0 ? json(nullptr) : json(now - at)},
         {"stale", at == 0 || now - at > stale_after_ms},
         {"scrape_failures", e.scrape_failures.load(std::memory_order_relaxed)}};
  std::lock_guard lock(e.detail_mu);
  j["running_adapters"] = e.detail.running_adapters;
  j["waiting_adapters"] = e.detail.waiting_adapters;
  j["max_loras"] = e.detail.max_loras ? json(*e.detail.max_loras) : json(nullptr);
  j["last_error"] = e.detail.last_error;
  j["health_check"] = health_check_json(e, now);
  return j;
}

// Flow control of the pool (pools/flow_control.h): null when off; else the settings that
// decide saturation, the pool's saturation and room now, and who waits in which band.
json flow_json(const pools::Cluster& c, int64_t now, int64_t stale_after_ms) {
  if (!c.flow) return nullptr;
  const config::FlowControlConfig& s = c.flow->settings;
  const pools::FlowQueue& q = *c.flow->queue;
  json bands = json::array();
  for (const auto& b : q.bands())
    bands.push_back({{"priority", b.priority}, {"requests", b.requests}, {"bytes", b.bytes}, {"flows", b.flows}});
  const int64_t room = pools::FlowQueue::room(s, c.endpoints, now, stale_after_ms);
  return {{"queue_depth_threshold", s.queue_depth_threshold},
          {"kv_cache_util_threshold", s.kv_cache_util_threshold},
          {"max_concurrency_per_endpoint", s.max_concurrency_per_endpoint},
          {"saturation", pools::FlowQueue::saturation(s, c.endpoints, now, stale_after_ms)},
          {"room", room == std::numeric_limits<int64_t>::max() ? json("unbounded") : json(room)},
          {"in_transit", q.in_transit()},
          {"queued", q.queued()},
          {"bands", std::move(bands)}};
}

// The built-in picker a pool uses (GatewayConfig endpointPicker) and its weights.
json picker_json(const pools::Cluster& c) {
  if (!c.picker)
    return {{"profile", c.lb == pools::LbPolicy::RoundRobin ? "round-robin" : "least-request"}};
  const config::PickerSettings& s = c.picker->settings();
  const config::ScorerWeights& w = c.picker->weights();
  return {{"profile", s.profile == config::PickerProfile::InferenceExtension ? "inference-extension" : "infergate"},
          {"scorers", {{"queue", w.queue}, {"kvCache", w.kv_cache}, {"prefixCache", w.prefix_cache},
                       {"loraAffinity", w.lora_affinity}}},
          {"saturation", {{"queueSize", s.queue_threshold}, {"kvCacheUsage", s.kv_cache_threshold}}},
          {"prefixCache", {{"blockSize", s.prefix_block_bytes}, {"maxBlocks", s.prefix_max_blocks},
                           {"indexEntries", c.picker->index().capacity()}}},
          {"outlierDetection", {{"consecutive5xxErrors", c.outlier.consecutive_failures},
                                {"baseEjectionTimeMs", c.outlier.base_ejection_ms},
                                {"maxEjectionPercent", c.outlier.max_ejection_percent}}}};
}

// What the pool's picker decided, by outcome, since start (counters: the console shows rates).
json decisions_json(const ClusterStats& st) {
  const auto& d = st.picker_decisions;
  const auto& e = st.epp_results;
  return {{"picked", d[ClusterStats::kPicked].value()},
          {"fallback", d[ClusterStats::kFallback].value()},
          {"shed", d[ClusterStats::kShed].value()},
          {"no_endpoint", d[ClusterStats::kNoEndpoint].value()},
          {"epp", {{"endpoint", e[ClusterStats::kEppEndpoint].value()},
                   {"immediate", e[ClusterStats::kEppImmediate].value()},
                   {"fail_open", e[ClusterStats::kEppFailOpen].value()},
                   {"fail_close", e[ClusterStats::kEppFailClose].value()}}}};
}

}  // namespace

void Server::register_admin() {
  admin_.add("/ready", "GET", "200 with LIVE when serving, 503 with the state otherwise",
             [this](const AdminRequest&) {
               if (state_ == ServerState::Live && !healthcheck_failed_) return AdminResponse::text("LIVE\n");
               return AdminResponse::text((healthcheck_failed_ && state_ == ServerState::Live ? "HEALTHCHECK_FAILED"
                                                                                              : state_name()) +
                                              std::string("\n"),
                                          503);
             });
  admin_.add("/server_info", "GET", "version, state, uptime and options", [this](const AdminRequest&) {
    auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
    json j = {{"version", kVersion},
              {"state", state_name()},
              {"hot_restart_version", "disabled"},
              {"uptime_current_epoch", std::to_string(uptime.count()) + "s"},
              {"uptime_all_epochs", std::to_string(uptime.count()) + "s"},
              {"workers", workers_.size()},
              {"config_version", version_},
              {"command_line_options", {{"config_path", opts_.config_path}, {"argv", opts_.command_line}}}};
    return AdminResponse::json(j.dump(2) + "\n");
  });
  auto prometheus = [this](const AdminRequest& req) {
    if (req.accept.find("application/openmetrics-text") != std::string::npos) {
      AdminResponse r = AdminResponse::text(registry_->openmetrics_text());
      r.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
      return r;
    }
    AdminResponse r = AdminResponse::text(registry_->prometheus_text());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  };
  admin_.add("/stats/prometheus", "GET", "metrics in Prometheus text format (OpenMetrics by Accept)", prometheus);
  admin_.add("/metrics", "GET", "alias of /stats/prometheus", prometheus);
  admin_.add("/stats", "GET", "counters, gauges and histograms in Envoy's format; ?filter=REGEX, ?format=prometheus",
             [this, prometheus](const AdminRequest& req) {
               const std::string format = req.param("format");
               if (format == "prometheus") return prometheus(req);
               if (!format.empty() && format != "text")
                 return AdminResponse::error(400, "unsupported format '" + format + "' (text, prometheus)");
               std::string text = registry_->envoy_stats_text();
               if (req.has_param("filter")) {
                 std::string error;
                 text = filter_lines(text, req.param("filter"), &error);
                 if (!error.empty()) return AdminResponse::error(400, error);
               }
               return AdminResponse::text(std::move(text));
             });
  admin_.add("/config_dump", "GET", "the effective config snapshot and its version", [this](const AdminRequest&) {
    if (!current_) return AdminResponse::error(503, "no config yet");
    json d = config_dump(*current_);
    // Run-time changes over the files (POST /config, /weights, DELETE /config).
    json overlay = json::array();
    for (const auto& c : store_.overlay())
      overlay.push_back({{"kind", c.key.kind},
                         {"namespace", c.key.ns},
                         {"name", c.key.name},
                         {"action", c.deleted ? "deleted" : "applied"},
                         {"source", c.source},
                         {"applied_at", c.applied_at}});
    d["overlay"] = overlay;
    if (cluster_) {
      // Kubernetes mode: what the watch sees and which objects were left out, and why.
      json k = cluster_->describe();
      json rejected = json::array();
      for (const auto& r : rejected_) {
        json errors = json::array();
        for (const auto& e : r.errors) errors.push_back(e.to_string());
        rejected.push_back({{"kind", r.key.kind}, {"namespace", r.key.ns}, {"name", r.key.name}, {"errors", errors}});
      }
      k["rejected"] = std::move(rejected);
      d["kubernetes"] = std::move(k);
    }
    // What each listening socket does with a new connection now (never key material).
    json sockets = json::array();
    for (const auto& b : bound_) {
      const auto sec = b.info->security->load();
      static constexpr const char* kMtls[] = {"UNSET", "DISABLE", "PERMISSIVE", "STRICT"};
      json sj = {{"address", b.info->address},
                 {"port", b.info->port},
                 {"listeners", b.info->keys},
                 {"transport", std::string(mode_name(sec->mode))},
                 {"peer_authentication", kMtls[static_cast<int>(sec->mtls)]}};
      if (sec->context) {
        const char* auth = sec->context->client_auth() == tls::ClientAuth::Required   ? "required"
                           : sec->context->client_auth() == tls::ClientAuth::Optional ? "optional"
                                                                                       : "none";
        sj["client_certificate"] = auth;
        if (!sec->context->trust_domain().empty()) sj["trust_domain"] = sec->context->trust_domain();
      }
      sockets.push_back(std::move(sj));
    }
    d["listener_sockets"] = sockets;
    return AdminResponse::json(d.dump(2) + "\n");
  });
  admin_.add("/clusters", "GET", "upstream clusters and endpoints with their live state; ?format=json",
             [this](const AdminRequest& req) {
               if (!current_) return AdminResponse::error(503, "no config yet");
               const int64_t now = pools::steady_now_ms();
               if (req.param("format") == "json") {
                 json cs = json::array();
                 for (const auto& c : current_->clusters->clusters()) {
                   json hosts = json::array();
                   for (const auto& e : c.endpoints)
                     hosts.push_back({{"address", e->key()},
                                      {"name", e->name},
                                      {"rq_active", e->active_requests.load()},
                                      {"rq_total", e->total_requests.load()},
                                      {"rq_error", e->failures.load()},
                                      {"health_flags", health_flags(*e, now)}});
                   cs.push_back({{"name", c.name}, {"host_statuses", hosts}});
                 }
                 return AdminResponse::json(json{{"cluster_statuses", cs}}.dump(2) + "\n");
               }
               std::string out;
               for (const auto& c : current_->clusters->clusters()) {
                 out += c.name + "::default_priority::max_connections::1024\n";
                 for (const auto& e : c.endpoints) {
                   const std::string p = c.name + "::" + e->key() + "::";
                   out += p + "rq_active::" + std::to_string(e->active_requests.load()) + "\n";
                   out += p + "rq_total::" + std::to_string(e->total_requests.load()) + "\n";
                   out += p + "rq_error::" + std::to_string(e->failures.load()) + "\n";
                   out += p + "health_flags::" + health_flags(*e, now) + "\n";
                   out += p + "hostname::" + e->name + "\n";
                 }
               }
               return AdminResponse::text(std::move(out));
             });
  admin_.add("/pools", "GET", "InferencePools: every endpoint with its health and live model-server signals",
             [this](const AdminRequest&) {
               if (!current_) return AdminResponse::error(503, "no config yet");
               const int64_t now = pools::steady_now_ms();
               const auto& msm = current_->config->gateway.model_server_metrics;
               json ps = json::array();
               for (const auto& c : current_->clusters->clusters()) {
                 if (!config::is_inference_pool_cluster(c.name)) continue;
                 json eps = json::array();
                 for (const auto& e : c.endpoints) eps.push_back(pool_endpoint(*e, now, msm.stale_after.count()));
                 ps.push_back({{"name", std::string(config::cluster_object_name(c.name))},
                               {"cluster", c.name},
                               {"ready", c.available(now)},
                               {"endpoint_picker", endpoint_picker_json(c, current_->epp_for(&c).get())},
                               {"picker", picker_json(c)},
                               {"flow_control", flow_json(c, now, msm.stale_after.count())},
                               {"health_check", health_check_settings(c)},
                               {"decisions", decisions_json(*current_->stats_for(&c))},
                               {"endpoints", std::move(eps)}});
               }
               return AdminResponse::json(json{{"version", version_},
                                               {"scrape", {{"enabled", msm.enabled},
                                                           {"path", msm.path},
                                                           {"interval_ms", msm.interval.count()},
                                                           {"stale_after_ms", msm.stale_after.count()}}},
                                               {"pools", std::move(ps)}}
                                              .dump(2) +
                                          "\n");
             });
  admin_.add("/healthcheck/fail", "POST", "make /ready answer 503 (take this instance out of rotation)",
             [this](const AdminRequest&) {
               healthcheck_failed_ = true;
               return AdminResponse::text("OK\n");
             });
  admin_.add("/healthcheck/ok", "POST", "undo /healthcheck/fail", [this](const AdminRequest&) {
    healthcheck_failed_ = false;
    return AdminResponse::text("OK\n");
  });
  admin_.add("/drain_listeners", "POST", "stop accepting and drain connections; the process keeps running",
             [this](const AdminRequest&) {
               begin_drain(false);
               return AdminResponse::text("OK\n");
             });
  admin_.add("/quitquitquit", "POST", "exit after draining in-flight requests", [this](const AdminRequest&) {
    // Answer first, then drain and exit from a fresh handler.
    boost::asio::post(control_, [this] { begin_drain(true); });
    return AdminResponse::text("OK\n");
  });
  admin_.add("/reset_counters", "POST", "reset counters and histograms to zero", [this](const AdminRequest&) {
    registry_->reset_counters();
    return AdminResponse::text("OK\n");
  });
  admin_.add("/logging", "GET,POST", "show or set the log level: ?level=trace|debug|info|warning|error|critical|off",
             [](const AdminRequest& req) {
               if (req.method == "POST" && req.has_param("level")) {
                 std::string level = req.param("level");
                 if (level == "warning") level = "warn";
                 auto l = spdlog::level::from_str(level);
                 if (l == spdlog::level::off && level != "off")
                   return AdminResponse::error(400, "unknown log level '" + req.param("level") + "'");
                 spdlog::set_level(l);
               } else if (req.method == "POST") {
                 return AdminResponse::error(400, "POST /logging needs ?level=");
               }
               auto sv = spdlog::level::to_string_view(spdlog::get_level());
               return AdminResponse::text("active loggers:\n  infergate: " + std::string(sv.data(), sv.size()) + "\n");
             });
}

}  // namespace infergate::gateway
