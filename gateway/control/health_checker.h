// Active HTTP health checks (Envoy's HealthCheck) of the endpoints of every cluster that has
// one (pools::Cluster::health_check: an InferencePool's or a Service's), on the control
// thread, so workers never wait on a probe. Per endpoint: GET <path> with Host, one at a time,
// every `interval` (plus up to 5 % jitter); the first soon after the endpoint appears (within a
// tenth of the interval, at most 100 ms). A response within `timeout` whose status is
// expected (200 unless expectedStatuses) and whose body holds `response` (when given) passes.
// pools/health_check_state.h turns results into a verdict, published as EndpointState
// hc_healthy (the picker skips false) beside the scraper's `healthy`, which it never touches.
//
// Endpoints follow the snapshots: update() with each new one starts checkers for endpoints
// that appeared, keeps those that stayed (and their verdict), and stops the rest, whose
// hc_healthy goes back to true (no check covers them any more). An endpoint in several checked
// clusters is checked once, with the check of the first cluster by name; that cluster's
// counters count it.
//
// Stats per cluster, Envoy's names (cluster.<name>.health_check.*, Prometheus
// envoy_cluster_health_check_*{envoy_cluster_name}): attempt, success, failure (every failed
// check), network_failure (those that got no response: refused, reset, timed out), healthy
// (gauge: endpoints passing now).
#pragma once

#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "metrics/registry.h"
#include "pools/cluster.h"

namespace infergate::gateway {

struct Snapshot;

class HealthChecker {
 public:
  HealthChecker(boost::asio::io_context& io, metrics::Registry& registry);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void update(const std::shared_ptr<const Snapshot>& snap);
  void stop();

 private:
  struct Target;
  struct Stats;
  void schedule(const std::shared_ptr<Target>& t, std::chrono::milliseconds delay);
  void check(const std::shared_ptr<Target>& t);
  void finish(const std::shared_ptr<Target>& t, bool network, const std::string& failure);
  void retire(Target& t);
  void refresh_healthy_gauges();
  std::chrono::milliseconds jitter(std::chrono::milliseconds upto);

  boost::asio::io_context& io_;
  metrics::Registry& registry_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::map<std::string, std::shared_ptr<Target>> targets_;  // by endpoint key
  std::map<std::string, std::shared_ptr<Stats>> stats_;     // by cluster name, created once
  std::vector<std::pair<const pools::Cluster*, std::shared_ptr<Stats>>> checked_;  // in snapshot_
  std::minstd_rand rng_{std::random_device{}()};
  bool stopped_ = false;
};

}  // namespace infergate::gateway
