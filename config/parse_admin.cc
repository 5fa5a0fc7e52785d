// GatewayConfig spec.admin (address, auth, tls, limits, auditLog) and spec.stats. The rule
// that keeps the admin API closed by default lives here, so `--check`, startup and every
// reload apply it alike: an admin listener off loopback must have authentication.
#include <arpa/inet.h>

#include "config/parsers.h"
#include "config/str_cat.h"

namespace infergate::config {

bool is_loopback_address(const std::string& address) {
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

std::string admin_exposure_error(const std::string& address, const AdminConfig& admin) {
  if (is_loopback_address(address) || admin.auth.configured()) return "";
  return detail::cat("the admin listener on ", address,
             " is reachable from other hosts and has no authentication: add spec.admin.auth.tokenFile "
             "(bearer tokens) or spec.admin.auth.allowedPrincipals with spec.admin.tls (mTLS), or bind "
             "spec.admin.address to 127.0.0.1 and reach it with kubectl port-forward");
}

namespace detail {

namespace {

// "spiffe://td/ns/x/sa/y" or "td/ns/x/sa/y" -> "td/ns/x/sa/y"; "" when not that shape.
std::string principal_form(std::string_view p) {
  if (p.starts_with("spiffe://")) p.remove_prefix(9);
  const size_t ns = p.find("/ns/");
  const size_t sa = p.find("/sa/");
  if (ns == std::string_view::npos || ns == 0 || sa == std::string_view::npos || sa < ns + 5 ||
      sa + 4 >= p.size() || p.find('/', sa + 4) != std::string_view::npos)
    return "";
  return std::string(p);
}

void parse_admin_auth(ParseContext& ctx, const MapView& m, AdminAuthConfig& auth) {
  m.allow({"tokenFile", "allowedPrincipals", "requireForReadOnly"});
  if (auto f = resolve_file(ctx, m, "tokenFile")) auth.token_file = *f;
  for (const auto& [path, node] : m.list("allowedPrincipals")) {
    auto s = scalar_string(ctx, node, path);
    if (!s) continue;
    std::string p = principal_form(*s);
    if (p.empty())
      ctx.error(node, path, cat("\"", *s, "\" is not an Istio principal (<trust domain>/ns/<namespace>/sa/<account>)"));
    else
      auth.allowed_principals.push_back(std::move(p));
  }
  if (auto b = m.boolean("requireForReadOnly")) auth.require_for_read_only = *b;
  if (!m.has("tokenFile") && !m.has("allowedPrincipals"))
    ctx.error(m.node(), m.path(), "needs tokenFile or allowedPrincipals");
}

void parse_admin_tls(ParseContext& ctx, const MapView& m, AdminTlsConfig& tls) {
  m.allow({"certFile", "keyFile", "caFile"});
  if (auto f = resolve_file(ctx, m, "certFile")) tls.cert_file = *f;
  if (auto f = resolve_file(ctx, m, "keyFile")) tls.key_file = *f;
  if (auto f = resolve_file(ctx, m, "caFile")) tls.ca_file = *f;
  m.require("certFile");
  m.require("keyFile");
}

void parse_admin_limits(ParseContext& ctx, const MapView& m, AdminLimits& l) {
  m.allow({"maxBodyBytes", "maxConfigBodyBytes", "maxNestingDepth", "requestsPerSecond", "burst"});
  if (auto v = m.integer("maxBodyBytes", 1024, 64ll << 20)) l.max_body_bytes = static_cast<uint64_t>(*v);
  if (auto v = m.integer("maxConfigBodyBytes", 1024, 64ll << 20)) l.max_config_body_bytes = static_cast<uint64_t>(*v);
  if (auto v = m.integer("maxNestingDepth", 4, 1000)) l.max_nesting_depth = static_cast<uint32_t>(*v);
  if (auto v = number(ctx, m, "requestsPerSecond", 0.001, 100000)) l.requests_per_second = *v;
  if (auto v = m.integer("burst", 1, 100000)) l.burst = static_cast<uint32_t>(*v);
}

}  // namespace

void parse_admin_spec(ParseContext& ctx, const MapView& m, AdminConfig& admin) {
  m.allow({"address", "port", "auth", "tls", "limits", "auditLog"});
  if (auto a = m.string("address")) admin.address = *a;
  if (auto p = m.integer("port", 1, 65535)) admin.port = static_cast<uint16_t>(*p);
  if (auto a = m.map("auth")) parse_admin_auth(ctx, *a, admin.auth);
  if (auto t = m.map("tls")) parse_admin_tls(ctx, *t, admin.tls);
  if (auto l = m.map("limits")) parse_admin_limits(ctx, *l, admin.limits);
  if (auto p = m.string("auditLog")) {
    if (p->empty()) ctx.error(*m.find("auditLog"), m.path_of("auditLog"), "must not be empty (leave it out)");
    else admin.audit_log = *p;
  }
  if (!admin.auth.allowed_principals.empty() && admin.tls.ca_file.empty())
    ctx.error(m.node(), m.path_of("tls.caFile"),
              "is required with auth.allowedPrincipals: client certificates are verified against it");
  if (std::string why = admin_exposure_error(admin.address, admin); !why.empty())
    ctx.error(m.node(), m.path_of("auth"), why);
}

void parse_stats_spec(ParseContext&, const MapView& m, StatsListenerConfig& stats) {
  m.allow({"address", "port"});
  if (auto a = m.string("address")) stats.address = *a;
  if (auto p = m.integer("port", 1, 65535)) stats.port = static_cast<uint16_t>(*p);
}

}  // namespace detail

}  // namespace infergate::config
