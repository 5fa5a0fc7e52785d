#pragma once
// What several groups of the configuration model share: object metadata and labels, the
// header edits of HTTPRoute filters and Istio header operations, and outlier detection
// (DestinationRule and InferencePool picker settings). Conventions: config/model.h.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/source_location.h"

namespace infergate::config {

using Labels = std::map<std::string, std::string>;

struct ObjectMeta {
  std::string name;
  std::string ns = "default";
  Labels labels;
  std::string creation_timestamp;  // RFC 3339 as written, "" when absent (route precedence)
  int64_t generation = 0;          // metadata.generation (set by the API server; 0 in files)
  SourceLocation source;
};

struct HeaderValue {
  std::string name;
  std::string value;
};

struct HeaderModifier {
  std::vector<HeaderValue> set;
  std::vector<HeaderValue> add;
  std::vector<std::string> remove;
};

// Istio DestinationRule trafficPolicy.outlierDetection (also an InferencePool's, through
// GatewayConfig endpointPicker).
struct IstioOutlierDetection {                 // nullopt = Envoy's default for that field
  std::optional<uint32_t> consecutive_5xx_errors;
  std::optional<uint32_t> consecutive_gateway_errors;
  std::optional<std::chrono::milliseconds> interval;
  std::optional<std::chrono::milliseconds> base_ejection_time;
  std::optional<uint32_t> max_ejection_percent;  // 0..100
};

// True when every selector label is present in `labels` with the same value. An empty
// selector matches nothing (Kubernetes Services with no selector get no endpoints).
bool selector_matches(const Labels& selector, const Labels& labels);

}  // namespace infergate::config
