// The suite's tests of what the gateway reports in status (and the traffic that goes with
// it): InferencePoolAccepted, HTTPRouteInvalidInferencePoolRef, InferencePoolInvalidEPPService,
// InferencePoolMissingEPPRef, InferencePoolHTTPRoutePortValidation,
// InferencePoolResolvedRefsCondition (gateway-api-inference-extension v1.6.0,
// conformance/tests/*.go): same manifests, same conditions and reasons, same requests.
#include "tests/conformance/conformance_cluster.h"
#include "tests/conformance/echo_round_trip.h"
#include "tests/conformance/status_checks.h"

namespace infergate::conformance {
namespace {

TEST_F(Conformance, InferencePoolAccepted) {
  create_manifest("inferencepool_accepted.yaml");
  // "" reason: the suite does not check it for this basic test.
  EXPECT_TRUE(pool_has_one_of(cluster().api(), kPrimaryInferencePoolNN, kPrimaryGatewayNN, {{"Accepted", "True", ""}}));
}

TEST_F(Conformance, HTTPRouteInvalidInferencePoolRef) {
  create_manifest("httproute_invalid_inferencepool_ref.yaml");
  const NamespacedName route{kAppBackendNamespace, "httproute-to-non-existent-pool"};
  EXPECT_TRUE(route_has_condition(cluster().api(), route, kPrimaryGatewayNN, {"Accepted", "True", "Accepted"}));
  EXPECT_TRUE(route_has_condition(cluster().api(), route, kPrimaryGatewayNN, {"ResolvedRefs", "False", "BackendNotFound"}));
}

TEST_F(Conformance, InferencePoolInvalidEPPService) {
  create_manifest("inferencepool_invalid_epp_service.yaml");
  const NamespacedName route{kAppBackendNamespace, "httproute-for-invalid-epp-pool"};
  const NamespacedName pool{kAppBackendNamespace, "pool-with-invalid-epp"};
  const uint16_t gw = gateway_endpoint(kPrimaryGatewayNN);
  ASSERT_TRUE(route_has_condition(cluster().api(), route, kPrimaryGatewayNN, {"Accepted", "True", "Accepted"}));
  // InferencePool has a ResolvedRefs Condition with status False (any reason).
  EXPECT_TRUE(pool_has_one_of(cluster().api(), pool, kPrimaryGatewayNN, {{"ResolvedRefs", "False", ""}}));
  // Request to a route with an invalid backend reference receives a 5xx response.
  ExpectedResponse expected;
  expected.request.path = "/invalid-epp-test";
  expected.status_codes = {500, 501, 502, 503, 504};
  expected.ns = kAppBackendNamespace;
  EXPECT_TRUE(eventually_consistent(gw, expected, max_time_to_consistency()));
}

TEST_F(Conformance, InferencePoolMissingEPPRef) {
  create_manifest("inferencepool_missing_epp_ref.yaml");
  const NamespacedName route{kAppBackendNamespace, "httproute-for-missing-epp-ref-pool"};
  const NamespacedName pool{kAppBackendNamespace, "pool-with-missing-epp-ref"};
  ASSERT_TRUE(route_has_condition(cluster().api(), route, kPrimaryGatewayNN, {"Accepted", "True", "Accepted"}));
  EXPECT_TRUE(pool_has_one_of(cluster().api(), pool, kPrimaryGatewayNN,
                              {{"Accepted", "True", ""}, {"Accepted", "False", "EndpointPickerRefMissing"}}));
}

TEST_F(Conformance, InferencePoolHTTPRoutePortValidation) {
  create_manifest("inferencepool_httproute_port_validation.yaml");
  const uint16_t gw = gateway_endpoint(kPrimaryGatewayNN);
  struct Scenario {
    const char* name;
    const char* route;
    const char* hostname;
    const char* path;
  };
  // Scenario 3: the HTTP port of a backendRef is ignored when it is an InferencePool, so a
  // port that does not match the pool's targetPort still routes.
  for (const Scenario& s : {Scenario{"port unspecified", "httproute-pool-port-unspecified", "port-unspecified.example.com",
                                     "/test-port-unspecified"},
                            Scenario{"port specified and matching", "httproute-pool-port-matching",
                                     "port-matching.example.com", "/test-port-matching"},
                            Scenario{"port specified and non-matching", "httproute-pool-port-non-matching",
                                     "port-non-matching.example.com", "/test-port-non-matching"}}) {
    SCOPED_TRACE(s.name);
    EXPECT_TRUE(route_accepted_and_resolved(cluster().api(), {kAppBackendNamespace, s.route}, kPrimaryGatewayNN));
    EXPECT_TRUE(pool_accepted_by_parent(cluster().api(), kPrimaryInferencePoolNN, kPrimaryGatewayNN));
    ExpectedResponse expected;
    expected.request.host = s.hostname;
    expected.request.path = s.path;
    expected.backend = kPrimaryModelServerDeploymentName;
    expected.ns = kAppBackendNamespace;
    EXPECT_TRUE(eventually_consistent(gw, expected, max_time_to_consistency()));
  }
}

TEST_F(Conformance, InferencePoolResolvedRefsCondition) {
  create_manifest("inferencepool_resolvedrefs_condition.yaml");
  const NamespacedName primary_route{kAppBackendNamespace, "httproute-for-primary-gw"};
  const NamespacedName secondary_route{kAppBackendNamespace, "httproute-for-secondary-gw"};
  ASSERT_TRUE(route_accepted_and_resolved(cluster().api(), primary_route, kPrimaryGatewayNN));
  ASSERT_TRUE(route_accepted_and_resolved(cluster().api(), secondary_route, kSecondaryGatewayNN));
  const uint16_t gw_primary = gateway_endpoint(kPrimaryGatewayNN);
  const uint16_t gw_secondary = gateway_endpoint(kSecondaryGatewayNN);

  // Both routes send to the primary pool, so both answer from its pods.
  auto served_by_primary_pool = [](const char* host, const char* path) {
    ExpectedResponse e;
    e.request.host = host;
    e.request.path = path;
    e.backend = kPrimaryModelServerDeploymentName;
    e.ns = kAppBackendNamespace;
    return e;
  };
  auto not_found = [](const char* host, const char* path) {
    ExpectedResponse e;
    e.request.host = host;
    e.request.path = path;
    e.status_codes = {404};
    return e;
  };
  const auto via_primary = served_by_primary_pool("primary.example.com", "/primary-gateway-test");
  const auto via_secondary = served_by_primary_pool("secondary.example.com", "/secondary-gateway-test");

  // InferencePool should show Accepted:True by parents and be routable via multiple HTTPRoutes.
  EXPECT_TRUE(pool_accepted_by_parent(cluster().api(), kPrimaryInferencePoolNN, kPrimaryGatewayNN));
  EXPECT_TRUE(pool_accepted_by_parent(cluster().api(), kPrimaryInferencePoolNN, kSecondaryGatewayNN));
  EXPECT_TRUE(eventually_consistent(gw_primary, via_primary, max_time_to_consistency()));
  EXPECT_TRUE(eventually_consistent(gw_secondary, via_secondary, max_time_to_consistency()));

  // Delete httproute-for-primary-gw: the pool keeps its secondary parent and stays routable there.
  delete_object("httproute", primary_route);
  std::this_thread::sleep_for(e2e::scaled(5000));  // the suite's HTTPRouteDeletionReconciliationTimeout
  EXPECT_TRUE(pool_accepted_by_parent(cluster().api(), kPrimaryInferencePoolNN, kSecondaryGatewayNN));
  EXPECT_TRUE(eventually_consistent(gw_secondary, via_secondary, max_time_to_consistency()));
  EXPECT_TRUE(eventually_consistent(gw_primary, not_found("primary.example.com", "/primary-gateway-test"),
                                    max_time_to_consistency()));

  // Delete httproute-for-secondary-gw: no parent statuses left, and not routable.
  delete_object("httproute", secondary_route);
  std::this_thread::sleep_for(e2e::scaled(5000));
  EXPECT_TRUE(pool_has_no_parents(cluster().api(), kPrimaryInferencePoolNN));
  EXPECT_TRUE(eventually_consistent(gw_secondary, not_found("secondary.example.com", "/secondary-gateway-test"),
                                    max_time_to_consistency()));
}

}  // namespace
}  // namespace infergate::conformance
