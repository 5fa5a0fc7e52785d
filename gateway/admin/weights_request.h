// The body of POST /weights, read into the change config/weights.h applies:
// {"kind"?, "namespace"?, "name", "rule"? (index or name), "weights": {backend: n}}.
// Pure (no server state), so the fuzz target and unit tests drive it alone.
#pragma once

#include <optional>
#include <string>

#include "config/weights.h"

namespace infergate::gateway {

// The change, or nullopt with *error saying what is wrong with the body (the 400 message).
std::optional<config::WeightsChange> parse_weights_request(const std::string& body, std::string* error);

}  // namespace infergate::gateway
