#pragma once
// A Prometheus HTTP API answer to an instant query (GET /api/v1/query), read as a rollout's
// Prometheus gate needs it: the first sample's value. Anything else (an HTTP error, a body
// that is not the API's JSON, `"data"` of the wrong shape, no sample, a value that is not a
// number, NaN from a 0/0 ratio) is an error that says why, and the gate waits: the answer
// comes from the network and is never trusted to have the documented shape.
#include <string_view>

#include "rollout/analysis.h"

namespace infergate::rollout {

// `status`: the HTTP status; `body`: the response body.
PrometheusResult read_prometheus_answer(int status, std::string_view body);

}  // namespace infergate::rollout
