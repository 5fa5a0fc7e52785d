// The active health check's verdict (pools/health_check_state.h): thresholds, the first
// check's special role, and that eligible() needs the check's verdict as well as the
// scraper's; and which clusters get which check (ClusterSet::build).
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "pools/cluster.h"
#include "pools/health_check_state.h"

namespace infergate::pools {
namespace {

using Change = HealthCheckState::Change;

TEST(HealthCheckState, UncheckedIsHealthy) {
  HealthCheckState s(2, 3);
  EXPECT_TRUE(s.healthy());
  EXPECT_FALSE(s.checked());
}

TEST(HealthCheckState, FirstFailureDecidesAlone) {
  HealthCheckState s(2, 3);
  EXPECT_EQ(s.record(false), Change::BecameUnhealthy);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.consecutive_failures(), 1u);
}

TEST(HealthCheckState, UnhealthyAfterThresholdFailuresInARow) {
  HealthCheckState s(2, 3);
  EXPECT_EQ(s.record(true), Change::None);
  EXPECT_EQ(s.record(false), Change::None);
  EXPECT_EQ(s.record(false), Change::None);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.record(false), Change::BecameUnhealthy);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.record(false), Change::None);  // stays unhealthy, no second change
  EXPECT_EQ(s.consecutive_failures(), 4u);
}

TEST(HealthCheckState, APassBetweenFailuresStartsTheCountAgain) {
  HealthCheckState s(2, 2);
  s.record(true);
  s.record(false);
  s.record(true);
  EXPECT_EQ(s.record(false), Change::None);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.record(false), Change::BecameUnhealthy);
}

TEST(HealthCheckState, HealthyAgainAfterThresholdPassesInARow) {
  HealthCheckState s(3, 1);
  s.record(true);
  EXPECT_EQ(s.record(false), Change::BecameUnhealthy);
  EXPECT_EQ(s.record(true), Change::None);
  EXPECT_EQ(s.record(true), Change::None);
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(s.record(false), Change::None);  // a failure in between: count again
  EXPECT_EQ(s.record(true), Change::None);
  EXPECT_EQ(s.record(true), Change::None);
  EXPECT_EQ(s.record(true), Change::BecameHealthy);
  EXPECT_TRUE(s.healthy());
  EXPECT_EQ(s.consecutive_passes(), 3u);
  EXPECT_EQ(s.checks(), 8u);
}

TEST(HealthCheckState, ZeroThresholdsCountAsOne) {
  HealthCheckState s(0, 0);
  s.record(true);
  EXPECT_EQ(s.record(false), Change::BecameUnhealthy);
  EXPECT_EQ(s.record(true), Change::BecameHealthy);
}

TEST(HealthCheckState, NewThresholdsJudgeTheNextResult) {
  HealthCheckState s(5, 1);
  s.record(false);
  s.record(true);
  s.set_thresholds(2, 1);
  EXPECT_EQ(s.record(true), Change::BecameHealthy);
}

TEST(HealthCheckState, EligibleNeedsBothVerdicts) {
  EndpointState e("10.0.0.1", 8000);
  const int64_t now = steady_now_ms();
  EXPECT_TRUE(e.eligible(now));
  e.hc_healthy = false;
  EXPECT_FALSE(e.eligible(now));
  e.hc_healthy = true;
  e.healthy = false;
  EXPECT_FALSE(e.eligible(now));
}

const std::string kConfig = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gc}
spec:
  endpointPicker:
    healthCheck: {path: /health, interval: 1s}
    pools:
    - {name: off, healthCheck: {enabled: false}}
  endpoints:
  - {name: a, address: 10.0.0.1, port: 8000, labels: {app: a}}
  - {name: b, address: 10.0.0.2, port: 8000, labels: {app: b}}
  - {name: c, address: 10.0.0.3, port: 8000, labels: {app: c}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: plain}
spec: {selector: {matchLabels: {app: a}}, targetPorts: [{number: 8000}]}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: off}
spec: {selector: {matchLabels: {app: a}}, targetPorts: [{number: 8000}]}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: gke}
spec: {selector: {matchLabels: {app: b}}, targetPorts: [{number: 8000}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: c}, ports: [{port: 80, targetPort: 8000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: networking.gke.io/v1
kind: HealthCheckPolicy
metadata: {name: gke-hc}
spec:
  targetRef: {group: inference.networking.k8s.io, kind: InferencePool, name: gke}
  default: {config: {type: HTTP, httpHealthCheck: {requestPath: /ready}}}
---
apiVersion: networking.gke.io/v1
kind: HealthCheckPolicy
metadata: {name: web-hc}
spec:
  targetRef: {kind: Service, name: web}
  default: {config: {type: HTTP, httpHealthCheck: {requestPath: /livez}}}
)";

TEST(ClusterHealthCheck, EachClusterGetsTheMostSpecificCheck) {
  config::LoadResult r = config::load_string(kConfig, "hc.yaml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  EndpointRegistry registry;
  std::vector<config::Diagnostic> errors;
  auto set = ClusterSet::build(*r.config, registry, &errors);
  ASSERT_TRUE(errors.empty());
  const Cluster* plain = set->find("inferencepool/default/plain");
  const Cluster* off = set->find("inferencepool/default/off");
  const Cluster* gke = set->find("inferencepool/default/gke");
  const Cluster* web = set->find("service/default/web/80");
  ASSERT_TRUE(plain && off && gke && web);
  ASSERT_TRUE(plain->health_check);
  EXPECT_EQ(plain->health_check->path, "/health");
  EXPECT_EQ(plain->health_check->interval.count(), 1000);
  EXPECT_FALSE(off->health_check);  // its entry turned the default off
  ASSERT_TRUE(gke->health_check);   // the policy wins over the GatewayConfig default
  EXPECT_EQ(gke->health_check->path, "/ready");
  EXPECT_EQ(gke->health_check->origin, "HealthCheckPolicy/default/gke-hc");
  ASSERT_TRUE(web->health_check);   // a Service's clusters take its policy
  EXPECT_EQ(web->health_check->path, "/livez");
}

}  // namespace
}  // namespace infergate::pools
