// Istio VirtualService (networking.istio.io v1, v1beta1, v1alpha3). A foreign kind: unknown
// fields are warnings; what Istio's validation rejects is an error here, what it only warns
// about is a warning. Only HTTP routes are served (tcp/tls routes are reported and ignored).
//
// Weights follow Istio's translation to Envoy (pilot route.go): a lone destination receives
// every request whatever its weight (Istio hands Envoy a plain cluster); with several, each
// gets weight / sum, a destination of weight 0 (or none written) gets nothing, and a sum of 0
// is rejected ("total destination weight = 0").
#include <absl/strings/ascii.h>

#include "config/istio_fields.h"
#include "config/parse_vs_policies.h"
#include "config/parsers.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

constexpr int64_t kMaxWeight = 2147483647;  // Istio's weight is an int32

bool is_ip_literal(std::string_view h) {
  if (h.empty()) return false;
  bool v4 = true;
  for (char c : h) v4 = v4 && ((c >= '0' && c <= '9') || c == '.');
  return v4 || h.find(':') != std::string_view::npos;
}

// host.Name.Matches: equal, or one is a wildcard covering the other.
bool hosts_overlap(std::string_view a, std::string_view b) {
  if (a == b || a == "*" || b == "*") return true;
  auto covers = [](std::string_view w, std::string_view h) {
    if (!w.starts_with("*.")) return false;
    std::string_view suffix = w.substr(1);
    return h.size() > suffix.size() && h.ends_with(suffix);
  };
  return covers(a, b) || covers(b, a);
}

void check_gateway_name(ParseContext& ctx, const YAML::Node& at, const std::string& path,
                        const std::string& g) {
  if (g == "mesh") return;
  auto slash = g.find('/');
  if (slash == std::string::npos) {
    if (g.find('.') != std::string::npos) {
      ctx.warning(at, path,
                  cat("using legacy gateway name format \"", g,
                      "\"; prefer the <namespace>/<name> format"));
    } else if (!is_dns_label(g)) {
      ctx.error(at, path, cat("invalid gateway name \"", g, "\""));
    }
    return;
  }
  const std::string ns = g.substr(0, slash), name = g.substr(slash + 1);
  if (!is_dns_label(ns)) ctx.error(at, path, cat("invalid value for namespace: \"", ns, "\""));
  if (!is_dns_label(name))
    ctx.error(at, path, cat("invalid value for gateway name: \"", name, "\""));
}

// `weight_line` gets the line of the weight key (the line a weight warning names).
std::optional<VsRouteDestination> parse_route_destination(ParseContext& ctx,
                                                          const std::string& path,
                                                          const YAML::Node& node,
                                                          int* weight_line) {
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"destination", "weight", "headers"});
  VsRouteDestination d;
  d.line = ctx.line(node);
  *weight_line = m.key_line("weight");
  const size_t errors_before = ctx.error_count();
  auto dest = parse_destination(ctx, m, "destination");
  if (m.has("weight")) {
    if (auto w = m.integer("weight", 0, kMaxWeight)) {
      d.weight = static_cast<uint32_t>(*w);
      d.weight_written = true;
    }
  }
  d.headers = parse_header_operations(ctx, m);
  if (!dest || ctx.error_count() != errors_before) return std::nullopt;
  d.destination = std::move(*dest);
  return d;
}

// Istio's weight semantics, with the warnings a reader of the manifest needs.
void normalise_weights(ParseContext& ctx, const MapView& http,
                       std::vector<VsRouteDestination>& route,
                       const std::vector<int>& weight_lines) {
  if (route.empty()) return;  // redirect / directResponse
  if (route.size() == 1) {
    VsRouteDestination& only = route[0];
    only.effective_weight = 100;
    if (only.weight_written && only.weight != 100)
      ctx.warning_at_line(weight_lines[0], http.path_of("route[0].weight"),
                          cat("weight ", only.weight,
                              " on the only destination is ignored: it receives all traffic "
                              "(Istio routes a lone destination at 100%)"));
    return;
  }
  uint64_t total = 0;
  for (auto& d : route) {
    d.effective_weight = d.weight;
    total += d.weight;
  }
  if (total == 0) {
    ctx.error_at_line(http.key_line("route"), http.path_of("route"),
                      "total destination weight = 0");
    return;
  }
  for (size_t i = 0; i < route.size(); ++i) {
    if (!route[i].weight_written)
      ctx.warning_at_line(route[i].line, index_path(http.path_of("route"), i),
                          "has no weight, so it receives no traffic (Istio reads a missing "
                          "weight as 0 when a route has several destinations)");
  }
}

std::optional<VsHttpRoute> parse_http(ParseContext& ctx, const std::string& path,
                                      const YAML::Node& node) {
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"name", "match", "route", "redirect", "directResponse", "delegate", "rewrite",
           "timeout", "retries", "fault", "mirror", "mirrors", "mirrorPercent",
           "mirrorPercentage", "corsPolicy", "headers"});
  const size_t errors_before = ctx.error_count();
  VsHttpRoute h;
  h.line = ctx.line(node);
  if (auto n = m.string("name")) h.name = *n;
  for (const auto& [mpath, mnode] : m.list("match")) {
    if (auto match = parse_vs_match(ctx, mpath, mnode)) h.matches.push_back(std::move(*match));
  }
  std::vector<int> weight_lines;
  for (const auto& [rpath, rnode] : m.list("route")) {
    int weight_line = 0;
    if (auto d = parse_route_destination(ctx, rpath, rnode, &weight_line)) {
      h.route.push_back(std::move(*d));
      weight_lines.push_back(weight_line);
    }
  }
  h.redirect = parse_vs_redirect(ctx, m);
  h.direct_response = parse_vs_direct_response(ctx, m);
  h.rewrite = parse_vs_rewrite(ctx, m);
  if (m.has("timeout")) {
    h.timeout = m.duration("timeout");
  }
  h.retries = parse_vs_retries(ctx, m);
  h.fault = parse_vs_fault(ctx, m);
  h.mirrors = parse_vs_mirrors(ctx, m);
  h.headers = parse_header_operations(ctx, m);
  if (m.has("delegate"))
    ctx.error_at_line(m.key_line("delegate"), m.path_of("delegate"),
                      "delegate VirtualServices are not supported");
  if (m.has("corsPolicy"))
    ctx.warning_at_line(m.key_line("corsPolicy"), m.path_of("corsPolicy"),
                        "is not supported yet; ignored");

  // Istio's conflicts (validateHTTPRouteConflict).
  const bool has_route = m.has("route");
  if (h.redirect) {
    if (has_route)
      ctx.error(node, path, "HTTP route cannot contain both route and redirect");
    if (m.has("fault")) ctx.error(node, path, "HTTP route cannot contain both fault and redirect");
    if (m.has("rewrite"))
      ctx.error(node, path, "HTTP route rule cannot contain both rewrite and redirect");
    if (h.direct_response)
      ctx.error(node, path, "HTTP route cannot contain both redirect and directResponse");
  } else if (h.direct_response) {
    if (has_route)
      ctx.error(node, path, "HTTP route cannot contain both route and directResponse");
  } else if (!has_route && !m.has("delegate")) {
    ctx.error(node, path, "HTTP route or redirect is required");
  }
  if (h.rewrite && !h.rewrite->authority.empty() && !h.headers.authority.empty())
    ctx.error(node, m.path_of("headers"),
              cat("authority header cannot be set multiple times: have \"", h.rewrite->authority,
                  "\", attempting to set \"", h.headers.authority, "\""));
  if (ctx.error_count() != errors_before) return std::nullopt;
  normalise_weights(ctx, m, h.route, weight_lines);
  if (ctx.error_count() != errors_before) return std::nullopt;
  return h;
}

}  // namespace

std::optional<VirtualService> parse_virtual_service(ParseContext& ctx, const MapView& doc,
                                                    const std::string& api_version) {
  VirtualService vs;
  vs.api_version = api_version;
  auto spec = parse_object(ctx, doc, &vs.meta);
  if (!spec) return std::nullopt;
  const size_t errors_before = ctx.error_count();
  spec->allow({"hosts", "gateways", "http", "tls", "tcp", "exportTo"});

  auto hosts = spec->list("hosts");
  if (hosts.empty())
    ctx.error(spec->node(), spec->path_of("hosts"), "virtual service must have at least one host");
  std::vector<int> host_lines;
  for (const auto& [path, node] : hosts) {
    auto h = scalar_string(ctx, node, path);
    if (!h) continue;
    std::string lower = absl::AsciiStrToLower(*h);
    if (lower != "*" && !valid_hostname(lower) && !is_ip_literal(lower)) {
      ctx.error(node, path, cat("\"", *h, "\" is not a valid host"));
      continue;
    }
    for (const auto& earlier : vs.hosts) {
      if (hosts_overlap(earlier, lower))
        ctx.error(node, path,
                  cat("duplicate hosts in virtual service: ", earlier, " & ", lower));
    }
    vs.hosts.push_back(std::move(lower));
  }
  vs.gateways_line = spec->key_line("gateways");
  for (const auto& [path, node] : spec->list("gateways")) {
    auto g = scalar_string(ctx, node, path);
    if (!g) continue;
    check_gateway_name(ctx, node, path, *g);
    vs.gateways.push_back(*g);
  }
  for (const auto& [path, node] : spec->list("http")) {
    if (auto h = parse_http(ctx, path, node)) vs.http.push_back(std::move(*h));
  }
  for (std::string_view key : {"tcp", "tls"}) {
    if (spec->has(key))
      ctx.warning_at_line(spec->key_line(key), spec->path_of(key),
                          "TCP and TLS routes are not supported; ignored");
  }
  if (!spec->has("http") && !spec->has("tcp") && !spec->has("tls"))
    ctx.error(spec->node(), spec->path(), "http, tcp or tls must be provided in virtual service");
  if (ctx.error_count() != errors_before) return std::nullopt;
  return vs;
}

}  // namespace infergate::config::detail
