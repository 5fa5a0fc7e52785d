#pragma once
// Istio configs for routing tests, loaded through the real loader so a test reads like the
// manifest an operator writes: pods, Gateways "gw" (:8080) and "edge" (:9090, *.example.com),
// Service "llm" (:80) with DestinationRule subsets v1/v2, then the test's own documents.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "config/loader.h"
#include "routing/route_table.h"

namespace infergate::routing::testing {

inline const std::string kIstioBase = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gc}
spec:
  endpoints:
  - {name: a1, address: 10.0.0.1, labels: {app: llm, version: v1}}
  - {name: a2, address: 10.0.0.2, labels: {app: llm, version: v2}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  listeners: [{name: web, port: 9090, protocol: HTTP, hostname: "*.example.com"}]
---
apiVersion: v1
kind: Service
metadata: {name: llm}
spec:
  selector: {app: llm}
  ports: [{name: http, port: 80, targetPort: 8000}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: llm}
spec:
  host: llm
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
)";

inline const std::string kGw = "default/gw/http";
inline const std::string kEdge = "default/edge/web";

// kIstioBase + `extra`; the test fails on any load or build error.
inline config::Config load_istio(const std::string& extra) {
  config::LoadResult r = config::load_string(kIstioBase + "---\n" + extra, "vs.yaml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.to_string();
  return r.config ? *r.config : config::Config{};
}

inline std::shared_ptr<const RouteTable> build_istio(const std::string& extra) {
  std::vector<config::Diagnostic> errors;
  auto t = RouteTable::build(load_istio(extra), &errors);
  for (const auto& e : errors) ADD_FAILURE() << e.to_string();
  return t;
}

// "apiVersion ... kind: VirtualService" with `name` and `spec` (indented two spaces).
inline std::string virtual_service(const std::string& name, const std::string& spec,
                                   const std::string& extra_meta = "") {
  return "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: " + name +
         extra_meta + "}\nspec:\n" + spec;
}

}  // namespace infergate::routing::testing
