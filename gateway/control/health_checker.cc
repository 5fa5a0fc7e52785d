#include "gateway/control/health_checker.h"

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "gateway/control/http_client.h"
#include "gateway/control/snapshot.h"
#include "gateway/proxy/proxy_stats.h"
#include "pools/health_check_state.h"

namespace infergate::gateway {

namespace asio = boost::asio;

namespace {
// GCP matches `response` in the first 1024 bytes of the body.
constexpr size_t kResponseWindow = 1024;
}  // namespace

struct HealthChecker::Stats {
  Stats(metrics::Registry& r, const std::string& cluster) {
    const metrics::Labels tags{{"envoy_cluster_name", cluster}};
    const std::string base = envoy_cluster_stat_prefix(cluster) + "health_check.";
    auto counter = [&](const std::string& stat, const char* help) {
      return r.counter("envoy_cluster_health_check_" + stat, help, tags, base + stat);
    };
    attempt = counter("attempt", "Active health checks started");
    success = counter("success", "Active health checks passed");
    failure = counter("failure", "Active health checks failed (bad status, body or network)");
    network_failure = counter("network_failure", "Active health checks that got no response (refused, reset, timeout)");
    healthy = r.gauge("envoy_cluster_health_check_healthy", "Endpoints passing their active health check", tags,
                      base + "healthy");
  }
  metrics::Counter attempt, success, failure, network_failure;
  metrics::Gauge healthy;
};

struct HealthChecker::Target {
  Target(asio::io_context& io, std::shared_ptr<pools::EndpointState> e, std::shared_ptr<const config::HealthCheck> c,
         std::shared_ptr<Stats> s)
      : endpoint(std::move(e)),
        check(std::move(c)),
        stats(std::move(s)),
        state(check->healthy_threshold, check->unhealthy_threshold),
        timer(io) {}
  std::shared_ptr<pools::EndpointState> endpoint;
  std::shared_ptr<const config::HealthCheck> check;  // may change with a reload
  std::shared_ptr<Stats> stats;
  pools::HealthCheckState state;
  asio::steady_timer timer;
  bool retired = false;
};

HealthChecker::HealthChecker(asio::io_context& io, metrics::Registry& registry) : io_(io), registry_(registry) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::stop() {
  stopped_ = true;
  for (auto& [key, t] : targets_) retire(*t);
  targets_.clear();
}

void HealthChecker::retire(Target& t) {
  t.retired = true;
  t.timer.cancel();
  // No check covers the endpoint any more: its verdict must not keep it out of a pool.
  t.endpoint->hc_healthy.store(true, std::memory_order_relaxed);
  std::lock_guard lock(t.endpoint->detail_mu);
  t.endpoint->hc_detail = {};
}

std::chrono::milliseconds HealthChecker::jitter(std::chrono::milliseconds upto) {
  if (upto.count() <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, upto.count())(rng_));
}

void HealthChecker::update(const std::shared_ptr<const Snapshot>& snap) {
  if (stopped_) return;
  snapshot_ = snap;
  checked_.clear();
  std::map<std::string, std::shared_ptr<Target>> next;
  for (const pools::Cluster& c : snap->clusters->clusters()) {  // sorted by name
    if (!c.health_check) continue;
    auto& stats = stats_[c.name];
    if (!stats) stats = std::make_shared<Stats>(registry_, c.name);
    checked_.emplace_back(&c, stats);
    for (const auto& ep : c.endpoints) {
      const std::string key = ep->key();
      if (next.contains(key)) continue;  // the first cluster's check covers it
      auto it = targets_.find(key);
      if (it != targets_.end() && it->second->endpoint == ep) {
        // Same endpoint: keep its verdict and its turn, take the settings of this config.
        auto t = it->second;
        targets_.erase(it);
        t->check = c.health_check;
        t->stats = stats;
        t->state.set_thresholds(c.health_check->healthy_threshold, c.health_check->unhealthy_threshold);
        next.emplace(key, std::move(t));
        continue;
      }
      // New (or changed: a reload that changed name or labels gives a fresh EndpointState).
      auto t = std::make_shared<Target>(io_, ep, c.health_check, stats);
      {
        std::lock_guard lock(ep->detail_mu);
        ep->hc_detail = {};
        ep->hc_detail.origin = c.health_check->origin;
      }
      next.emplace(key, t);
      schedule(t, jitter(std::min(c.health_check->interval / 10, std::chrono::milliseconds(100))));
    }
  }
  for (auto& [key, t] : targets_) retire(*t);  // no checked cluster selects these any more
  targets_ = std::move(next);
  refresh_healthy_gauges();
}

void HealthChecker::schedule(const std::shared_ptr<Target>& t, std::chrono::milliseconds delay) {
  t->timer.expires_after(delay);
  t->timer.async_wait([this, t](boost::system::error_code ec) {
    if (ec || t->retired) return;
    check(t);
  });
}

void HealthChecker::check(const std::shared_ptr<Target>& t) {
  const config::HealthCheck& hc = *t->check;
  const pools::EndpointState& ep = *t->endpoint;
  const std::string authority = pools::endpoint_key(ep.address, hc.port.value_or(ep.port));
  std::string url = "http://";
  url.append(authority).append(hc.path);
  std::vector<std::pair<std::string, std::string>> headers{{"Host", hc.host.empty() ? authority : hc.host},
                                                           {"User-Agent", "infergate-health-check"}};
  t->stats->attempt.inc();
  auto check = t->check;  // the settings this check ran with, whatever a reload does meanwhile
  async_http_request(io_, "GET", url, std::move(headers), {}, hc.timeout, [this, t, check](HttpResult r) {
    if (t->retired) return;
    if (!r.error.empty()) return finish(t, true, r.error);
    if (!check->status_passes(r.status)) return finish(t, false, "HTTP " + std::to_string(r.status));
    if (!check->response.empty() &&
        std::string_view(r.body).substr(0, kResponseWindow).find(check->response) == std::string_view::npos) {
      std::string why = "response body does not contain \"";
      why.append(check->response).append("\"");
      return finish(t, false, why);
    }
    finish(t, false, {});
  });
}

// One result: count it, feed the verdict, publish, and run the next check an interval later.
void HealthChecker::finish(const std::shared_ptr<Target>& t, bool network, const std::string& failure) {
  const bool passed = failure.empty();
  Stats& s = *t->stats;
  if (passed) {
    s.success.inc();
  } else {
    s.failure.inc();
    if (network) s.network_failure.inc();
  }
  const auto change = t->state.record(passed);
  pools::EndpointState& ep = *t->endpoint;
  ep.hc_healthy.store(t->state.healthy(), std::memory_order_relaxed);
  {
    std::lock_guard lock(ep.detail_mu);
    ep.hc_detail.origin = t->check->origin;
    ep.hc_detail.checks = t->state.checks();
    ep.hc_detail.consecutive_passes = t->state.consecutive_passes();
    ep.hc_detail.consecutive_failures = t->state.consecutive_failures();
    ep.hc_detail.last_check_ms = pools::steady_now_ms();
    if (!passed) ep.hc_detail.last_failure = failure;
  }
  if (change == pools::HealthCheckState::Change::BecameUnhealthy) {
    spdlog::warn("health check: {} ({}) is unhealthy after {} failed check(s): {}", ep.key(), ep.name,
                 t->state.consecutive_failures(), failure);
  } else if (change == pools::HealthCheckState::Change::BecameHealthy) {
    spdlog::info("health check: {} ({}) is healthy again after {} passed check(s)", ep.key(), ep.name,
                 t->state.consecutive_passes());
  } else if (!passed && t->check->log_transitions) {
    spdlog::info("health check: {} ({}) failed: {}", ep.key(), ep.name, failure);
  }
  if (change != pools::HealthCheckState::Change::None) refresh_healthy_gauges();
  if (!stopped_) schedule(t, t->check->interval + jitter(t->check->interval / 20));
}

void HealthChecker::refresh_healthy_gauges() {
  for (const auto& [cluster, stats] : checked_) {
    size_t healthy = 0;
    for (const auto& ep : cluster->endpoints)
      if (ep->hc_healthy.load(std::memory_order_relaxed)) ++healthy;
    stats->healthy.set(static_cast<double>(healthy));
  }
}

}  // namespace infergate::gateway
