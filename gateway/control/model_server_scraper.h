// Reads the /metrics of every InferencePool endpoint on the control thread, so workers never
// wait on a model server's metrics: one keep-alive connection per endpoint, one scrape in
// flight each, every `interval` (GatewayConfig spec.modelServerMetrics). What it reads goes to
// the endpoint's EndpointState (pools/model_server_metrics.h names the signals) and, averaged
// per pool, to the Inference Extension's pool gauges:
//   inference_pool_average_kv_cache_utilization{name}, inference_pool_average_queue_size{name}
//   (over ready endpoints whose data is fresh, i.e. younger than staleAfter),
//   inference_pool_ready_pods{name} (endpoints the picker may choose: healthy, not ejected).
// The scrape doubles as the pool's active health check, at the TCP level: an endpoint whose
// port refused or timed out kUnreadyAfter connections in a row is not ready (EndpointState
// healthy = false, the picker skips it) until a connection succeeds again. Any other failed
// scrape (an HTTP error, no model-server metrics) only ages the data; answers are judged by
// outlier detection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "metrics/registry.h"
#include "pools/cluster.h"

namespace infergate::gateway {

struct Snapshot;

class ModelServerScraper {
 public:
  ModelServerScraper(boost::asio::io_context& io, metrics::Registry& registry);
  ~ModelServerScraper();
  ModelServerScraper(const ModelServerScraper&) = delete;
  ModelServerScraper& operator=(const ModelServerScraper&) = delete;

  // Scrape the endpoints of `snap`'s InferencePool clusters from now on, with its settings;
  // endpoints no longer in any pool are dropped. Starts the timer on the first call.
  void update(const std::shared_ptr<const Snapshot>& snap);
  static constexpr uint32_t kUnreadyAfter = 3;
  void stop();

  // Data younger than this is fresh (what /pools reports as stale).
  std::chrono::milliseconds stale_after() const { return options_.stale_after; }

 private:
  struct Target;
  struct PoolGauges {
    const pools::Cluster* cluster = nullptr;  // in snapshot_
    metrics::Gauge kv_cache, queue, ready;
    metrics::Gauge saturation;  // flow control's (pools/flow_control.h); unbound without it
  };
  void tick();
  void scrape(const std::shared_ptr<Target>& t);
  void refresh_pool_gauges();

  boost::asio::io_context& io_;
  metrics::Registry& registry_;
  boost::asio::steady_timer timer_;
  config::ModelServerMetrics options_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::map<std::string, std::shared_ptr<Target>> targets_;  // by endpoint key
  std::vector<PoolGauges> pools_;
  metrics::Counter scrapes_ok_, scrapes_failed_;
  bool running_ = false;
  bool stopped_ = false;
};

}  // namespace infergate::gateway
