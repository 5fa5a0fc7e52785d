#pragma once
// The validated configuration model: plain structs, one per resource kind we act on, already
// checked by the loader (types, ranges, required fields, references). Nothing here parses or
// validates; consumers (routing/, pools/, gateway/) may rely on every invariant noted in it.
//
// Namespaces: a resource without metadata.namespace is in "default" (as kubectl would put it).
// A reference without a namespace points into the referring resource's namespace.
//
// The kinds live in config/model/, one header per API group (common.h: what groups share);
// this header adds Config, everything loaded. Code that reads one group includes only it.

#include <string_view>
#include <vector>

#include "config/model/common.h"
#include "config/model/gateway_api.h"
#include "config/model/health_check.h"
#include "config/model/inference.h"
#include "config/model/infergate.h"
#include "config/model/istio_networking.h"
#include "config/model/istio_security.h"
#include "config/model/kubernetes.h"
#include "config/model/rollout.h"
#include "config/model/security.h"

namespace infergate::config {

struct Config {
  GatewayConfig gateway;
  std::vector<Gateway> gateways;       // the Gateways whose listeners are `listeners`
  std::vector<Listener> listeners;
  std::vector<Endpoint> endpoints;     // from GatewayConfig spec.endpoints
  std::vector<Service> services;
  std::vector<InferencePool> pools;
  std::vector<HttpRoute> routes;
  std::vector<VirtualService> virtual_services;   // sorted oldest first (Istio's merge order)
  std::vector<DestinationRule> destination_rules;  // sorted oldest first
  std::vector<InferenceModel> inference_models;             // sorted oldest first
  std::vector<InferenceObjective> inference_objectives;
  std::vector<InferenceModelRewrite> model_rewrites;        // sorted oldest first
  std::vector<Rollout> rollouts;
  std::vector<TlsSecret> secrets;                          // kubernetes.io/tls (and CA) Secrets
  std::vector<PeerAuthentication> peer_authentications;
  std::vector<AuthorizationPolicy> authorization_policies;  // sorted oldest first
  std::vector<HealthCheckPolicy> health_check_policies;    // GKE's, one per target at most

  // The HealthCheckPolicy whose targetRef is `kind` ("InferencePool" | "Service") ns/name;
  // nullptr when none.
  const HealthCheckPolicy* find_health_check_policy(std::string_view kind, std::string_view ns,
                                                    std::string_view name) const;

  const Service* find_service(std::string_view ns, std::string_view name) const;
  const InferencePool* find_pool(std::string_view ns, std::string_view name) const;
  // The oldest DestinationRule whose host is the Service ns/name; nullptr when none.
  const DestinationRule* find_destination_rule(std::string_view service_ns,
                                               std::string_view service_name) const;
  // Subset `subset` of Service ns/name in the oldest rule that defines it (Istio merges the
  // rules of one host; an earlier subset of the same name wins). `rule` gets its rule.
  const DestinationRuleSubset* find_subset(std::string_view service_ns,
                                           std::string_view service_name,
                                           std::string_view subset,
                                           const DestinationRule** rule = nullptr) const;
  // Secret ns/name holding TLS or CA material; nullptr when none. effective_mtls
  // (model/istio_security.h) resolves PeerAuthentication for the gateway's workload.
  const TlsSecret* find_secret(std::string_view ns, std::string_view name) const;
  // GatewayConfig spec.tls.certificates[] entry `name`; nullptr when none.
  const CertificateFiles* find_certificate_files(std::string_view name) const;
};

}  // namespace infergate::config
