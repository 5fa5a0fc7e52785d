#pragma once
// Istio AuthorizationPolicy evaluation, as Envoy's RBAC filters do it for an Istio proxy.
//
// Which policies apply is decided once per config (the workload's namespace, the root
// namespace, the workload selector) and per request only for targetRefs (the Gateway the
// listener belongs to). Order: any matching DENY denies; else, when no ALLOW applies, the
// request is allowed; else one ALLOW must match. AUDIT policies never decide; every one that
// matches is reported, denied requests included (Istio puts the AUDIT filter first).
//
// A policy matches when any rule does; a rule when every section given does (from: any
// source, to: any operation, when: every condition); a source or operation when every field
// given does. A `not` field holds when none of its values matches. Strings match exactly,
// "prefix*", "*suffix", or "*" (any non-empty value; for request.headers[...] presence).
// Hosts compare case-insensitively, against the :authority as received and again without
// its port. An absent attribute (no principal, no SNI, a missing header) matches no
// positive field and every negative one, as Envoy's not_id over a failed matcher does:
// a plaintext request passes notPrincipals: ["*"] in an ALLOW and is caught by it in a DENY.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/model/istio_security.h"
#include "config/model/security.h"
#include "routing/http_message.h"

namespace infergate::routing {

struct AuthzRequest {
  std::string_view principal;   // "" = no verified peer identity
  std::string_view source_ip;   // downstream peer address (textual IPv4/IPv6)
  std::string_view authority;   // :authority / Host as received
  std::string_view method;
  std::string_view path;        // without the query string
  uint16_t port = 0;            // the listener port
  std::string_view sni;         // "" when plaintext or no SNI
  const HeaderMap* headers = nullptr;
  std::string_view gateway_ns, gateway_name;  // the listener's Gateway (targetRefs)
  // The original client (remoteIpBlocks, remote.ip) when a trusted proxy in front told us;
  // "" = source_ip, which outside a mesh is the client.
  std::string_view remote_ip;
  std::string_view destination_ip;  // the local address (destination.ip); "" = unknown
};

struct AuthzDecision {
  static constexpr size_t kMaxAudit = 8;
  bool allowed = true;
  // The DENY that matched, or the ALLOW that allowed (index into policy_names()); -1 =
  // allowed because no ALLOW applies, or denied because none matched.
  int deciding_policy = -1;
  // AUDIT policies that matched, in policy order: the first kMaxAudit of them; the rest are
  // only counted in audit_dropped (no allocation per request).
  std::array<uint16_t, kMaxAudit> audit{};
  size_t audit_count = 0;
  size_t audit_dropped = 0;
};

namespace detail {

// One Istio string value, classified once.
struct AuthzString {
  enum class Form : uint8_t { Exact, Prefix, Suffix, Any };
  Form form = Form::Exact;
  std::string text;  // without the '*'
  bool matches(std::string_view s, bool ignore_case = false) const;
};
using AuthzStrings = std::vector<AuthzString>;
using AuthzBlocks = std::vector<config::IpBlock>;

struct AuthzSourceMatch {
  AuthzStrings principals, not_principals, namespaces, not_namespaces;
  std::vector<std::string> service_accounts, not_service_accounts;  // "ns/sa", exact
  AuthzBlocks ip, not_ip, remote, not_remote;
};

struct AuthzOperationMatch {
  AuthzStrings hosts, not_hosts, methods, not_methods, paths, not_paths;
  std::vector<uint16_t> ports, not_ports;
};

struct AuthzConditionMatch {
  config::AuthzKey key = config::AuthzKey::RequestHeader;
  std::string header;  // lower-case
  AuthzStrings values, not_values;
  std::vector<std::string> accounts, not_accounts;  // source.serviceAccount
  AuthzBlocks blocks, not_blocks;
  std::vector<uint16_t> ports, not_ports;
};

struct AuthzRuleMatch {
  std::vector<AuthzSourceMatch> from;
  std::vector<AuthzOperationMatch> to;
  std::vector<AuthzConditionMatch> when;
};

struct AuthzPolicyMatch {
  config::AuthzAction action = config::AuthzAction::Allow;
  std::vector<config::AuthzGatewayRef> gateways;  // targetRefs; empty = applies to every request
  std::vector<AuthzRuleMatch> rules;
};

struct AuthzFacts;  // one request's attributes, read once per evaluation

}  // namespace detail

class AuthorizationEngine {
 public:
  // `default_ns` is the workload's namespace when workload.ns is "" (the GatewayConfig's).
  static AuthorizationEngine build(const std::vector<config::AuthorizationPolicy>& policies,
                                   const config::WorkloadIdentity& workload, std::string_view default_ns);

  bool empty() const { return policies_.empty(); }  // no policy applies: nothing to evaluate
  // Thread-safe (const) and allocation-free.
  AuthzDecision evaluate(const AuthzRequest& r) const;
  const std::vector<std::string>& policy_names() const { return names_; }  // "<ns>.<name>"
  std::string_view action_name(int policy) const;                         // "ALLOW" / "DENY" / "AUDIT"

 private:
  bool matches(const detail::AuthzPolicyMatch& p, const detail::AuthzFacts& f) const;

  std::vector<detail::AuthzPolicyMatch> policies_;
  std::vector<std::string> names_;
  std::vector<uint16_t> deny_, allow_, audit_;  // indexes into policies_, in policy order
};

}  // namespace infergate::routing
