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

// Per-version request latency and time to first token, 5 ms .. 1 h: coarser than the
// Inference Extension's 35 bounds, because every per-version label set pays a line per
// bucket on each scrape; still a bound every factor of 2 to 2.5 up to a minute.
extern const std::vector<double> kRequestLatencyBucketsSeconds;

// Time per output token, 1 ms .. 10 s: decode steps of today's servers take 5-100 ms.
extern const std::vector<double> kTokenLatencyBucketsSeconds;

// Token counts per request, 1 .. 1M (powers of two from 8).
extern const std::vector<double> kTokenCountBuckets;

// Request and response sizes in bytes, 64 B .. 1 GiB (powers of two).
extern const std::vector<double> kSizeBucketsBytes;

}  // namespace infergate::metrics
