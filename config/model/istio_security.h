#pragma once
// Istio security.istio.io kinds, validated (see config/model.h for the conventions):
// PeerAuthentication, which effective_mtls resolves for the gateway's workload, and
// AuthorizationPolicy (v1, v1beta1), whose matching semantics live in routing/authorization.h.
// AuthorizationPolicy strings are kept as written (the engine compiles Istio's exact /
// "prefix*" / "*suffix" / "*" forms), hosts lower-cased; addresses, ports and when keys are
// already parsed, so the engine never meets a value it cannot read.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/ip_block.h"
#include "config/source_location.h"

namespace infergate::config {

// Istio security.istio.io PeerAuthentication.
enum class MtlsMode { Unset, Disable, Permissive, Strict };

struct PeerAuthentication {
  std::string ns = "default";
  std::string name;
  std::string creation_timestamp;
  // spec.selector with at least one matchLabels entry; an empty one is namespace-wide (Istio).
  bool has_selector = false;
  std::map<std::string, std::string> selector;    // spec.selector.matchLabels
  MtlsMode mode = MtlsMode::Unset;                // spec.mtls.mode
  std::map<uint16_t, MtlsMode> port_level;        // spec.portLevelMtls
  SourceLocation source;
};

// CUSTOM (ext_authz) is rejected by the parser: it never reaches the model.
enum class AuthzAction { Allow, Deny, Audit };

// rules[].from[].source: every field given must match. An empty list = the field is absent
// (Istio rejects empty values, so a given field always has entries).
struct AuthzSource {
  std::vector<std::string> principals, not_principals;
  std::vector<std::string> namespaces, not_namespaces;
  // "ns/sa" (one written as "sa" alone got the policy's namespace, as Istio reads it).
  std::vector<std::string> service_accounts, not_service_accounts;
  std::vector<IpBlock> ip_blocks, not_ip_blocks;                // the direct peer
  std::vector<IpBlock> remote_ip_blocks, not_remote_ip_blocks;  // the original client
};

// rules[].to[].operation: every field given must match.
struct AuthzOperation {
  std::vector<std::string> hosts, not_hosts;  // lower-cased
  std::vector<uint16_t> ports, not_ports;
  std::vector<std::string> methods, not_methods;
  std::vector<std::string> paths, not_paths;
};

// The when[] keys we evaluate (request.auth.* and the rest are rejected by the parser).
enum class AuthzKey {
  RequestHeader,         // request.headers[<name>]
  SourceIp,              // source.ip
  RemoteIp,              // remote.ip
  SourceNamespace,       // source.namespace
  SourcePrincipal,       // source.principal
  SourceServiceAccount,  // source.serviceAccount
  DestinationIp,         // destination.ip
  DestinationPort,       // destination.port
  ConnectionSni,         // connection.sni
};

// rules[].when[]: values (any) and notValues (none) must both hold when given.
struct AuthzCondition {
  std::string key;  // as written
  AuthzKey kind = AuthzKey::RequestHeader;
  std::string header;  // RequestHeader: the name, lower-cased
  // The string keys (source.serviceAccount as "ns/sa"); addresses for the three IP keys;
  // ports for destination.port. Empty = not given.
  std::vector<std::string> values, not_values;
  std::vector<IpBlock> ip_values, not_ip_values;
  std::vector<uint16_t> port_values, not_port_values;
};

// A rule matches when all of its present sections do (from: any entry, to: any entry,
// when: every condition). `{}` matches every request.
struct AuthzRule {
  std::vector<AuthzSource> from;
  std::vector<AuthzOperation> to;
  std::vector<AuthzCondition> when;
};

// A targetRef(s) entry naming a Gateway API Gateway: the only kind that selects this gateway
// (the parser reports and drops Service / ServiceEntry refs, enforced at waypoints).
struct AuthzGatewayRef {
  std::string ns;  // always the policy's (Istio forbids cross-namespace targetRefs)
  std::string name;
};

struct AuthorizationPolicy {
  std::string ns = "default";
  std::string name;
  std::string creation_timestamp;
  SourceLocation source;

  AuthzAction action = AuthzAction::Allow;
  // spec.selector.matchLabels; empty (or a label-less selector) = namespace-wide, as Istio.
  std::map<std::string, std::string> selector;
  // spec.targetRef / spec.targetRefs were given: the policy applies only to requests through
  // `gateway_refs` (none at all when every ref named another kind).
  bool has_target_refs = false;
  std::vector<AuthzGatewayRef> gateway_refs;
  // No rules: an ALLOW matches nothing (Istio's allow-nothing), an AUDIT never matches. A
  // DENY without rules is rejected, as Istio does.
  std::vector<AuthzRule> rules;
};

struct Config;

// The PeerAuthentication mode this gateway's workload (GatewayConfig spec.workload) gets on
// listener port `port`, Istio's way (ComposePeerAuthentication): the oldest matching workload
// policy (selector, workload namespace; selector policies in the root namespace apply to
// nothing) over the oldest namespace-wide one (no selector, workload namespace) over the
// oldest mesh-wide one (no selector, root namespace); UNSET inherits from the level below and
// the workload policy's portLevelMtls entry for `port` beats its mtls.mode. Istio's final
// fallback is PERMISSIVE inside a mesh; outside one nothing set anywhere is Unset: listeners
// stay as configured. *decided_by (if given) gets the policy whose mode won, nullptr for Unset.
MtlsMode effective_mtls(const Config& config, uint16_t port,
                        const PeerAuthentication** decided_by = nullptr);

}  // namespace infergate::config
