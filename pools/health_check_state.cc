#include "pools/health_check_state.h"

#include <algorithm>

namespace infergate::pools {

HealthCheckState::HealthCheckState(uint32_t healthy_threshold, uint32_t unhealthy_threshold)
    : healthy_threshold_(std::max<uint32_t>(1, healthy_threshold)),
      unhealthy_threshold_(std::max<uint32_t>(1, unhealthy_threshold)) {}

void HealthCheckState::set_thresholds(uint32_t healthy_threshold, uint32_t unhealthy_threshold) {
  healthy_threshold_ = std::max<uint32_t>(1, healthy_threshold);
  unhealthy_threshold_ = std::max<uint32_t>(1, unhealthy_threshold);
}

HealthCheckState::Change HealthCheckState::record(bool passed) {
  const bool first = checks_++ == 0;
  if (passed) {
    ++passes_;
    failures_ = 0;
    if (!healthy_ && passes_ >= healthy_threshold_) {
      healthy_ = true;
      return Change::BecameHealthy;
    }
    return Change::None;
  }
  ++failures_;
  passes_ = 0;
  if (healthy_ && (first || failures_ >= unhealthy_threshold_)) {
    healthy_ = false;
    return Change::BecameUnhealthy;
  }
  return Change::None;
}

}  // namespace infergate::pools
