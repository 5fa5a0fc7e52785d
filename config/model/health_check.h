#pragma once
// Active HTTP health checks of upstream endpoints (Envoy's HealthCheck, http_health_check),
// written two ways: GatewayConfig spec.endpointPicker.healthCheck / pools[].healthCheck (our
// own, Envoy's field names in camelCase), or GKE's HealthCheckPolicy (networking.gke.io/v1)
// attached to an InferencePool or a Service. Both become one HealthCheck. Which check a
// cluster runs: a HealthCheckPolicy on its InferencePool or Service, else the pool's
// endpointPicker entry, else spec.endpointPicker.healthCheck (pools only); none = no active
// check. Conventions: config/model.h.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/model/common.h"
#include "config/source_location.h"

namespace infergate::config {

// Envoy's expected_statuses entry (type.v3.Int64Range): [start, end), within 100..600.
struct StatusRange {
  uint32_t start = 200, end = 201;
};

struct HealthCheck {
  bool enabled = true;                    // false: written as `enabled: false` (no check)
  std::string path = "/";                 // GET target; starts with '/'
  std::string host;                       // Host header; "" = the endpoint's "address:port"
  std::optional<uint16_t> port;           // nullopt = the endpoint's serving port
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{5000};  // connect + request + response; <= interval
  uint32_t healthy_threshold = 2;         // passes in a row that make an unhealthy endpoint healthy
  uint32_t unhealthy_threshold = 2;       // failures in a row that make a healthy endpoint unhealthy
  std::vector<StatusRange> expected_statuses;  // empty = 200 only (Envoy's default)
  std::string response;                   // GKE `response`: the body must contain it ("" = any body)
  bool log_transitions = false;           // GKE logConfig.enabled: log every verdict change
  // Where it was written, for /config_dump and /pools: "HealthCheckPolicy/ns/name" or
  // "GatewayConfig spec.endpointPicker...".
  std::string origin;
  SourceLocation source;

  bool status_passes(int status) const {
    if (expected_statuses.empty()) return status == 200;
    for (const auto& r : expected_statuses)
      if (static_cast<uint32_t>(status) >= r.start && static_cast<uint32_t>(status) < r.end) return true;
    return false;
  }
};

// GKE HealthCheckPolicy (networking.gke.io/v1): spec.targetRef {group, kind, name} and
// spec.default. Only what maps onto an HTTP check survives parsing (config/loader.h).
struct HealthCheckPolicy {
  ObjectMeta meta;
  std::string target_group;  // "" for a Service
  std::string target_kind;   // "InferencePool" | "Service"
  std::string target_name;   // in the policy's namespace
  int target_line = 0;
  HealthCheck check;
};

}  // namespace infergate::config
