// An InferencePool whose endpointPickerRef names tests/epp_sim (EppSim, gateway_env.h): the
// config the EPP e2e tests start the gateway with.
#pragma once

#include <string>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {

inline std::string endpoint(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// Two model servers in pool "pool", whose endpointPickerRef names Service "epp" (a static
// endpoint on `epp_port`).
// `spec_extra`: more GatewayConfig spec lines (2-space indented), e.g. endpointPicker.extProc;
// without it the EPP is reached in plaintext (epp_sim serves TLS only when asked).
inline const std::string kPlaintextEpp = "  endpointPicker:\n    extProc:\n      tls: {enabled: false}\n";
inline Gateway::Render pool_with_epp(uint16_t sim0, uint16_t sim1, uint16_t epp_port, std::string failure_mode,
                                     std::string spec_extra = kPlaintextEpp) {
  return [=](uint16_t port, uint16_t admin) {
    std::string y = gateway_base_yaml(port, admin, 2,
                                      {{"sim-0", sim0, "app: sim"}, {"sim-1", sim1, "app: sim"}, {"epp", epp_port, "app: epp"}},
                                      "  accessLog: {path: /dev/stdout, format: envoy}\n" + spec_extra);
    y += "---\napiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: pool}\nspec:\n"
         "  selector: {matchLabels: {app: sim}}\n  targetPorts: [{number: 8000}]\n"
         "  endpointPickerRef: {name: epp, port: {number: 9002}, failureMode: " + failure_mode + "}\n";
    y += "---\napiVersion: v1\nkind: Service\nmetadata: {name: epp}\nspec:\n  selector: {app: epp}\n  ports: [{port: 9002}]\n";
    y += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: route}\nspec:\n"
         "  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs:\n"
         "    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool}\n";
    return y;
  };
}

}  // namespace infergate::e2e
