#pragma once
// Passive outlier detection settings; the defaults are Envoy's outlier_detection defaults.

#include <cstdint>

#include "config/model.h"

namespace infergate::pools {

struct OutlierDetection {
  // Envoy consecutive_5xx default 5. 0 = no passive ejection: an Istio cluster whose
  // DestinationRule has no outlierDetection gets none (Envoy then has no outlier detector).
  uint32_t consecutive_failures = 5;
  int64_t base_ejection_ms = 30'000;      // base_ejection_time 30 s, times the ejection count
  int64_t max_ejection_ms = 300'000;      // max_ejection_time 300 s
  uint32_t max_ejection_percent = 10;     // but at least one endpoint may always be ejected
  // A success this long after an ejection ended lowers the ejection multiplier by one (Envoy
  // decrements it every `interval`, 10 s, while the host stays un-ejected).
  int64_t interval_ms = 10'000;
};

// Istio's outlierDetection fields over Envoy's defaults (`out` holds them on entry).
void apply_outlier_detection(const config::IstioOutlierDetection& od, OutlierDetection& out);

}  // namespace infergate::pools
