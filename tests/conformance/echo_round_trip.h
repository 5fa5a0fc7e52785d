// The suite's HTTP side (gateway-api conformance/utils/http, as the inference suite uses it):
// a request through the gateway to an echo server, what the echo server says it received and
// who it is, and the suite's ways of judging that: CompareRoundTrip, its eventually
// consistent wait, and the many-requests loops of the EPP tests.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/harness.h"

namespace infergate::conformance {

// conformance/utils/headers: the lwepp (epp_sim here) picks only among these endpoints
// ("ip[,ip:port...]"), and the endpoint that served comes back in the result header.
inline const std::string kTestEppEndpointSelectionHeader = "test-epp-endpoint-selection";
inline const std::string kConformanceTestResultHeader = "x-conformance-test-served-endpoint";

// gwhttp.Request
struct Request {
  std::string host;  // "" = the client's default (127.0.0.1:port)
  std::string path;
  std::string method = "GET";
  e2e::Headers headers;
  std::string body;
};

// gwhttp.ExpectedResponse
struct ExpectedResponse {
  Request request;
  std::vector<int> status_codes = {200};
  e2e::Headers response_headers;  // each must be in the response with this value
  std::string backend;            // the serving pod's name starts with it ("" = any pod)
  std::string ns;                 // the namespace the serving pod reports
};

// roundtripper.CapturedRequest and the response it came with.
struct RoundTrip {
  e2e::HttpResponse response;
  nlohmann::json echoed;  // the echo server's JSON body; null when the body was not one
  std::string pod() const;
  std::string ns() const;
  std::string http_port() const;
};

RoundTrip round_trip(uint16_t port, const Request& request);

// CompareRoundTrip: "" when the round trip is what `expected` says (status; for a 2xx also the
// echoed method, path, host, request headers, namespace and pod prefix; the response headers),
// else what differs.
std::string compare(const ExpectedResponse& expected, const RoundTrip& rt);

// How long eventually_consistent waits (the suite's MaxTimeToConsistency is 300 s; the gateway
// here follows a change within a second).
e2e::milliseconds max_time_to_consistency();

// MakeRequestAndExpectEventuallyConsistentResponse: the same request until it meets
// `expected` three times in a row (the suite's RequiredConsecutiveSuccesses), within `timeout`.
::testing::AssertionResult eventually_consistent(uint16_t port, const ExpectedResponse& expected,
                                                 e2e::milliseconds timeout);

// The loop of assertTrafficOnlyReachesToExpectedPods and of the weighted test: `total`
// requests, `concurrency` at a time. A request whose round trip meets `expected` is handed to
// `judge` ("" = fine, else the error that fails the loop); one answered 404 or 503 is sent
// again every 500 ms (the gateway may not have converged) until `per_request` passes; any
// other mismatch fails the loop at once. The first error, or success.
::testing::AssertionResult send_all(uint16_t port, const ExpectedResponse& expected, int total, int concurrency,
                                    e2e::milliseconds per_request,
                                    const std::function<std::string(const RoundTrip&)>& judge);

}  // namespace infergate::conformance
