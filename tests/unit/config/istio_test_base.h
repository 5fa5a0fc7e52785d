#pragma once
// A valid base for the Istio config tests: pods, a Gateway, two Services (one with two
// ports, in namespace "team") and a DestinationRule with subsets v1/v2 of Service "llm".
// Tests append VirtualServices / DestinationRules (document 6 onwards).

#include <algorithm>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config::testing {

inline const std::string kIstioBase = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gc}
spec:
  endpoints:
  - {name: a1, address: 10.0.0.1, labels: {app: llm, version: v1}}
  - {name: a2, address: 10.0.0.2, labels: {app: llm, version: v2}}
  - {name: b1, address: 10.0.1.1, labels: {app: two}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: llm}
spec:
  selector: {app: llm}
  ports: [{name: http, port: 80, targetPort: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: two, namespace: team}
spec:
  selector: {app: two}
  ports:
  - {name: http, port: 80, targetPort: 8000}
  - {name: grpc, port: 81, targetPort: 9000}
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

// kIstioBase + `extra`, loaded as "istio.yaml"; expected diagnostics are located by needles.
struct IstioLoaded {
  std::string extra;
  LoadResult r;

  static int base_lines() {
    return static_cast<int>(std::count(kIstioBase.begin(), kIstioBase.end(), '\n')) + 1;
  }
  int line(std::string_view needle, int nth = 1) const {
    const int l = line_of(extra, needle, nth);
    EXPECT_GT(l, 0) << "fixture has no line with \"" << needle << "\"";
    return l + base_lines();
  }
  // "istio.yaml:<line of needle>: " + rest
  std::string at(std::string_view needle, const std::string& rest, int nth = 1) const {
    return "istio.yaml:" + std::to_string(line(needle, nth)) + ": " + rest;
  }
};

inline IstioLoaded load_istio(const std::string& extra) {
  return IstioLoaded{extra, load_string(kIstioBase + "---\n" + extra, "istio.yaml")};
}

}  // namespace infergate::config::testing
