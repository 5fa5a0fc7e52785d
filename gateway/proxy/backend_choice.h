// Which of the matched route's backends a request goes to, and what that choice does to the
// request: Envoy picks a weighted cluster when it resolves the route; here it happens once,
// the first time a filter needs the backend (the endpoint picker filter, else the router),
// so the filters before it (rate limits, faults) run first, as today's order has it.
#pragma once

#include "gateway/proxy/filter.h"
#include "routing/weighted_choice.h"

namespace infergate::gateway {

// The draws of a worker's backend and model splits.
struct SplitSequences {
  routing::WeightedSequence& backends;
  routing::WeightedSequence& models;
};

// Chooses the backend of state().route (which must be set): a Rollout's canary header, else a
// sessionPersistence session, else the weights. Then: the InferenceModel rewrite of the body's
// model for that pool, the per-version series, and the route's and backend's request filters
// and path rewrite (the original path kept in x-envoy-original-path); the route's request
// timeout starts. False when the request was answered instead: 500 when every backend
// weighs 0 or its cluster does not exist.
bool choose_backend(FilterCallbacks& stream, SplitSequences draws);

}  // namespace infergate::gateway
