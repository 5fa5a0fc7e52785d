#include "routing/authorization.h"

#include <arpa/inet.h>

#include <cstring>
#include <optional>

namespace infergate::routing {

namespace {

using detail::AuthzBlocks;
using detail::AuthzString;
using detail::AuthzStrings;
using Form = AuthzString::Form;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool same(std::string_view a, std::string_view b, bool ignore_case) {
  if (!ignore_case) return a == b;
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// An address as config::IpBlock stores one (IPv4 IPv4-mapped), read without allocating.
struct Address {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;
};

std::optional<Address> parse_address(std::string_view text) {
  char buf[64];  // the longest textual IPv6 address is 45 characters
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Address a;
  in_addr v4{};
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(a.bytes.data() + 12, &v4, 4);
  } else if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) {
    return std::nullopt;
  }
  // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d: it is that IPv4 address.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  a.v4 = std::memcmp(a.bytes.data(), kMapped, 12) == 0;
  return a;
}

// IpBlock keeps IPv4 blocks IPv4-mapped with 96 + n bits: "::/0" must still not take in
// IPv4 peers (Envoy's CidrRange never matches across families).
bool is_v4_block(const config::IpBlock& b) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return b.prefix >= 96 && std::memcmp(b.address.data(), kMapped, 12) == 0;
}

bool in_any(const AuthzBlocks& blocks, const std::optional<Address>& a) {
  if (!a) return false;
  for (const auto& b : blocks)
    if (is_v4_block(b) == a->v4 && b.contains(a->bytes)) return true;
  return false;
}

bool any_string(const AuthzStrings& ms, std::string_view s, bool ignore_case = false) {
  for (const auto& m : ms)
    if (m.matches(s, ignore_case)) return true;
  return false;
}

bool any_port(const std::vector<uint16_t>& ports, uint16_t port) {
  for (uint16_t p : ports)
    if (p == port) return true;
  return false;
}

// The parts of "<trust-domain>/ns/<ns>/sa/<sa>"; "" when the principal has no such part.
std::string_view principal_part(std::string_view principal, std::string_view tag) {
  const size_t at = principal.find(tag);
  if (at == std::string_view::npos) return {};
  const std::string_view rest = principal.substr(at + tag.size());
  return rest.substr(0, rest.find('/'));
}

// "host:port" -> "host", "[v6]:port" -> "[v6]"; anything else as it is.
std::string_view without_port(std::string_view authority) {
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == authority.size()) return authority;
  for (char c : authority.substr(colon + 1))
    if (c < '0' || c > '9') return authority;
  const std::string_view host = authority.substr(0, colon);
  // A bare IPv6 address has colons of its own and no port.
  if (host.find(':') != std::string_view::npos && !(host.front() == '[' && host.back() == ']'))
    return authority;
  return host;
}

AuthzString compile(const std::string& s) {
  if (s == "*") return {Form::Any, ""};
  if (s.size() > 1 && s.front() == '*') return {Form::Suffix, s.substr(1)};
  if (s.size() > 1 && s.back() == '*') return {Form::Prefix, s.substr(0, s.size() - 1)};
  return {Form::Exact, s};
}

AuthzStrings compile(const std::vector<std::string>& v) {
  AuthzStrings out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(compile(s));
  return out;
}

bool labels_subset(const std::map<std::string, std::string>& selector,
                   const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

bool detail::AuthzString::matches(std::string_view s, bool ignore_case) const {
  switch (form) {
    case Form::Any: return !s.empty();
    case Form::Exact: return same(s, text, ignore_case);
    case Form::Prefix: return s.size() >= text.size() && same(s.substr(0, text.size()), text, ignore_case);
    case Form::Suffix:
      return s.size() >= text.size() && same(s.substr(s.size() - text.size()), text, ignore_case);
  }
  return false;
}

struct detail::AuthzFacts {
  const AuthzRequest& r;
  std::string_view ns, sa;  // of the principal
  std::optional<Address> source, remote, destination;
  std::string_view host;  // authority without its port

  // "ns/sa" equals this request's service account.
  bool is_account(std::string_view account) const {
    return !ns.empty() && !sa.empty() && account.size() == ns.size() + 1 + sa.size() &&
           account.substr(0, ns.size()) == ns && account[ns.size()] == '/' && account.substr(ns.size() + 1) == sa;
  }
  bool any_account(const std::vector<std::string>& accounts) const {
    for (const auto& a : accounts)
      if (is_account(a)) return true;
    return false;
  }
};

namespace {

using detail::AuthzFacts;

bool matches(const detail::AuthzSourceMatch& s, const AuthzFacts& f) {
  const std::string_view principal = f.r.principal;
  // Positive fields need the attribute; negative ones hold when it is absent.
  if (!s.principals.empty() && !any_string(s.principals, principal)) return false;
  if (!s.not_principals.empty() && any_string(s.not_principals, principal)) return false;
  if (!s.namespaces.empty() && !any_string(s.namespaces, f.ns)) return false;
  if (!s.not_namespaces.empty() && any_string(s.not_namespaces, f.ns)) return false;
  if (!s.service_accounts.empty() && !f.any_account(s.service_accounts)) return false;
  if (!s.not_service_accounts.empty() && f.any_account(s.not_service_accounts)) return false;
  if (!s.ip.empty() && !in_any(s.ip, f.source)) return false;
  if (!s.not_ip.empty() && in_any(s.not_ip, f.source)) return false;
  if (!s.remote.empty() && !in_any(s.remote, f.remote)) return false;
  if (!s.not_remote.empty() && in_any(s.not_remote, f.remote)) return false;
  return true;
}

// Istio matches hosts against :authority exactly as sent, so "a.com" misses "a.com:8080"
// and a DENY on hosts is bypassed by adding the port (its docs ask for "a.com:*" as well).
// We also try the authority without its port: the same host on this listener either way.
bool host_in(const AuthzStrings& hosts, const AuthzFacts& f) {
  return any_string(hosts, f.r.authority, true) || (f.host.size() != f.r.authority.size() && any_string(hosts, f.host, true));
}

bool matches(const detail::AuthzOperationMatch& o, const AuthzFacts& f) {
  if (!o.hosts.empty() && !host_in(o.hosts, f)) return false;
  if (!o.not_hosts.empty() && host_in(o.not_hosts, f)) return false;
  if (!o.ports.empty() && !any_port(o.ports, f.r.port)) return false;
  if (!o.not_ports.empty() && any_port(o.not_ports, f.r.port)) return false;
  if (!o.methods.empty() && !any_string(o.methods, f.r.method)) return false;
  if (!o.not_methods.empty() && any_string(o.not_methods, f.r.method)) return false;
  if (!o.paths.empty() && !any_string(o.paths, f.r.path)) return false;
  if (!o.not_paths.empty() && any_string(o.not_paths, f.r.path)) return false;
  return true;
}

// values (any of them) and notValues (none of them) against one string attribute.
bool strings_hold(const detail::AuthzConditionMatch& c, std::string_view value) {
  if (!c.values.empty() && !any_string(c.values, value)) return false;
  if (!c.not_values.empty() && any_string(c.not_values, value)) return false;
  return true;
}

bool blocks_hold(const detail::AuthzConditionMatch& c, const std::optional<Address>& a) {
  if (!c.blocks.empty() && !in_any(c.blocks, a)) return false;
  if (!c.not_blocks.empty() && in_any(c.not_blocks, a)) return false;
  return true;
}

bool header_holds(const detail::AuthzConditionMatch& c, const HeaderMap* headers) {
  // A header sent several times matches when any of its values does; notValues when none
  // does. "*" is Envoy's present_match: any value, empty included.
  bool value_hit = false, not_hit = false;
  if (headers) {
    for (const auto& h : *headers) {
      if (h.name != c.header) continue;
      for (const auto& m : c.values) value_hit = value_hit || m.form == Form::Any || m.matches(h.value);
      for (const auto& m : c.not_values) not_hit = not_hit || m.form == Form::Any || m.matches(h.value);
    }
  }
  return (c.values.empty() || value_hit) && (c.not_values.empty() || !not_hit);
}

bool matches(const detail::AuthzConditionMatch& c, const AuthzFacts& f) {
  using config::AuthzKey;
  switch (c.key) {
    case AuthzKey::RequestHeader: return header_holds(c, f.r.headers);
    case AuthzKey::SourceIp: return blocks_hold(c, f.source);
    case AuthzKey::RemoteIp: return blocks_hold(c, f.remote);
    case AuthzKey::DestinationIp: return blocks_hold(c, f.destination);
    case AuthzKey::SourceNamespace: return strings_hold(c, f.ns);
    case AuthzKey::SourcePrincipal: return strings_hold(c, f.r.principal);
    case AuthzKey::ConnectionSni: return strings_hold(c, f.r.sni);
    case AuthzKey::SourceServiceAccount:
      return (c.accounts.empty() || f.any_account(c.accounts)) && (c.not_accounts.empty() || !f.any_account(c.not_accounts));
    case AuthzKey::DestinationPort:
      return (c.ports.empty() || any_port(c.ports, f.r.port)) && (c.not_ports.empty() || !any_port(c.not_ports, f.r.port));
  }
  return false;
}

bool matches(const detail::AuthzRuleMatch& r, const AuthzFacts& f) {
  if (!r.from.empty()) {
    bool any = false;
    for (const auto& s : r.from) any = any || matches(s, f);
    if (!any) return false;
  }
  if (!r.to.empty()) {
    bool any = false;
    for (const auto& o : r.to) any = any || matches(o, f);
    if (!any) return false;
  }
  for (const auto& c : r.when)
    if (!matches(c, f)) return false;
  return true;
}

bool applies(const detail::AuthzPolicyMatch& p, const AuthzRequest& r) {
  if (p.gateways.empty()) return true;
  for (const auto& g : p.gateways)
    if (g.ns == r.gateway_ns && g.name == r.gateway_name) return true;
  return false;
}

detail::AuthzRuleMatch compile_rule(const config::AuthzRule& r) {
  detail::AuthzRuleMatch m;
  for (const auto& s : r.from)
    m.from.push_back({compile(s.principals), compile(s.not_principals), compile(s.namespaces),
                      compile(s.not_namespaces), s.service_accounts, s.not_service_accounts, s.ip_blocks,
                      s.not_ip_blocks, s.remote_ip_blocks, s.not_remote_ip_blocks});
  for (const auto& o : r.to)
    m.to.push_back({compile(o.hosts), compile(o.not_hosts), compile(o.methods), compile(o.not_methods),
                    compile(o.paths), compile(o.not_paths), o.ports, o.not_ports});
  for (const auto& w : r.when) {
    detail::AuthzConditionMatch c;
    c.key = w.kind;
    c.header = w.header;
    if (w.kind == config::AuthzKey::SourceServiceAccount) {
      c.accounts = w.values;
      c.not_accounts = w.not_values;
    } else {
      c.values = compile(w.values);
      c.not_values = compile(w.not_values);
    }
    c.blocks = w.ip_values;
    c.not_blocks = w.not_ip_values;
    c.ports = w.port_values;
    c.not_ports = w.not_port_values;
    m.when.push_back(std::move(c));
  }
  return m;
}

}  // namespace

AuthorizationEngine AuthorizationEngine::build(const std::vector<config::AuthorizationPolicy>& policies,
                                               const config::WorkloadIdentity& workload, std::string_view default_ns) {
  const std::string_view workload_ns = workload.ns.empty() ? default_ns : std::string_view(workload.ns);
  AuthorizationEngine e;
  for (const auto& p : policies) {
    if (p.has_target_refs) {
      // Only the Gateways named; per request. No Gateway among the refs: never here.
      if (p.gateway_refs.empty()) continue;
    } else {
      // Istio: a policy in the root namespace applies mesh-wide (its selector matched against
      // workloads of every namespace), one elsewhere to the workloads of its own namespace.
      if (p.ns != workload.root_namespace && p.ns != workload_ns) continue;
      if (!labels_subset(p.selector, workload.labels)) continue;
    }
    if (e.policies_.size() > 0xffff) break;  // audit indexes are 16-bit; no config has that many
    detail::AuthzPolicyMatch m;
    m.action = p.action;
    m.gateways = p.gateway_refs;
    for (const auto& r : p.rules) m.rules.push_back(compile_rule(r));
    const auto index = static_cast<uint16_t>(e.policies_.size());
    switch (p.action) {
      case config::AuthzAction::Deny: e.deny_.push_back(index); break;
      case config::AuthzAction::Allow: e.allow_.push_back(index); break;
      case config::AuthzAction::Audit: e.audit_.push_back(index); break;
    }
    e.policies_.push_back(std::move(m));
    e.names_.push_back(p.ns + "." + p.name);
  }
  return e;
}

std::string_view AuthorizationEngine::action_name(int policy) const {
  if (policy < 0 || static_cast<size_t>(policy) >= policies_.size()) return "";
  switch (policies_[static_cast<size_t>(policy)].action) {
    case config::AuthzAction::Allow: return "ALLOW";
    case config::AuthzAction::Deny: return "DENY";
    case config::AuthzAction::Audit: return "AUDIT";
  }
  return "";
}

bool AuthorizationEngine::matches(const detail::AuthzPolicyMatch& p, const detail::AuthzFacts& f) const {
  for (const auto& r : p.rules)
    if (routing::matches(r, f)) return true;
  return false;  // no rules: matches nothing (an ALLOW without rules allows nothing)
}

AuthzDecision AuthorizationEngine::evaluate(const AuthzRequest& r) const {
  AuthzDecision d;
  const std::optional<Address> source = parse_address(r.source_ip);
  const detail::AuthzFacts f{r,
                             principal_part(r.principal, "/ns/"),
                             principal_part(r.principal, "/sa/"),
                             source,
                             r.remote_ip.empty() ? source : parse_address(r.remote_ip),
                             parse_address(r.destination_ip),
                             without_port(r.authority)};
  for (uint16_t i : audit_) {
    const auto& p = policies_[i];
    if (!applies(p, r) || !matches(p, f)) continue;
    if (d.audit_count < AuthzDecision::kMaxAudit) d.audit[d.audit_count++] = i;
    else ++d.audit_dropped;
  }
  for (uint16_t i : deny_) {
    const auto& p = policies_[i];
    if (applies(p, r) && matches(p, f)) {
      d.allowed = false;
      d.deciding_policy = i;
      return d;
    }
  }
  bool any_allow = false;
  for (uint16_t i : allow_) {
    const auto& p = policies_[i];
    if (!applies(p, r)) continue;
    any_allow = true;
    if (matches(p, f)) {
      d.deciding_policy = i;
      return d;
    }
  }
  d.allowed = !any_allow;
  return d;
}

}  // namespace infergate::routing
