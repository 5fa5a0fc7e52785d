// Istio AuthorizationPolicy (security.istio.io v1 / v1beta1), checked as Istio's
// ValidateAuthorizationPolicy does, with its wording where it has one. What a gateway without
// JWT or ext_authz cannot enforce (requestPrincipals, request.auth.*, CUSTOM) is an error, not
// a warning: a policy silently enforced in part would let through what its author denied.
// For the same reason an unknown field inside spec is an error (a misspelt notPaths must not
// turn a DENY into nothing), unlike the warnings of the networking kinds.
#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>

#include "config/parsers.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

constexpr std::string_view kJwt =
    "needs JWT authentication (RequestAuthentication), which is not supported";

// Restores the field strictness the loader set once this document's spec has been read.
class StrictFields {
 public:
  explicit StrictFields(ParseContext& ctx) : ctx_(ctx), before_(ctx.strict_fields()) {
    ctx.set_strict_fields(true);
  }
  ~StrictFields() { ctx_.set_strict_fields(before_); }
  StrictFields(const StrictFields&) = delete;
  StrictFields& operator=(const StrictFields&) = delete;

 private:
  ParseContext& ctx_;
  bool before_;
};

// A list of non-empty strings. Istio's matchers give '*' a meaning only as the whole value,
// the first or the last character; anywhere else it is a literal, which is almost never what
// the author meant, so it is pointed out.
std::vector<std::string> strings(ParseContext& ctx, const MapView& m, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& [path, node] : m.list(key)) {
    auto s = scalar_string(ctx, node, path);
    if (!s) continue;
    if (s->empty()) {
      ctx.error(node, path, "empty value not allowed");
      continue;
    }
    const size_t star = s->find('*', 1);
    if (*s != "*" && star != std::string::npos && (s->front() == '*' || star + 1 != s->size()))
      ctx.warning(node, path,
                  cat("\"", *s, "\": '*' is a wildcard only as the first or the last character; "
                      "here it is matched literally"));
    out.push_back(std::move(*s));
  }
  return out;
}

std::vector<IpBlock> ip_values(ParseContext& ctx, const std::vector<std::pair<std::string, YAML::Node>>& list) {
  std::vector<IpBlock> out;
  for (const auto& [path, node] : list) {
    auto s = scalar_string(ctx, node, path);
    if (!s) continue;
    if (auto b = parse_ip_block(*s)) {
      out.push_back(*b);
    } else {
      ctx.error(node, path,
                cat(s->find('/') != std::string::npos ? "bad CIDR range" : "bad IP address", " \"", *s, "\""));
    }
  }
  return out;
}

std::vector<uint16_t> port_values(ParseContext& ctx, const std::vector<std::pair<std::string, YAML::Node>>& list) {
  std::vector<uint16_t> out;
  for (const auto& [path, node] : list) {
    auto s = scalar_string(ctx, node, path);
    if (!s) continue;
    uint32_t p = 0;
    if (s->empty() || !absl::SimpleAtoi(to_absl(*s), &p) || p > 65535 ||
        s->find_first_not_of("0123456789") != std::string::npos) {
      ctx.error(node, path, cat("bad port \"", *s, "\" (must be a number from 0 to 65535)"));
      continue;
    }
    out.push_back(static_cast<uint16_t>(p));
  }
  return out;
}

// Istio's CheckServiceAccount: "sa" or "ns/sa", no wildcard, at most 16. Stored as "ns/sa".
std::vector<std::string> service_accounts(ParseContext& ctx, const MapView& m, std::string_view key,
                                          const std::string& policy_ns) {
  std::vector<std::string> out;
  const auto list = m.list(key);
  if (list.size() > 16) ctx.error(*m.find(key), m.path_of(key), "may not have more than 16 values");
  for (const auto& [path, node] : list) {
    auto s = scalar_string(ctx, node, path);
    if (!s) continue;
    const size_t slash = s->find('/');
    if (s->empty()) {
      ctx.error(node, path, "empty value not allowed");
    } else if (s->find('*') != std::string::npos) {
      ctx.error(node, path, "wildcard not allowed");
    } else if (s->size() > 320) {
      ctx.error(node, path, "value cannot exceed 320 characters");
    } else if (slash != std::string::npos &&
               (s->find('/', slash + 1) != std::string::npos || slash == 0 || slash + 1 == s->size())) {
      ctx.error(node, path, cat("expected format 'serviceAccount' or 'namespace/serviceAccount', found \"", *s, "\""));
    } else {
      out.push_back(slash == std::string::npos ? cat(policy_ns, "/", *s) : *s);
    }
  }
  return out;
}

std::optional<AuthzSource> parse_source(ParseContext& ctx, const MapView& from, const std::string& policy_ns) {
  auto m = from.map("source", true);
  if (!m) return std::nullopt;
  m->allow({"principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces",
            "notNamespaces", "serviceAccounts", "notServiceAccounts", "ipBlocks", "notIpBlocks",
            "remoteIpBlocks", "notRemoteIpBlocks"});
  for (std::string_view jwt : {"requestPrincipals", "notRequestPrincipals"})
    if (m->has(jwt)) ctx.error(*m->find(jwt), m->path_of(jwt), cat(jwt, " ", kJwt));
  AuthzSource s;
  s.principals = strings(ctx, *m, "principals");
  s.not_principals = strings(ctx, *m, "notPrincipals");
  s.namespaces = strings(ctx, *m, "namespaces");
  s.not_namespaces = strings(ctx, *m, "notNamespaces");
  s.service_accounts = service_accounts(ctx, *m, "serviceAccounts", policy_ns);
  s.not_service_accounts = service_accounts(ctx, *m, "notServiceAccounts", policy_ns);
  s.ip_blocks = ip_values(ctx, m->list("ipBlocks"));
  s.not_ip_blocks = ip_values(ctx, m->list("notIpBlocks"));
  s.remote_ip_blocks = ip_values(ctx, m->list("remoteIpBlocks"));
  s.not_remote_ip_blocks = ip_values(ctx, m->list("notRemoteIpBlocks"));
  if ((m->has("serviceAccounts") || m->has("notServiceAccounts")) &&
      (m->has("principals") || m->has("notPrincipals") || m->has("namespaces") || m->has("notNamespaces")))
    ctx.error(m->node(), m->path(), "cannot set serviceAccounts with namespaces or principals");
  bool any = false;
  for (const auto& [key, value] : m->items()) any = any || !value.IsNull();
  if (!any) ctx.error(m->node(), m->path(), "must not be empty");
  return s;
}

std::optional<AuthzOperation> parse_operation(ParseContext& ctx, const MapView& to) {
  auto m = to.map("operation", true);
  if (!m) return std::nullopt;
  m->allow({"hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths"});
  AuthzOperation op;
  op.hosts = strings(ctx, *m, "hosts");
  op.not_hosts = strings(ctx, *m, "notHosts");
  for (auto* hosts : {&op.hosts, &op.not_hosts})
    for (auto& h : *hosts) absl::AsciiStrToLower(&h);  // hosts match case-insensitively (RFC 4343)
  op.ports = port_values(ctx, m->list("ports"));
  op.not_ports = port_values(ctx, m->list("notPorts"));
  op.methods = strings(ctx, *m, "methods");
  op.not_methods = strings(ctx, *m, "notMethods");
  for (std::string_view key : {"paths", "notPaths"}) {
    for (const auto& [path, node] : m->list(key)) {
      // Istio's {*} / {**} path templates (Envoy's uri_template) are not implemented; any
      // other brace Istio rejects too.
      if (node.IsScalar() && node.Scalar().find_first_of("{}") != std::string::npos)
        ctx.error(node, path,
                  node.Scalar().find("{*}") != std::string::npos || node.Scalar().find("{**}") != std::string::npos
                      ? "path templates ({*}, {**}) are not supported"
                      : "contains '{' or '}' beyond a supported path template");
    }
  }
  op.paths = strings(ctx, *m, "paths");
  op.not_paths = strings(ctx, *m, "notPaths");
  bool any = false;
  for (const auto& [key, value] : m->items()) any = any || !value.IsNull();
  if (!any) ctx.error(m->node(), m->path(), "must not be empty");
  return op;
}

// when[].key: what it names, or an error at `path`.
std::optional<AuthzCondition> classify_key(ParseContext& ctx, const YAML::Node& at, const std::string& path,
                                           const std::string& key) {
  AuthzCondition c;
  c.key = key;
  static constexpr std::pair<std::string_view, AuthzKey> kPlain[] = {
      {"source.ip", AuthzKey::SourceIp},
      {"remote.ip", AuthzKey::RemoteIp},
      {"source.namespace", AuthzKey::SourceNamespace},
      {"source.principal", AuthzKey::SourcePrincipal},
      {"source.serviceAccount", AuthzKey::SourceServiceAccount},
      {"destination.ip", AuthzKey::DestinationIp},
      {"destination.port", AuthzKey::DestinationPort},
      {"connection.sni", AuthzKey::ConnectionSni},
  };
  for (const auto& [name, kind] : kPlain) {
    if (key == name) {
      c.kind = kind;
      return c;
    }
  }
  constexpr std::string_view kHeaders = "request.headers[";
  if (key.starts_with(kHeaders)) {
    const std::string name = key.substr(kHeaders.size(), key.size() - kHeaders.size() - 1);
    if (!key.ends_with("]") || key.size() <= kHeaders.size() + 1 ||
        name.find_first_of("[] \t") != std::string::npos) {
      ctx.error(at, path, cat("bad key \"", key, "\": should have format request.headers[<name>]"));
      return std::nullopt;
    }
    c.kind = AuthzKey::RequestHeader;
    c.header = absl::AsciiStrToLower(name);
    return c;
  }
  if (key.starts_with("request.auth.")) {
    ctx.error(at, path, cat("\"", key, "\" ", kJwt));
  } else if (key.starts_with("experimental.envoy.filters.")) {
    ctx.error(at, path, cat("\"", key, "\" reads Envoy filter metadata, which is not supported"));
  } else if (key == "destination.namespace") {
    ctx.error(at, path, "attribute destination.namespace is replaced by the metadata.namespace");
  } else if (key.starts_with("destination.labels")) {
    ctx.error(at, path, cat("attribute ", key, " is replaced by the workload selector"));
  } else if (key == "destination.name" || key == "destination.user") {
    ctx.error(at, path, cat("deprecated attribute ", key, ": only supported in v1alpha1"));
  } else {
    ctx.error(at, path,
              cat("unknown attribute \"", key,
                  "\" (known: request.headers[<name>], source.ip, remote.ip, source.namespace, "
                  "source.principal, source.serviceAccount, destination.ip, destination.port, "
                  "connection.sni)"));
  }
  return std::nullopt;
}

std::optional<AuthzCondition> parse_condition(ParseContext& ctx, const MapView& m, const std::string& policy_ns) {
  m.allow({"key", "values", "notValues"});
  auto key = m.string("key", true);
  if (!key) return std::nullopt;
  if (key->empty()) {
    ctx.error(*m.find("key"), m.path_of("key"), "must not be empty");
    return std::nullopt;
  }
  auto c = classify_key(ctx, *m.find("key"), m.path_of("key"), *key);
  if (!c) return std::nullopt;
  switch (c->kind) {
    case AuthzKey::SourceIp:
    case AuthzKey::RemoteIp:
    case AuthzKey::DestinationIp:
      c->ip_values = ip_values(ctx, m.list("values"));
      c->not_ip_values = ip_values(ctx, m.list("notValues"));
      break;
    case AuthzKey::DestinationPort:
      c->port_values = port_values(ctx, m.list("values"));
      c->not_port_values = port_values(ctx, m.list("notValues"));
      break;
    case AuthzKey::SourceServiceAccount:
      c->values = service_accounts(ctx, m, "values", policy_ns);
      c->not_values = service_accounts(ctx, m, "notValues", policy_ns);
      break;
    default:
      c->values = strings(ctx, m, "values");
      c->not_values = strings(ctx, m, "notValues");
      break;
  }
  if (!m.has("values") && !m.has("notValues"))
    ctx.error(m.node(), m.path(), cat("at least one of values or notValues must be set for key ", *key));
  return c;
}

// A list section of a rule: Istio rejects `from: []` (present but empty) as meaningless.
std::vector<std::pair<std::string, YAML::Node>> section(ParseContext& ctx, const MapView& rule, std::string_view key) {
  auto list = rule.list(key);
  if (list.empty() && rule.has(key) && rule.find(key)->IsSequence())
    ctx.error(*rule.find(key), rule.path_of(key), "must not be empty");
  return list;
}

std::optional<AuthzRule> parse_rule(ParseContext& ctx, const std::string& path, const YAML::Node& node,
                                    const std::string& policy_ns) {
  if (node.IsNull()) {
    ctx.error(node, path, "rule must not be null (write {} to match every request)");
    return std::nullopt;
  }
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"from", "to", "when"});
  AuthzRule r;
  for (const auto& [p, n] : section(ctx, m, "from")) {
    MapView from(ctx, n, p);
    if (!from.valid()) continue;
    from.allow({"source"});
    if (auto s = parse_source(ctx, from, policy_ns)) r.from.push_back(std::move(*s));
  }
  for (const auto& [p, n] : section(ctx, m, "to")) {
    MapView to(ctx, n, p);
    if (!to.valid()) continue;
    to.allow({"operation"});
    if (auto o = parse_operation(ctx, to)) r.to.push_back(std::move(*o));
  }
  for (const auto& [p, n] : section(ctx, m, "when")) {
    MapView when(ctx, n, p);
    if (!when.valid()) continue;
    if (auto c = parse_condition(ctx, when, policy_ns)) r.when.push_back(std::move(*c));
  }
  return r;
}

void parse_selector(ParseContext& ctx, const MapView& spec, AuthorizationPolicy& ap) {
  auto sel = spec.map("selector");
  if (!sel) return;
  sel->allow({"matchLabels"});
  auto labels = sel->labels("matchLabels");
  if (!labels || labels->empty()) {
    ctx.warning(sel->node(), sel->path(), "workload selector specified without labels; the policy is namespace-wide");
    return;
  }
  for (const auto& [k, v] : *labels) {
    const std::string path = join_path(sel->path_of("matchLabels"), k);
    if (k.empty()) ctx.error(sel->node(), path, "empty key is not supported in selector");
    if (k.find('*') != std::string::npos || v.find('*') != std::string::npos)
      ctx.error(sel->node(), path, cat("wildcard is not supported in selector: \"", k, "=", v, "\""));
  }
  ap.selector = std::move(*labels);
}

void parse_target_ref(ParseContext& ctx, const MapView& m, AuthorizationPolicy& ap) {
  m.allow({"group", "kind", "name", "namespace"});
  const std::string group = m.string("group").value_or("");
  auto kind = m.string("kind", true);
  auto name = m.string("name", true);
  if (name && name->empty()) ctx.error(*m.find("name"), m.path_of("name"), "targetRef name must be set");
  if (auto ns = m.string("namespace"); ns && *ns != ap.ns)
    ctx.error(*m.find("namespace"), m.path_of("namespace"),
              "targetRef namespace must not be set; cross namespace referencing is not supported");
  if (!kind || !name) return;
  const std::string& k = *kind;
  if (group == "gateway.networking.k8s.io" && k == "Gateway") {
    ap.gateway_refs.push_back(AuthzGatewayRef{ap.ns, *name});
  } else if ((k == "Service" && (group.empty() || group == "core")) ||
             (k == "ServiceEntry" && group == "networking.istio.io")) {
    // Istio enforces these at the waypoint in front of the service, never at a Gateway.
    ctx.warning(m.node(), m.path(),
                cat("targetRef to ", k, " \"", *name,
                    "\" is enforced by a waypoint, not by this gateway; the policy does not apply here"));
  } else if (k == "GatewayClass" && group == "gateway.networking.k8s.io") {
    ctx.error(m.node(), m.path(), "targetRef to a GatewayClass is not supported (name the Gateway instead)");
  } else {
    ctx.error(m.node(), m.path(),
              cat("targetRef must be to one of gateway.networking.k8s.io/Gateway, core/Service, "
                  "networking.istio.io/ServiceEntry, gateway.networking.k8s.io/GatewayClass but was ",
                  group, "/", k));
  }
}

}  // namespace

std::optional<AuthorizationPolicy> parse_authorization_policy(ParseContext& ctx, const MapView& doc) {
  // An absent or empty spec is valid: Istio's allow-nothing policy.
  doc.allow({"apiVersion", "kind", "metadata", "spec", "status"});
  const ObjectMeta meta = parse_metadata(ctx, doc);
  const size_t errors_before = ctx.error_count();
  AuthorizationPolicy ap;
  ap.ns = meta.ns;
  ap.name = meta.name;
  ap.creation_timestamp = meta.creation_timestamp;
  ap.source = meta.source;
  if (auto spec = doc.map("spec")) {
    StrictFields strict(ctx);
    spec->allow({"selector", "targetRef", "targetRefs", "action", "provider", "rules"});
    const auto action = one_of(ctx, *spec, "action", {"ALLOW", "DENY", "AUDIT", "CUSTOM"});
    if (action == "DENY") ap.action = AuthzAction::Deny;
    if (action == "AUDIT") ap.action = AuthzAction::Audit;
    if (action == "CUSTOM")
      ctx.error(*spec->find("action"), spec->path_of("action"), "action CUSTOM (ext_authz) is not supported");
    else if (spec->has("provider"))
      ctx.error(*spec->find("provider"), spec->path_of("provider"),
                cat("provider must not be set with non CUSTOM action, found ", action.value_or("ALLOW")));
    int selectors = spec->has("selector") ? 1 : 0;
    if (auto ref = spec->map("targetRef")) {
      ++selectors;
      ap.has_target_refs = true;
      parse_target_ref(ctx, *ref, ap);
    }
    const auto refs = spec->list("targetRefs");
    if (!refs.empty()) {
      ++selectors;
      ap.has_target_refs = true;
    }
    for (const auto& [path, node] : refs) {
      MapView m(ctx, node, path);
      if (m.valid()) parse_target_ref(ctx, m, ap);
    }
    if (selectors > 1)
      ctx.error(spec->node(), spec->path(), "only one of targetRefs or workloadSelector can be set");
    parse_selector(ctx, *spec, ap);
    const auto rules = spec->list("rules");
    for (const auto& [path, node] : rules)
      if (auto r = parse_rule(ctx, path, node, ap.ns)) ap.rules.push_back(std::move(*r));
    // `rules: []` reaches Istio as no rules at all (an empty repeated field).
    if (ap.action == AuthzAction::Deny && rules.empty())
      ctx.error(spec->node(), spec->path_of("rules"),
                "DENY action without rules is meaningless as it will never be triggered, add an empty "
                "rule `{}` if you want it be triggered for every request");
  }
  if (meta.name.empty() || ctx.error_count() != errors_before) return std::nullopt;
  return ap;
}

}  // namespace infergate::config::detail
