// Active health checks, both ways they are written (config/model/health_check.h): GatewayConfig
// spec.endpointPicker[.pools[]].healthCheck and GKE's HealthCheckPolicy. What GKE offers and
// the gateway cannot do (HTTPS, HTTP2, gRPC, TCP checks, named ports, PROXY headers) is an
// error naming the field, never a check silently run differently.
#include "config/parsers.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

// A GET target as GKE's requestPath pattern allows it: "/" then URL characters, no spaces.
bool valid_request_path(std::string_view p) {
  if (p.empty() || p.front() != '/' || p.size() > 2048) return false;
  for (char c : p)
    if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' ||
        c == '{' || c == '|' || c == '}')
      return false;
  return true;
}

void parse_path(ParseContext& ctx, const MapView& m, std::string_view key, bool required, HealthCheck& hc) {
  auto p = m.string(key, required);
  if (!p) return;
  if (!valid_request_path(*p)) {
    ctx.error(*m.find(key), m.path_of(key), "must be a request path starting with \"/\" (no spaces)");
    return;
  }
  hc.path = *p;
}

// expectedStatuses: Envoy's Int64Range list ({start, end}, end exclusive), or plain codes.
void parse_expected_statuses(ParseContext& ctx, const MapView& m, HealthCheck& hc) {
  for (const auto& [path, node] : m.list("expectedStatuses")) {
    if (node.IsScalar()) {
      if (auto code = scalar_integer(ctx, node, path, 100, 599))
        hc.expected_statuses.push_back({static_cast<uint32_t>(*code), static_cast<uint32_t>(*code + 1)});
      continue;
    }
    MapView r(ctx, node, path);
    if (!r.valid()) continue;
    r.allow({"start", "end"});
    auto start = r.integer("start", 100, 599, true);
    auto end = r.integer("end", 101, 600, true);
    if (!start || !end) continue;
    if (*end <= *start) {
      ctx.error(node, r.path_of("end"), "must be more than start (the range is [start, end))");
      continue;
    }
    hc.expected_statuses.push_back({static_cast<uint32_t>(*start), static_cast<uint32_t>(*end)});
  }
}

// CommonHTTPHealthCheck of a HealthCheckPolicy (httpHealthCheck).
void parse_gke_http(ParseContext& ctx, const MapView& m, HealthCheck& hc) {
  m.allow({"host", "requestPath", "proxyHeader", "response", "port", "portName", "portSpecification"});
  if (auto h = m.string("host")) {
    if (!h->empty() && !valid_hostname(*h))
      ctx.error(*m.find("host"), m.path_of("host"), "must be a DNS name (RFC 1123; GKE allows no IP address)");
    else
      hc.host = *h;
  }
  if (m.has("requestPath")) parse_path(ctx, m, "requestPath", false, hc);
  if (auto ph = one_of(ctx, m, "proxyHeader", {"NONE", "PROXY_V1"}); ph && *ph == "PROXY_V1")
    ctx.error(*m.find("proxyHeader"), m.path_of("proxyHeader"),
              "PROXY_V1 is not supported: the gateway's health checks send no PROXY header (use NONE)");
  if (auto r = m.string("response")) {
    if (r->size() > 1024) ctx.error(*m.find("response"), m.path_of("response"), "must be at most 1024 bytes");
    else hc.response = *r;
  }
  if (m.has("portName"))
    ctx.error(*m.find("portName"), m.path_of("portName"),
              "named ports are not supported: give port with portSpecification USE_FIXED_PORT, or USE_SERVING_PORT");
  auto port = m.integer("port", 1, 65535);
  auto spec = one_of(ctx, m, "portSpecification", {"USE_FIXED_PORT", "USE_NAMED_PORT", "USE_SERVING_PORT"});
  // GCP: a port without a specification means USE_FIXED_PORT.
  const std::string how = spec.value_or(port ? "USE_FIXED_PORT" : "USE_SERVING_PORT");
  if (how == "USE_NAMED_PORT") {
    ctx.error(*m.find("portSpecification"), m.path_of("portSpecification"),
              "USE_NAMED_PORT is not supported: use USE_FIXED_PORT with port, or USE_SERVING_PORT");
  } else if (how == "USE_FIXED_PORT") {
    if (!port && !m.has("port"))
      ctx.error(m.node(), m.path_of("port"), "is required with portSpecification USE_FIXED_PORT");
    else if (port)
      hc.port = static_cast<uint16_t>(*port);
  } else if (m.has("port")) {
    ctx.error(*m.find("port"), m.path_of("port"), "must not be set with portSpecification USE_SERVING_PORT");
  }
}

// spec.default.config: the protocol. Only HTTP maps onto the gateway's checker.
void parse_gke_config(ParseContext& ctx, const MapView& m, HealthCheck& hc) {
  m.allow({"type", "httpHealthCheck", "httpsHealthCheck", "http2HealthCheck", "grpcHealthCheck", "tcpHealthCheck"});
  auto type = one_of(ctx, m, "type", {"HTTP", "HTTPS", "HTTP2", "GRPC", "TCP"}, true);
  if (!type) return;
  if (*type != "HTTP") {
    ctx.error(*m.find("type"), m.path_of("type"),
              cat("type ", *type,
                  " is not supported: the gateway's active health checks are HTTP/1.1 GETs (use type HTTP "
                  "with httpHealthCheck)"));
    return;
  }
  for (std::string_view other : {"httpsHealthCheck", "http2HealthCheck", "grpcHealthCheck", "tcpHealthCheck"})
    if (m.has(other)) ctx.error(*m.find(other), m.path_of(other), "does not match type HTTP (use httpHealthCheck)");
  if (auto http = m.map("httpHealthCheck")) parse_gke_http(ctx, *http, hc);
}

void parse_gke_target(ParseContext& ctx, const MapView& spec, HealthCheckPolicy& p) {
  auto ref = spec.map("targetRef", true);
  if (!ref) return;
  ref->allow({"group", "kind", "name", "namespace"});
  p.target_line = ref->line();
  p.target_group = ref->string("group").value_or("");
  auto kind = ref->string("kind", true);
  auto name = ref->string("name", true);
  if (!kind || !name) return;
  const bool pool = *kind == "InferencePool" &&
                    (p.target_group == "inference.networking.k8s.io" || p.target_group == "inference.networking.x-k8s.io");
  const bool service = *kind == "Service" && p.target_group.empty();
  if (!pool && !service) {
    ctx.error(ref->node(), ref->path_of("kind"),
              cat("targetRef must be an InferencePool (group inference.networking.k8s.io) or a Service (group \"\"); got ",
                  *kind, " in group \"", p.target_group, "\""));
    return;
  }
  if (auto ns = ref->string("namespace"); ns && *ns != p.meta.ns) {
    ctx.error(*ref->find("namespace"), ref->path_of("namespace"),
              cat("a HealthCheckPolicy applies to objects of its own namespace (\"", p.meta.ns, "\")"));
    return;
  }
  p.target_kind = *kind;
  p.target_name = *name;
}

}  // namespace

std::optional<HealthCheck> parse_health_check(ParseContext& ctx, const MapView& parent) {
  auto m = parent.map("healthCheck");
  if (!m) return std::nullopt;
  m->allow({"enabled", "path", "host", "port", "interval", "timeout", "healthyThreshold", "unhealthyThreshold",
            "expectedStatuses"});
  HealthCheck hc;
  hc.origin = cat("GatewayConfig ", m->path());
  hc.source = ctx.location(m->node());
  if (auto e = m->boolean("enabled"); e && !*e) {
    hc.enabled = false;  // a pool entry turning off the default's check
    return hc;
  }
  parse_path(ctx, *m, "path", true, hc);
  if (auto h = m->string("host")) hc.host = *h;
  if (auto p = m->integer("port", 1, 65535)) hc.port = static_cast<uint16_t>(*p);
  auto positive = [&](const char* field, std::chrono::milliseconds& out) {
    if (auto d = m->duration(field)) {
      if (d->count() <= 0) ctx.error(*m->find(field), m->path_of(field), "must be more than 0");
      else out = *d;
    }
  };
  positive("interval", hc.interval);
  positive("timeout", hc.timeout);
  if (auto v = m->integer("healthyThreshold", 1, 1000)) hc.healthy_threshold = static_cast<uint32_t>(*v);
  if (auto v = m->integer("unhealthyThreshold", 1, 1000)) hc.unhealthy_threshold = static_cast<uint32_t>(*v);
  parse_expected_statuses(ctx, *m, hc);
  return hc;
}

std::optional<HealthCheckPolicy> parse_health_check_policy(ParseContext& ctx, const MapView& doc) {
  HealthCheckPolicy p;
  auto spec = parse_object(ctx, doc, &p.meta);
  if (!spec) return std::nullopt;
  const size_t errors_before = ctx.error_count();
  spec->allow({"targetRef", "default"});
  parse_gke_target(ctx, *spec, p);
  HealthCheck& hc = p.check;
  hc.origin = cat("HealthCheckPolicy/", p.meta.ns, "/", p.meta.name);
  hc.source = p.meta.source;
  if (auto d = spec->map("default")) {
    d->allow({"checkIntervalSec", "timeoutSec", "healthyThreshold", "unhealthyThreshold", "logConfig", "config"});
    // GKE's bounds: intervals and timeouts 1..300 s, thresholds 1..10.
    if (auto v = d->integer("checkIntervalSec", 1, 300)) hc.interval = std::chrono::seconds(*v);
    if (auto v = d->integer("timeoutSec", 1, 300)) hc.timeout = std::chrono::seconds(*v);
    if (auto v = d->integer("healthyThreshold", 1, 10)) hc.healthy_threshold = static_cast<uint32_t>(*v);
    if (auto v = d->integer("unhealthyThreshold", 1, 10)) hc.unhealthy_threshold = static_cast<uint32_t>(*v);
    if (hc.timeout > hc.interval)
      ctx.error(d->find("timeoutSec") ? *d->find("timeoutSec") : d->node(), d->path_of("timeoutSec"),
                cat("must not be more than checkIntervalSec (", hc.interval.count() / 1000, ")"));
    if (auto log = d->map("logConfig")) {
      log->allow({"enabled"});
      hc.log_transitions = log->boolean("enabled").value_or(false);
    }
    if (auto c = d->map("config")) parse_gke_config(ctx, *c, hc);
  }
  if (ctx.error_count() != errors_before || p.target_kind.empty()) return std::nullopt;
  return p;
}

}  // namespace infergate::config::detail
