// Static endpoints may name hosts (a headless Service's pod DNS names, say); the
// upstream pools connect to addresses. Names are resolved here, on the control
// thread while a snapshot is built, so no worker ever blocks on DNS; an endpoint
// that does not resolve is a configuration error and the old snapshot keeps serving.
#pragma once

#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"

namespace infergate::gateway {

// Replaces each endpoint's hostname by its first resolved address (IPv4 first).
// IP literals are left alone. Failures are appended to *errors.
void resolve_endpoint_hosts(config::Config& config, std::vector<config::Diagnostic>* errors);

}  // namespace infergate::gateway
