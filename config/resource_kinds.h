#pragma once
// Internal to config/: which apiVersion/kind pairs we act on, which we knowingly ignore, and
// which are on the roadmap. Everything else is an error naming apiVersion and kind.

#include <string_view>

namespace infergate::config::detail {

enum class KindClass {
  GatewayConfig,
  Rollout,  // infergate.dev v1alpha1
  Gateway,
  HttpRoute,
  Service,
  InferencePool,
  VirtualService,   // networking.istio.io v1 / v1beta1 / v1alpha3
  DestinationRule,  // networking.istio.io v1 / v1beta1 / v1alpha3
  InferenceModel,         // inference.networking.x-k8s.io v1alpha2
  InferenceObjective,     // x-k8s.io v1alpha2; inference.networking.k8s.io v1alpha2 / v1
  InferenceModelRewrite,  // v1alpha2 in either inference group
  HealthCheckPolicy,    // networking.gke.io v1 (GKE's; HTTP checks only)
  Secret,               // v1 Secret (TLS material; others are ignored by its parser)
  PeerAuthentication,   // security.istio.io v1 / v1beta1
  AuthorizationPolicy,  // security.istio.io v1 / v1beta1
  Ignored,          // Deployment, Namespace, ConfigMap, argoproj Application, ...
  NotYetSupported,  // Istio Gateway
  UnknownVersion,   // a kind we know under an apiVersion we do not
  Unknown,
};

KindClass classify(std::string_view api_version, std::string_view kind);

// "networking.istio.io/v1beta1" -> "networking.istio.io"; "v1" -> "" (core).
std::string_view api_group(std::string_view api_version);

}  // namespace infergate::config::detail
