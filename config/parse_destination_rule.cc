// Istio DestinationRule (networking.istio.io v1, v1beta1, v1alpha3): subsets by labels and
// the traffic policy of the clusters they become (load balancer, connection pool, outlier
// detection) and upstream TLS (tls, parse_security.cc). Settings a data plane outside a mesh
// cannot honour (tunnel, locality, port level settings) are reported and ignored.
#include <absl/strings/ascii.h>

#include "config/istio_fields.h"
#include "config/parsers.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

constexpr int64_t kMaxInt32 = 2147483647;

void ignored(ParseContext& ctx, const MapView& m, std::initializer_list<std::string_view> keys) {
  for (auto key : keys) {
    if (m.has(key))
      ctx.warning_at_line(m.key_line(key), m.path_of(key), "is not supported; ignored");
  }
}

std::optional<uint32_t> non_negative(const MapView& m, std::string_view key) {
  if (auto v = m.integer(key, 0, kMaxInt32)) return static_cast<uint32_t>(*v);
  return std::nullopt;
}

// A duration Istio requires to be at least 1 ms.
std::optional<std::chrono::milliseconds> positive_duration(ParseContext& ctx, const MapView& m,
                                                           std::string_view key) {
  auto d = m.duration(key);
  if (d && d->count() == 0) {
    ctx.error(*m.find(key), m.path_of(key), "duration must be at least 1ms");
    return std::nullopt;
  }
  return d;
}

std::optional<IstioConsistentHash> parse_consistent_hash(ParseContext& ctx, const MapView& m) {
  m.allow({"httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName", "ringHash",
           "maglev", "minimumRingSize"});
  ignored(ctx, m, {"ringHash", "maglev", "minimumRingSize"});
  IstioConsistentHash h;
  int keys = 0;
  if (auto n = m.string("httpHeaderName")) {
    ++keys;
    h.key = IstioConsistentHash::Key::Header;
    h.name = absl::AsciiStrToLower(*n);
    if (!is_istio_header_name(h.name))
      ctx.error(*m.find("httpHeaderName"), m.path_of("httpHeaderName"),
                cat("header name \"", *n, "\" is not a valid header name"));
  }
  if (auto c = m.map("httpCookie")) {
    ++keys;
    c->allow({"name", "path", "ttl", "attributes"});
    h.key = IstioConsistentHash::Key::Cookie;
    auto name = c->string("name");
    if (!name || name->empty()) ctx.error(c->node(), c->path_of("name"), "name required for HttpCookie");
    else h.name = *name;
    if (auto p = c->string("path")) h.cookie_path = *p;
    h.cookie_ttl = c->duration("ttl");
  }
  if (auto ip = m.boolean("useSourceIp"); ip && *ip) {
    ++keys;
    h.key = IstioConsistentHash::Key::SourceIp;
  }
  if (auto q = m.string("httpQueryParameterName")) {
    ++keys;
    h.key = IstioConsistentHash::Key::QueryParameter;
    h.name = *q;
  }
  if (keys != 1) {
    ctx.error(m.node(), m.path(),
              "exactly one of httpHeaderName, httpCookie, useSourceIp or "
              "httpQueryParameterName must be set");
    return std::nullopt;
  }
  return h;
}

std::optional<IstioLoadBalancer> parse_load_balancer(ParseContext& ctx, const MapView& tp) {
  auto m = tp.map("loadBalancer");
  if (!m) return std::nullopt;
  m->allow({"simple", "consistentHash", "localityLbSetting", "warmupDurationSecs", "warmup"});
  ignored(ctx, *m, {"localityLbSetting", "warmupDurationSecs", "warmup"});
  IstioLoadBalancer lb;
  if (m->has("simple") && m->has("consistentHash")) {
    ctx.error(m->node(), m->path(), "only one of simple or consistentHash may be set");
    return std::nullopt;
  }
  if (auto s = one_of(ctx, *m, "simple",
                      {"UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN",
                       "LEAST_REQUEST"})) {
    if (*s == "ROUND_ROBIN") lb.policy = IstioLbPolicy::RoundRobin;
    if (*s == "RANDOM") lb.policy = IstioLbPolicy::Random;
    if (*s == "LEAST_CONN")
      ctx.warning(*m->find("simple"), m->path_of("simple"),
                  "LEAST_CONN is deprecated; read as LEAST_REQUEST (as Istio does)");
    if (*s == "PASSTHROUGH")
      ctx.warning(*m->find("simple"), m->path_of("simple"),
                  "PASSTHROUGH needs original-destination addresses, which a gateway outside a "
                  "mesh does not have; LEAST_REQUEST is used");
  }
  if (auto ch = m->map("consistentHash")) {
    auto h = parse_consistent_hash(ctx, *ch);
    if (!h) return std::nullopt;
    lb.policy = IstioLbPolicy::ConsistentHash;
    lb.consistent_hash = std::move(*h);
  }
  return lb;
}

std::optional<IstioConnectionPool> parse_connection_pool(ParseContext& ctx, const MapView& tp) {
  auto m = tp.map("connectionPool");
  if (!m) return std::nullopt;
  m->allow({"tcp", "http"});
  IstioConnectionPool cp;
  auto tcp = m->map("tcp");
  auto http = m->map("http");
  if (!m->has("tcp") && !m->has("http"))
    ctx.error(m->node(), m->path(), "connection pool must have at least one field");
  if (tcp) {
    tcp->allow({"maxConnections", "connectTimeout", "tcpKeepalive", "maxConnectionDuration",
                "idleTimeout"});
    ignored(ctx, *tcp, {"tcpKeepalive", "maxConnectionDuration", "idleTimeout"});
    cp.tcp_max_connections = non_negative(*tcp, "maxConnections");
    cp.connect_timeout = positive_duration(ctx, *tcp, "connectTimeout");
  }
  if (http) {
    http->allow({"http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection",
                 "maxRetries", "idleTimeout", "h2UpgradePolicy", "useClientProtocol",
                 "maxConcurrentStreams"});
    ignored(ctx, *http, {"h2UpgradePolicy", "useClientProtocol", "maxConcurrentStreams", "maxRequestsPerConnection",
                         "idleTimeout"});
    cp.http1_max_pending_requests = non_negative(*http, "http1MaxPendingRequests");
    cp.http2_max_requests = non_negative(*http, "http2MaxRequests");
    cp.max_requests_per_connection = non_negative(*http, "maxRequestsPerConnection");
    cp.max_retries = non_negative(*http, "maxRetries");
    cp.idle_timeout = positive_duration(ctx, *http, "idleTimeout");
  }
  return cp;
}

std::optional<IstioTrafficPolicy> parse_traffic_policy(ParseContext& ctx, const MapView& parent) {
  auto m = parent.map("trafficPolicy");
  if (!m) return std::nullopt;
  m->allow({"loadBalancer", "connectionPool", "outlierDetection", "tls", "portLevelSettings",
            "tunnel", "proxyProtocol", "retryBudget"});
  ignored(ctx, *m, {"portLevelSettings", "tunnel", "proxyProtocol", "retryBudget"});
  if (m->items().empty())
    ctx.error(m->node(), m->path(), "traffic policy must have at least one field");
  IstioTrafficPolicy tp;
  tp.load_balancer = parse_load_balancer(ctx, *m);
  tp.connection_pool = parse_connection_pool(ctx, *m);
  tp.outlier_detection = parse_outlier(ctx, *m);
  tp.tls = parse_client_tls(ctx, *m);
  return tp;
}

}  // namespace

std::optional<IstioOutlierDetection> parse_outlier(ParseContext& ctx, const MapView& tp) {
  auto m = tp.map("outlierDetection");
  if (!m) return std::nullopt;
  m->allow({"consecutive5xxErrors", "consecutiveGatewayErrors", "consecutiveErrors", "interval",
            "baseEjectionTime", "maxEjectionPercent", "minHealthPercent",
            "splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures"});
  ignored(ctx, *m, {"minHealthPercent", "splitExternalLocalOriginErrors",
                    "consecutiveLocalOriginFailures"});
  IstioOutlierDetection od;
  od.consecutive_5xx_errors = non_negative(*m, "consecutive5xxErrors");
  od.consecutive_gateway_errors = non_negative(*m, "consecutiveGatewayErrors");
  if (m->has("consecutiveGatewayErrors"))
    ctx.warning_at_line(m->key_line("consecutiveGatewayErrors"),
                        m->path_of("consecutiveGatewayErrors"),
                        m->has("consecutive5xxErrors")
                            ? "ignored: consecutive5xxErrors counts gateway errors as well"
                            : "approximated: every 5xx answer and connect failure counts");
  if (m->has("consecutiveErrors")) {
    ctx.warning_at_line(m->key_line("consecutiveErrors"), m->path_of("consecutiveErrors"),
                        "outlier detection consecutive errors is deprecated, use "
                        "consecutiveGatewayErrors or consecutive5xxErrors instead; ignored");
  }
  od.interval = positive_duration(ctx, *m, "interval");
  od.base_ejection_time = positive_duration(ctx, *m, "baseEjectionTime");
  if (auto p = m->integer("maxEjectionPercent", 0, 100))
    od.max_ejection_percent = static_cast<uint32_t>(*p);
  return od;
}

std::optional<DestinationRule> parse_destination_rule(ParseContext& ctx, const MapView& doc,
                                                      const std::string& api_version) {
  DestinationRule dr;
  dr.api_version = api_version;
  auto spec = parse_object(ctx, doc, &dr.meta);
  if (!spec) return std::nullopt;
  const size_t errors_before = ctx.error_count();
  spec->allow({"host", "trafficPolicy", "subsets", "exportTo", "workloadSelector"});
  ignored(ctx, *spec, {"workloadSelector"});
  if (auto h = spec->string("host", true)) {
    dr.host = absl::AsciiStrToLower(*h);
    if (dr.host != "*" && !valid_hostname(dr.host))
      ctx.error(*spec->find("host"), spec->path_of("host"), cat("\"", *h, "\" is not a valid host"));
  }
  dr.traffic_policy = parse_traffic_policy(ctx, *spec);
  for (const auto& [path, node] : spec->list("subsets")) {
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    m.allow({"name", "labels", "trafficPolicy"});
    DestinationRuleSubset s;
    s.line = ctx.line(node);
    if (auto n = m.string("name", true)) {
      if (!is_dns_label(*n))
        ctx.error(*m.find("name"), m.path_of("name"),
                  cat("subset name \"", *n, "\" is invalid (must be a DNS label)"));
      for (const auto& earlier : dr.subsets) {
        if (earlier.name == *n)
          ctx.error(*m.find("name"), m.path_of("name"), cat("duplicate subset \"", *n, "\""));
      }
      s.name = *n;
    }
    if (auto l = m.labels("labels")) s.labels = std::move(*l);
    s.traffic_policy = parse_traffic_policy(ctx, m);
    dr.subsets.push_back(std::move(s));
  }
  if (ctx.error_count() != errors_before) return std::nullopt;
  return dr;
}

}  // namespace infergate::config::detail
