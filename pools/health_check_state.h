#pragma once
// The verdict of one endpoint's active health check (Envoy's HealthCheckerImplBase thresholds),
// as pure logic: results in, healthy or not out. No clock, no sockets; the checker
// (gateway/control/health_checker.h) feeds it and publishes the verdict.
//
//  - An endpoint no check has judged yet is healthy (routable): new endpoints take traffic
//    at once, as endpoints without a check do (Envoy with ignore_new_hosts_until_first_hc
//    off, and what a reload must not break).
//  - The first result decides alone: a pass confirms it, a failure makes it unhealthy at
//    once (Envoy: a host not yet checked is judged by its first check, without thresholds),
//    so a dead endpoint in a new config stops getting traffic after one timeout, not two.
//  - After that, `unhealthy_threshold` failures in a row make a healthy endpoint unhealthy
//    and `healthy_threshold` passes in a row make an unhealthy one healthy again; a result of
//    the other kind starts the count again. Every failure counts alike (a bad status, a body
//    without the expected text, a refused connection, a timeout): GKE's semantics. Envoy would
//    take an unexpected HTTP status as unhealthy at once; see docs/ENDPOINT_PICKING.md.
#include <cstdint>

namespace infergate::pools {

class HealthCheckState {
 public:
  enum class Change : uint8_t { None, BecameHealthy, BecameUnhealthy };

  // Thresholds below 1 are taken as 1.
  HealthCheckState(uint32_t healthy_threshold, uint32_t unhealthy_threshold);

  // One check's result; says whether the verdict changed.
  Change record(bool passed);
  // A reload changed the thresholds: the verdict and the counts so far stay, the next result
  // is judged by the new ones.
  void set_thresholds(uint32_t healthy_threshold, uint32_t unhealthy_threshold);

  bool healthy() const { return healthy_; }
  bool checked() const { return checks_ > 0; }
  uint64_t checks() const { return checks_; }
  uint32_t consecutive_passes() const { return passes_; }
  uint32_t consecutive_failures() const { return failures_; }

 private:
  uint32_t healthy_threshold_, unhealthy_threshold_;
  bool healthy_ = true;
  uint64_t checks_ = 0;
  uint32_t passes_ = 0, failures_ = 0;
};

}  // namespace infergate::pools
