// GatewayConfig (infergate.dev/v1alpha1): our own kind, so unknown fields are errors.
#include "config/str_cat.h"

#include "config/ip_block.h"
#include "config/parsers.h"

namespace infergate::config::detail {

namespace {

void parse_access_log(ParseContext& ctx, const MapView& m, AccessLogConfig& log) {
  m.allow({"path", "format"});
  if (auto p = m.string("path")) log.path = *p;
  if (auto f = one_of(ctx, m, "format", {"envoy", "json"}))
    log.format = *f == "json" ? AccessLogFormat::Json : AccessLogFormat::Envoy;
}

void parse_limits(const MapView& m, Limits& l) {
  m.allow({"maxRequestHeadersBytes", "maxHeadersCount", "maxRequestBodyBytes",
           "maxConcurrentStreams", "h2InitialStreamWindowBytes", "perStreamBufferLimitBytes"});
  constexpr int64_t kU32 = 0xFFFFFFFFll;
  // Envoy's own bounds: headers 1 KiB..8 MiB (max_request_headers_kb 1..8192).
  if (auto v = m.integer("maxRequestHeadersBytes", 1024, 8192 * 1024))
    l.max_request_headers_bytes = static_cast<uint32_t>(*v);
  if (auto v = m.integer("maxHeadersCount", 1, 100000)) l.max_headers_count = static_cast<uint32_t>(*v);
  if (auto v = m.integer("maxRequestBodyBytes", 0, INT64_MAX))
    l.max_request_body_bytes = static_cast<uint64_t>(*v);
  if (auto v = m.integer("maxConcurrentStreams", 1, 2147483647))
    l.max_concurrent_streams = static_cast<uint32_t>(*v);
  // HTTP/2 window bounds (RFC 9113 6.9.2): 65535 .. 2^31-1.
  if (auto v = m.integer("h2InitialStreamWindowBytes", 65535, 2147483647))
    l.h2_initial_stream_window_bytes = static_cast<uint32_t>(*v);
  if (auto v = m.integer("perStreamBufferLimitBytes", 1024, kU32))
    l.per_stream_buffer_limit_bytes = static_cast<uint32_t>(*v);
}

void parse_timeouts(const MapView& m, Timeouts& t) {
  m.allow({"connect", "request", "perTry", "idle", "streamIdle", "drain", "requestHeaders"});
  if (auto d = m.duration("connect")) t.connect = *d;
  if (auto d = m.duration("request")) t.request = *d;
  if (auto d = m.duration("perTry")) t.per_try = *d;
  if (auto d = m.duration("idle")) t.idle = *d;
  if (auto d = m.duration("streamIdle")) t.stream_idle = *d;
  if (auto d = m.duration("drain")) t.drain = *d;
  if (auto d = m.duration("requestHeaders")) t.request_headers = *d;
}

void parse_body_routing(ParseContext& ctx, const MapView& m, BodyRouting& b) {
  m.allow({"enabled", "maxBytes", "trustedModelHeaderPrincipals"});
  if (auto e = m.boolean("enabled")) b.enabled = *e;
  // At least a small chat request; at most what one stream may buffer anyway.
  if (auto v = m.integer("maxBytes", 1024, 64ll << 20)) b.max_bytes = static_cast<uint32_t>(*v);
  // Istio's principal form, as AuthorizationPolicy writes it: "<trust domain>/ns/<ns>/sa/<sa>".
  for (const auto& [path, node] : m.list("trustedModelHeaderPrincipals")) {
    auto p = scalar_string(ctx, node, path);
    if (!p) continue;
    if (p->empty() || p->rfind("spiffe://", 0) == 0) {
      ctx.error(node, path, "must be a principal as Istio writes it, e.g. cluster.local/ns/edge/sa/proxy (no spiffe://), or \"*\"");
      continue;
    }
    b.trusted_model_header_principals.push_back(*p);
  }
}

// Istio meshConfig.pathNormalization's values (DEFAULT is Istio's name for BASE) and Envoy's
// path_with_escaped_slashes_action (IMPLEMENTATION_SPECIFIC_DEFAULT: the setting's default,
// KEEP_UNCHANGED as in Envoy, UNESCAPE_AND_FORWARD under DECODE_AND_MERGE_SLASHES).
void parse_path_normalization(ParseContext& ctx, const MapView& m, PathNormalization& pn) {
  m.allow({"normalization", "pathWithEscapedSlashes"});
  if (auto v = one_of(ctx, m, "normalization", {"DEFAULT", "NONE", "BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"})) {
    pn.normalization = *v == "NONE"                       ? PathNormalizationMode::None
                       : *v == "MERGE_SLASHES"            ? PathNormalizationMode::MergeSlashes
                       : *v == "DECODE_AND_MERGE_SLASHES" ? PathNormalizationMode::DecodeAndMergeSlashes
                                                          : PathNormalizationMode::Base;
  }
  const bool decodes = pn.normalization == PathNormalizationMode::DecodeAndMergeSlashes;
  if (decodes) pn.escaped_slashes = EscapedSlashesAction::UnescapeAndForward;
  if (auto v = one_of(ctx, m, "pathWithEscapedSlashes",
                      {"IMPLEMENTATION_SPECIFIC_DEFAULT", "KEEP_UNCHANGED", "REJECT_REQUEST", "UNESCAPE_AND_REDIRECT",
                       "UNESCAPE_AND_FORWARD"})) {
    const EscapedSlashesAction a = *v == "REJECT_REQUEST"          ? EscapedSlashesAction::RejectRequest
                                   : *v == "UNESCAPE_AND_REDIRECT" ? EscapedSlashesAction::UnescapeAndRedirect
                                   : *v == "UNESCAPE_AND_FORWARD"  ? EscapedSlashesAction::UnescapeAndForward
                                                                   : EscapedSlashesAction::KeepUnchanged;
    if (*v == "IMPLEMENTATION_SPECIFIC_DEFAULT") return;  // the setting's own, set above
    // DECODE_AND_MERGE_SLASHES is MERGE_SLASHES with UNESCAPE_AND_FORWARD: another action
    // contradicts it (MERGE_SLASHES takes any action).
    if (decodes && a != EscapedSlashesAction::UnescapeAndForward) {
      ctx.error(*m.find("pathWithEscapedSlashes"), m.path_of("pathWithEscapedSlashes"),
                cat("\"", *v, "\" contradicts normalization DECODE_AND_MERGE_SLASHES, which decodes %2F and %5C "
                    "and forwards (use MERGE_SLASHES with this action, or UNESCAPE_AND_FORWARD)"));
      return;
    }
    pn.escaped_slashes = a;
  }
}

void parse_model_server_metrics(ParseContext& ctx, const MapView& m, ModelServerMetrics& msm) {
  m.allow({"enabled", "path", "interval", "timeout", "staleAfter"});
  if (auto e = m.boolean("enabled")) msm.enabled = *e;
  if (auto p = m.string("path")) {
    if (p->empty() || (*p)[0] != '/') ctx.error(m.node()["path"], m.path_of("path"), "must start with \"/\"");
    else msm.path = *p;
  }
  auto positive = [&](const char* field, std::chrono::milliseconds& out) {
    if (auto d = m.duration(field)) {
      if (d->count() <= 0) ctx.error(m.node()[field], m.path_of(field), "must be more than 0");
      else out = *d;
    }
  };
  positive("interval", msm.interval);
  positive("timeout", msm.timeout);
  positive("staleAfter", msm.stale_after);
}

void parse_metrics(const MapView& m, MetricsConfig& metrics) {
  m.allow({"perVersion"});
  if (auto b = m.boolean("perVersion")) metrics.per_version = *b;
}

// spec.endpointPicker.extProc: the connection to a pool's external EPP. Fields not written
// keep what `e` holds (the defaults, or spec.endpointPicker's for a pool entry).
void parse_ext_proc(ParseContext& ctx, const MapView& m, EppConnectionSettings& e) {
  m.allow({"messageTimeout", "tls", "healthCheck", "subsetHint", "maxBodyMutationBytes"});
  e.source = ctx.location(m.node());
  if (auto d = m.duration("messageTimeout")) {
    if (d->count() <= 0 || *d > std::chrono::minutes(5))
      ctx.error(m.node()["messageTimeout"], m.path_of("messageTimeout"), "must be more than 0 and at most 5m");
    else e.message_timeout = *d;
  }
  if (auto b = m.boolean("subsetHint")) e.subset_hint = *b;
  if (auto v = m.integer("maxBodyMutationBytes", 1024, int64_t{1} << 30)) e.max_body_mutation_bytes = static_cast<uint64_t>(*v);
  if (auto t = m.map("tls")) {
    t->allow({"enabled", "caFile", "insecureSkipVerify", "serverName", "certFile", "keyFile"});
    if (auto v = t->boolean("enabled")) e.tls = *v;
    if (auto v = t->string("caFile")) {
      e.ca_file = *v;
      e.insecure_skip_verify = false;  // roots given: verify
    }
    if (auto v = t->boolean("insecureSkipVerify")) e.insecure_skip_verify = *v;
    if (auto v = t->string("serverName")) e.server_name = *v;
    if (auto v = t->string("certFile")) e.cert_file = *v;
    if (auto v = t->string("keyFile")) e.key_file = *v;
    if (e.cert_file.empty() != e.key_file.empty())
      ctx.error(t->node(), t->path(), "certFile and keyFile go together");
    if (e.insecure_skip_verify && t->has("caFile"))
      ctx.error(t->node()["caFile"], t->path_of("caFile"), "caFile is not used with insecureSkipVerify: true");
    else if (e.insecure_skip_verify) e.ca_file.clear();  // a pool's override of inherited roots
  }
  if (auto h = m.map("healthCheck")) {
    h->allow({"interval", "service", "enabled"});
    if (auto d = h->duration("interval")) {
      if (d->count() < 100) ctx.error(h->node()["interval"], h->path_of("interval"), "must be at least 100ms");
      else e.health_interval = *d;
    }
    if (auto v = h->string("service")) e.health_service = *v;
    if (auto b = h->boolean("enabled"); b && !*b) e.health_interval = std::chrono::milliseconds(0);
  }
}

// Fields not written keep what `s` already holds: the defaults, or for a pool entry the
// spec.endpointPicker values it refines.
void parse_picker_settings(ParseContext& ctx, const MapView& m, PickerSettings& s) {
  s.source = ctx.location(m.node());
  if (auto p = one_of(ctx, m, "profile", {"infergate", "inference-extension", "least-request", "round-robin"})) {
    s.profile = *p == "inference-extension" ? PickerProfile::InferenceExtension
                : *p == "least-request"     ? PickerProfile::LeastRequest
                : *p == "round-robin"       ? PickerProfile::RoundRobin
                                            : PickerProfile::Infergate;
  }
  if (auto w = m.map("scorers")) {
    w->allow({"queue", "kvCache", "prefixCache", "loraAffinity", "prefill"});
    ScorerWeights weights = s.weights.value_or(ScorerWeights{});
    if (!s.weights && s.profile == PickerProfile::InferenceExtension) weights.lora_affinity = weights.prefill = 0;
    if (auto v = number(ctx, *w, "queue", 0, 1000)) weights.queue = *v;
    if (auto v = number(ctx, *w, "kvCache", 0, 1000)) weights.kv_cache = *v;
    if (auto v = number(ctx, *w, "prefixCache", 0, 1000)) weights.prefix_cache = *v;
    if (auto v = number(ctx, *w, "loraAffinity", 0, 1000)) weights.lora_affinity = *v;
    if (auto v = number(ctx, *w, "prefill", 0, 1000)) weights.prefill = *v;
    s.weights = weights;
  }
  if (auto sat = m.map("saturation")) {
    sat->allow({"queueSize", "kvCacheUsage"});
    if (auto v = sat->integer("queueSize", 1, 1000000)) s.queue_threshold = static_cast<uint32_t>(*v);
    if (auto v = number(ctx, *sat, "kvCacheUsage", 0.01, 1)) s.kv_cache_threshold = *v;
  }
  if (auto pc = m.map("prefixCache")) {
    pc->allow({"blockSize", "maxBlocks", "blocksPerServer"});
    if (auto v = pc->integer("blockSize", 8, 65536)) s.prefix_block_bytes = static_cast<uint32_t>(*v);
    if (auto v = pc->integer("maxBlocks", 1, 4096)) s.prefix_max_blocks = static_cast<uint32_t>(*v);
    if (auto v = pc->integer("blocksPerServer", 64, 4000000)) s.prefix_blocks_per_server = static_cast<uint32_t>(*v);
  }
  if (auto od = parse_outlier(ctx, m)) s.outlier_detection = od;
  if (auto hc = parse_health_check(ctx, m)) s.health_check = std::move(hc);
  if (auto e = m.map("extProc")) parse_ext_proc(ctx, *e, s.ext_proc);
}

void parse_endpoint_picker(ParseContext& ctx, const MapView& m, EndpointPickerConfig& picker) {
  m.allow({"profile", "scorers", "saturation", "prefixCache", "outlierDetection", "healthCheck", "extProc", "pools"});
  parse_picker_settings(ctx, m, picker.defaults);
  for (const auto& [path, node] : m.list("pools")) {
    MapView pm(ctx, node, path);
    if (!pm.valid()) continue;
    pm.allow({"name", "namespace", "profile", "scorers", "saturation", "prefixCache", "outlierDetection",
              "healthCheck", "extProc"});
    PoolPickerSettings pool;
    auto name = pm.string("name", true);
    if (!name) continue;
    pool.name = *name;
    pool.ns = pm.string("namespace").value_or("default");
    pool.field_path = path;
    pool.settings = picker.defaults;
    parse_picker_settings(ctx, pm, pool.settings);
    for (const auto& other : picker.pools)
      if (other.ns == pool.ns && other.name == pool.name)
        ctx.error(node, path, cat("InferencePool ", pool.ns, "/", pool.name, " already has settings at ", other.field_path));
    picker.pools.push_back(std::move(pool));
  }
}

// spec.dns (config/model/dns.h). A resolver is written as c-ares takes it: "ip", "ip:port",
// "[ip6]" or "[ip6]:port"; it is checked here so a typo is a precise error, not a resolver
// that silently falls back to the system's.
bool valid_resolver(std::string_view r) {
  std::string_view host = r, port;
  if (!r.empty() && r.front() == '[') {
    const size_t close = r.find(']');
    if (close == std::string_view::npos) return false;
    host = r.substr(1, close - 1);
    std::string_view rest = r.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
    if (host.find(':') == std::string_view::npos) return false;  // brackets are for IPv6
  } else if (const size_t colon = r.find(':'); colon != std::string_view::npos) {
    if (r.find(':', colon + 1) != std::string_view::npos) return false;  // bare IPv6: needs brackets
    host = r.substr(0, colon);
    port = r.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (!parse_ip(host)) return false;
  if (port.empty()) return true;
  if (port.size() > 5) return false;
  int n = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n >= 1 && n <= 65535;
}

void parse_dns(ParseContext& ctx, const MapView& m, DnsConfig& dns) {
  m.allow({"resolvers", "refreshRate", "respectDnsTtl", "lookupFamily"});
  for (const auto& [path, node] : m.list("resolvers")) {
    auto r = scalar_string(ctx, node, path);
    if (!r) continue;
    if (!valid_resolver(*r)) {
      ctx.error(node, path, cat("\"", *r, "\" is not a name server address: write an IP, IP:port or [IPv6]:port"));
      continue;
    }
    dns.resolvers.push_back(*r);
  }
  if (auto d = m.duration("refreshRate")) {
    // Envoy's dns_refresh_rate must be at least 1 ms.
    if (d->count() <= 0) ctx.error(m.node()["refreshRate"], m.path_of("refreshRate"), "must be more than 0");
    else dns.refresh_rate = *d;
  }
  if (auto b = m.boolean("respectDnsTtl")) dns.respect_dns_ttl = *b;
  if (auto f = one_of(ctx, m, "lookupFamily", {"AUTO", "V4_ONLY", "V6_ONLY", "V4_PREFERRED", "ALL"})) {
    dns.lookup_family = *f == "V4_ONLY"        ? DnsLookupFamily::V4Only
                        : *f == "V6_ONLY"      ? DnsLookupFamily::V6Only
                        : *f == "V4_PREFERRED" ? DnsLookupFamily::V4Preferred
                        : *f == "ALL"          ? DnsLookupFamily::All
                                               : DnsLookupFamily::Auto;
  }
}

void parse_endpoints(ParseContext& ctx, const MapView& spec, Collected& out) {
  for (const auto& [path, node] : spec.list("endpoints")) {
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    m.allow({"name", "address", "port", "labels"});
    Endpoint ep;
    ep.source = ctx.location(node);
    auto name = m.string("name", true);
    auto address = m.string("address", true);
    if (!name || !address) continue;
    if (name->empty() || address->empty()) {
      ctx.error(node, path, "name and address must not be empty");
      continue;
    }
    ep.name = *name;
    ep.address = *address;
    if (auto p = m.integer("port", 1, 65535)) ep.port = static_cast<uint16_t>(*p);
    if (auto l = m.labels("labels")) ep.labels = std::move(*l);
    out.config.endpoints.push_back(std::move(ep));
  }
}

}  // namespace

void parse_gateway_config(ParseContext& ctx, const MapView& doc, Collected& out) {
  doc.allow({"apiVersion", "kind", "metadata", "spec"});
  GatewayConfig gc;
  gc.meta = parse_metadata(ctx, doc, /*name_optional=*/true);
  out.gateway_config_resources.push_back(ctx.resource());
  out.gateway_config_sources.push_back(gc.meta.source);
  if (auto spec = doc.map("spec")) {
    spec->allow({"workers", "admin", "accessLog", "limits", "timeouts", "pathNormalization", "bodyRouting",
                 "modelServerMetrics",
                 "metrics", "endpointPicker", "endpoints", "tls", "forwardClientCertDetails",
                 "setCurrentClientCertDetails", "workload", "localRateLimits", "connectionLimits",
                 "stats", "dns", "flowControl", "tokenBudgets", "tokenBudgetStore", "trafficSplit"});
    if (auto m = spec->map("trafficSplit")) {
      m->allow({"selection"});
      if (auto s = one_of(ctx, *m, "selection", {"Smooth", "Random"}))
        gc.split_selection = *s == "Random" ? SplitSelection::Random : SplitSelection::Smooth;
    }
    if (auto w = spec->integer("workers", 0, 1024)) gc.workers = static_cast<uint32_t>(*w);
    if (auto m = spec->map("admin")) parse_admin_spec(ctx, *m, gc.admin);
    if (auto m = spec->map("stats")) parse_stats_spec(ctx, *m, gc.stats.emplace());
    if (auto m = spec->map("accessLog")) parse_access_log(ctx, *m, gc.access_log);
    if (auto m = spec->map("limits")) parse_limits(*m, gc.limits);
    if (auto m = spec->map("timeouts")) parse_timeouts(*m, gc.timeouts);
    if (auto m = spec->map("bodyRouting")) parse_body_routing(ctx, *m, gc.body_routing);
    if (auto m = spec->map("metrics")) parse_metrics(*m, gc.metrics);
    if (auto m = spec->map("modelServerMetrics")) parse_model_server_metrics(ctx, *m, gc.model_server_metrics);
    if (auto m = spec->map("endpointPicker")) parse_endpoint_picker(ctx, *m, gc.endpoint_picker);
    parse_endpoints(ctx, *spec, out);
    if (auto m = spec->map("dns")) parse_dns(ctx, *m, gc.dns);
    parse_gateway_security(ctx, *spec, gc);
    parse_rate_limits(ctx, *spec, gc);
    if (auto m = spec->map("flowControl")) parse_flow_control(ctx, *m, gc.flow_control);
    parse_token_budgets(ctx, *spec, gc);
    if (auto m = spec->map("pathNormalization")) parse_path_normalization(ctx, *m, gc.path_normalization);
  }
  out.config.gateway = std::move(gc);
}

}  // namespace infergate::config::detail
