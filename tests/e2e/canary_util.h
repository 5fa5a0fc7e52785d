// Shared by the canary tests: a gateway splitting one route between two model-server
// versions, and ways to count where requests went.
#pragma once

#include <map>
#include <string>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {

// GatewayConfig + Gateway + InferencePools pool-v1 / pool-v2 (one modelsim each, named
// "v1" / "v2") + HTTPRoute "canary" splitting w1:w2 between them.
inline std::string two_version_config(uint16_t port, uint16_t admin, uint16_t v1, uint16_t v2, unsigned w1,
                                      unsigned w2, unsigned workers = 1, const std::string& extra = {}) {
  std::string y = gateway_base_yaml(port, admin, workers,
                                    {{"v1-0", v1, "app: llm, version: v1"}, {"v2-0", v2, "app: llm, version: v2"}});
  for (const char* v : {"v1", "v2"}) {
    y += std::string("---\napiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: pool-") +
         v + "}\nspec:\n  selector: {matchLabels: {version: " + v + "}}\n  targetPorts: [{number: 8000}]\n";
  }
  y += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: canary}\nspec:\n";
  y += "  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs:\n";
  y += "    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-v1, weight: " + std::to_string(w1) + "}\n";
  y += "    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-v2, weight: " + std::to_string(w2) + "}\n";
  if (!extra.empty()) y += "---\n" + extra;
  return y;
}

// POST /weights for the "canary" route; returns the response.
inline HttpResponse set_canary_weights(Gateway& gw, unsigned w1, unsigned w2) {
  return gw.admin("POST", "/weights",
                  "{\"name\":\"canary\",\"weights\":{\"pool-v1\":" + std::to_string(w1) + ",\"pool-v2\":" +
                      std::to_string(w2) + "}}");
}

// The config version serving now (from GET /weights).
inline int config_version(Gateway& gw) {
  HttpResponse r = gw.admin("GET", "/weights");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("version") ? j["version"].get<int>() : -1;
}

// Sends `n` small chat requests on fresh connections and counts x-modelsim-instance values
// (status other than 200 counts under "status <code>").
inline std::map<std::string, int> count_instances(uint16_t port, int n, const Headers& headers = {},
                                                  const std::string& body = chat_body(1, false)) {
  std::map<std::string, int> seen;
  for (int i = 0; i < n; ++i) {
    HttpResponse r = http_request(port, "POST", "/v1/chat/completions", headers, body);
    if (r.status == 200) ++seen[r.header("x-modelsim-instance")];
    else ++seen["status " + std::to_string(r.status)];
  }
  return seen;
}

}  // namespace infergate::e2e
