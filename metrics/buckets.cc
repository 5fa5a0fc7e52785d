#include "metrics/buckets.h"

#include <cmath>
#include <stdexcept>

namespace infergate::metrics {

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  if (!(start > 0) || !(factor > 1) || count == 0 || !std::isfinite(start) || !std::isfinite(factor)) {
    throw std::invalid_argument("exponential_buckets: need start > 0, factor > 1, count >= 1");
  }
  std::vector<double> out;
  out.reserve(count);
  double v = start;
  for (std::size_t i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

// Envoy's default histogram buckets (source/common/stats/histogram_impl.h).
const std::vector<double> kEnvoyLatencyBucketsMs = {
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
    1800000, 3600000};

// gateway-api-inference-extension pkg/epp/metrics: request_duration_seconds buckets.
const std::vector<double> kGieLatencyBucketsSeconds = {
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10,
    15, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600};

const std::vector<double> kRequestLatencyBucketsSeconds = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 3, 6, 12, 30, 60, 120, 300, 900, 3600};

const std::vector<double> kTokenLatencyBucketsSeconds = {
    0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2.5, 10};

const std::vector<double> kTokenCountBuckets = {
    1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072,
    262144, 524288, 1048576};

const std::vector<double> kSizeBucketsBytes = exponential_buckets(64, 2, 25);

}  // namespace infergate::metrics
