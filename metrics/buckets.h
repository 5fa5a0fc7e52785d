#pragma once

#include <cstddef>
#include <vector>

namespace infergate::metrics {

// start, start*factor, ... (count bounds). Throws std::invalid_argument unless
// start > 0, factor > 1 and count >= 1.
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

// Envoy's default histogram bucket bounds (milliseconds for *_time histograms).
extern const std::vector<double> kEnvoyLatencyBucketsMs;

// Gateway API Inference Extension request-duration bounds, 5 ms .. 3600 s.
extern const std::vector<double> kGieLatencyBucketsSeconds;

}  // namespace infergate::metrics
