// Active health checks in config: GatewayConfig spec.endpointPicker[.pools[]].healthCheck and
// GKE's HealthCheckPolicy (networking.gke.io/v1), with what they default to and the precise
// errors for what the gateway cannot do.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::line_of;
using testing::render;

const std::string kObjects = R"(---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: llm}
spec:
  selector: {matchLabels: {app: llm}}
  targetPorts: [{number: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
)";

LoadResult load_with_gateway_config(const std::string& picker) {
  return load_string("apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: gc}\nspec:\n"
                     "  endpointPicker:\n" +
                         picker + kObjects,
                     "gc.yaml");
}

LoadResult load_policy(const std::string& text) { return load_string(kObjects + "---\n" + text, "hc.yaml"); }

std::string policy(const std::string& target, const std::string& default_block) {
  return "apiVersion: networking.gke.io/v1\nkind: HealthCheckPolicy\nmetadata: {name: hc, namespace: default}\nspec:\n"
         "  targetRef: " +
         target + "\n  default:\n" + default_block;
}

const std::string kPoolTarget = "{group: inference.networking.k8s.io, kind: InferencePool, name: llm}";

TEST(HealthCheckConfig, GatewayConfigDefaultAppliesToEveryPool) {
  LoadResult r = load_with_gateway_config(
      "    healthCheck:\n      path: /health\n      interval: 2s\n      timeout: 500ms\n"
      "      healthyThreshold: 3\n      unhealthyThreshold: 1\n      expectedStatuses: [200, {start: 204, end: 205}]\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const auto& hc = r.config->gateway.endpoint_picker.for_pool("default", "llm").health_check;
  ASSERT_TRUE(hc);
  EXPECT_EQ(hc->path, "/health");
  EXPECT_EQ(hc->interval.count(), 2000);
  EXPECT_EQ(hc->timeout.count(), 500);
  EXPECT_EQ(hc->healthy_threshold, 3u);
  EXPECT_EQ(hc->unhealthy_threshold, 1u);
  EXPECT_TRUE(hc->status_passes(200));
  EXPECT_TRUE(hc->status_passes(204));
  EXPECT_FALSE(hc->status_passes(201));
  EXPECT_FALSE(hc->status_passes(503));
  EXPECT_EQ(hc->origin, "GatewayConfig spec.endpointPicker.healthCheck");
}

TEST(HealthCheckConfig, GatewayConfigDefaultsAreGkes) {
  LoadResult r = load_with_gateway_config("    healthCheck: {path: /health}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const auto& hc = r.config->gateway.endpoint_picker.defaults.health_check;
  ASSERT_TRUE(hc);
  EXPECT_EQ(hc->interval.count(), 5000);
  EXPECT_EQ(hc->timeout.count(), 5000);
  EXPECT_EQ(hc->healthy_threshold, 2u);
  EXPECT_EQ(hc->unhealthy_threshold, 2u);
  EXPECT_TRUE(hc->expected_statuses.empty());
  EXPECT_TRUE(hc->status_passes(200));
  EXPECT_FALSE(hc->status_passes(204));
}

TEST(HealthCheckConfig, APoolEntryReplacesOrTurnsOffTheDefault) {
  LoadResult r = load_with_gateway_config(
      "    healthCheck: {path: /health}\n"
      "    pools:\n"
      "    - name: llm\n      healthCheck: {path: /ready, interval: 1s}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const auto& llm = r.config->gateway.endpoint_picker.for_pool("default", "llm").health_check;
  ASSERT_TRUE(llm);
  EXPECT_EQ(llm->path, "/ready");
  EXPECT_EQ(llm->interval.count(), 1000);
  EXPECT_EQ(llm->origin, "GatewayConfig spec.endpointPicker.pools[0].healthCheck");

  r = load_with_gateway_config(
      "    healthCheck: {path: /health}\n"
      "    pools:\n"
      "    - name: llm\n      healthCheck: {enabled: false}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const auto& off = r.config->gateway.endpoint_picker.for_pool("default", "llm").health_check;
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->enabled);
}

TEST(HealthCheckConfig, GatewayConfigErrorsNameTheField) {
  const std::string text = "    healthCheck:\n      interval: 0s\n      unhealthyThreshold: 0\n"
                           "      expectedStatuses: [{start: 300, end: 200}, 99]\n      retries: 3\n";
  LoadResult r = load_with_gateway_config(text);
  ASSERT_FALSE(r.ok());
  const std::string all = render(r.errors);
  EXPECT_NE(all.find("spec.endpointPicker.healthCheck.path: is required"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.endpointPicker.healthCheck.interval: must be more than 0"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.endpointPicker.healthCheck.unhealthyThreshold:"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.endpointPicker.healthCheck.expectedStatuses[0].end: must be more than start"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("spec.endpointPicker.healthCheck.expectedStatuses[1]:"), std::string::npos) << all;
  EXPECT_NE(all.find("retries"), std::string::npos) << all;  // our own kind: unknown fields are errors
  EXPECT_NE(all.find("gc.yaml:"), std::string::npos) << all;
  EXPECT_NE(all.find("(GatewayConfig/gc)"), std::string::npos) << all;
}

TEST(HealthCheckConfig, GatewayConfigPathMustBeAPath) {
  LoadResult r = load_with_gateway_config("    pools:\n    - name: llm\n      healthCheck: {path: health}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(render(r.errors).find("spec.endpointPicker.pools[0].healthCheck.path: must be a request path"),
            std::string::npos)
      << render(r.errors);
}

TEST(HealthCheckConfig, GkePolicyMapsOntoAnHttpCheck) {
  const std::string text = policy(kPoolTarget,
                                  "    checkIntervalSec: 3\n    timeoutSec: 1\n    healthyThreshold: 4\n"
                                  "    unhealthyThreshold: 5\n    logConfig: {enabled: true}\n"
                                  "    config:\n      type: HTTP\n      httpHealthCheck:\n"
                                  "        requestPath: /health\n        host: llm.example.com\n"
                                  "        port: 9000\n        portSpecification: USE_FIXED_PORT\n"
                                  "        response: OK\n");
  LoadResult r = load_policy(text);
  ASSERT_TRUE(r.ok()) << render(r.errors);
  ASSERT_EQ(r.config->health_check_policies.size(), 1u);
  const HealthCheckPolicy* p = r.config->find_health_check_policy("InferencePool", "default", "llm");
  ASSERT_NE(p, nullptr);
  const HealthCheck& hc = p->check;
  EXPECT_EQ(hc.interval.count(), 3000);
  EXPECT_EQ(hc.timeout.count(), 1000);
  EXPECT_EQ(hc.healthy_threshold, 4u);
  EXPECT_EQ(hc.unhealthy_threshold, 5u);
  EXPECT_TRUE(hc.log_transitions);
  EXPECT_EQ(hc.path, "/health");
  EXPECT_EQ(hc.host, "llm.example.com");
  EXPECT_EQ(hc.port, std::optional<uint16_t>(9000));
  EXPECT_EQ(hc.response, "OK");
  EXPECT_EQ(hc.origin, "HealthCheckPolicy/default/hc");
  EXPECT_EQ(r.config->find_health_check_policy("Service", "default", "llm"), nullptr);
}

TEST(HealthCheckConfig, GkePolicyDefaultsAreGkes) {
  LoadResult r = load_policy(policy("{kind: Service, name: web}", "    config: {type: HTTP}\n"));
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const HealthCheckPolicy* p = r.config->find_health_check_policy("Service", "default", "web");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->check.path, "/");
  EXPECT_EQ(p->check.interval.count(), 5000);
  EXPECT_EQ(p->check.timeout.count(), 5000);
  EXPECT_EQ(p->check.healthy_threshold, 2u);
  EXPECT_EQ(p->check.unhealthy_threshold, 2u);
  EXPECT_FALSE(p->check.port);
}

TEST(HealthCheckConfig, GkePolicyRejectsWhatTheGatewayCannotCheck) {
  struct Case {
    std::string default_block, path, message;
  };
  const Case cases[] = {
      {"    config: {type: TCP, tcpHealthCheck: {port: 80}}\n", "spec.default.config.type",
       "type TCP is not supported: the gateway's active health checks are HTTP/1.1 GETs (use type HTTP with "
       "httpHealthCheck)"},
      {"    config: {type: HTTP2}\n", "spec.default.config.type", "type HTTP2 is not supported"},
      {"    config: {type: HTTP, httpHealthCheck: {portSpecification: USE_NAMED_PORT, portName: http}}\n",
       "spec.default.config.httpHealthCheck.portSpecification", "USE_NAMED_PORT is not supported"},
      {"    config: {type: HTTP, httpHealthCheck: {portSpecification: USE_FIXED_PORT}}\n",
       "spec.default.config.httpHealthCheck.port", "is required with portSpecification USE_FIXED_PORT"},
      {"    config: {type: HTTP, httpHealthCheck: {portSpecification: USE_SERVING_PORT, port: 80}}\n",
       "spec.default.config.httpHealthCheck.port", "must not be set with portSpecification USE_SERVING_PORT"},
      {"    config: {type: HTTP, httpHealthCheck: {proxyHeader: PROXY_V1}}\n",
       "spec.default.config.httpHealthCheck.proxyHeader", "PROXY_V1 is not supported"},
      {"    config: {type: HTTP, httpHealthCheck: {requestPath: health}}\n",
       "spec.default.config.httpHealthCheck.requestPath", "must be a request path"},
      {"    config: {type: HTTP, http2HealthCheck: {requestPath: /}}\n", "spec.default.config.http2HealthCheck",
       "does not match type HTTP"},
      {"    checkIntervalSec: 2\n    timeoutSec: 3\n", "spec.default.timeoutSec",
       "must not be more than checkIntervalSec (2)"},
      {"    unhealthyThreshold: 11\n", "spec.default.unhealthyThreshold", ""},
      {"    config: {type: UDP}\n", "spec.default.config.type", "\"UDP\" is not one of: HTTP, HTTPS, HTTP2, GRPC, TCP"},
  };
  for (const Case& c : cases) {
    LoadResult r = load_policy(policy(kPoolTarget, c.default_block));
    ASSERT_FALSE(r.ok()) << c.default_block;
    const std::string all = render(r.errors);
    EXPECT_NE(all.find("(HealthCheckPolicy/hc): " + c.path + ": " + c.message), std::string::npos)
        << c.default_block << all;
    EXPECT_NE(all.find("hc.yaml:"), std::string::npos) << all;
  }
}

TEST(HealthCheckConfig, GkePolicyTargetMustBeAPoolOrAService) {
  LoadResult r = load_policy(policy("{group: apps, kind: Deployment, name: llm}", "    config: {type: HTTP}\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(render(r.errors).find("spec.targetRef.kind: targetRef must be an InferencePool"), std::string::npos)
      << render(r.errors);

  r = load_policy(policy("{group: inference.networking.k8s.io, kind: InferencePool, name: llm, namespace: other}",
                         "    config: {type: HTTP}\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(render(r.errors).find("spec.targetRef.namespace: a HealthCheckPolicy applies to objects of its own"),
            std::string::npos)
      << render(r.errors);
}

TEST(HealthCheckConfig, GkePolicyOnAMissingTargetWarnsAndTwoOnOneTargetFail) {
  LoadResult r = load_policy(
      policy("{group: inference.networking.k8s.io, kind: InferencePool, name: nope}", "    config: {type: HTTP}\n"));
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_NE(render(r.warnings).find("InferencePool \"default/nope\" is not defined"), std::string::npos)
      << render(r.warnings);

  std::string second = policy(kPoolTarget, "    config: {type: HTTP}\n");
  second.replace(second.find("name: hc,"), 9, "name: hc2,");
  const std::string text = policy(kPoolTarget, "    config: {type: HTTP}\n") + "---\n" + second;
  r = load_policy(text);
  ASSERT_FALSE(r.ok());
  const std::string all = render(r.errors);
  EXPECT_NE(all.find("(HealthCheckPolicy/hc2): spec.targetRef: InferencePool \"default/llm\" already has "
                     "HealthCheckPolicy/hc"),
            std::string::npos)
      << all;
}

TEST(HealthCheckConfig, UnknownVersionIsAnError) {
  LoadResult r = load_policy("apiVersion: networking.gke.io/v2\nkind: HealthCheckPolicy\nmetadata: {name: hc}\n"
                             "spec: {targetRef: {kind: Service, name: web}}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(render(r.errors).find("kind HealthCheckPolicy is not supported in apiVersion \"networking.gke.io/v2\""),
            std::string::npos)
      << render(r.errors);
}

TEST(HealthCheckConfig, ErrorLinesPointAtTheField) {
  const std::string text = policy(kPoolTarget, "    config:\n      type: GRPC\n");
  LoadResult r = load_policy(text);
  ASSERT_FALSE(r.ok());
  const std::string full = kObjects + "---\n" + text;
  EXPECT_TRUE(has_diagnostic(
      r.errors, "hc.yaml:" + std::to_string(line_of(full, "type: GRPC")) +
                    ": document 3 (HealthCheckPolicy/hc): spec.default.config.type: type GRPC is not supported: the "
                    "gateway's active health checks are HTTP/1.1 GETs (use type HTTP with httpHealthCheck)"))
      << render(r.errors);
}

}  // namespace
}  // namespace infergate::config
