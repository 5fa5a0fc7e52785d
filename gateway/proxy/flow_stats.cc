#include "gateway/proxy/flow_stats.h"

#include <algorithm>
#include <set>

#include "config/cluster_names.h"
#include "metrics/buckets.h"

namespace infergate::gateway {

std::shared_ptr<const FlowStats> FlowStats::make(metrics::Registry& registry, const pools::Cluster& cluster,
                                                 const config::Config& config) {
  const std::string pool(config::cluster_object_name(cluster.name));
  std::set<int32_t> priorities{1, 0, -1};
  for (const auto& o : config.inference_objectives)
    if (config::inference_pool_cluster_name(o.pool_ref.ns, o.pool_ref.name) == cluster.name)
      priorities.insert(o.priority.value_or(0));
  // 1 ms to ~9 min: a queue wait is short when it works and long when it does not.
  static const std::vector<double> bounds = metrics::exponential_buckets(0.001, 2, 20);
  auto stats = std::make_shared<FlowStats>();
  for (int32_t p : priorities) {
    Band b;
    b.priority = p;
    const std::string priority = std::to_string(p);
    b.queue_size = registry.gauge("inference_extension_flow_control_queue_size",
                                  "Requests waiting in the gateway's flow-control queue.",
                                  {{"inference_pool", pool}, {"priority", priority}});
    for (size_t o = 0; o < kOutcomes; ++o) {
      const metrics::Labels labels{{"inference_pool", pool}, {"priority", priority}, {"outcome", kOutcomeNames[o]}};
      b.requests[o] = registry.counter("infergate_flow_control_requests_total",
                                       "Requests flow control saw, by what became of them.", labels);
      b.queue_duration[o] = registry.sparse_histogram(
          "inference_extension_flow_control_request_queue_duration_seconds",
          "Time requests spent in the gateway's flow-control queue, by outcome.", bounds, labels);
    }
    stats->bands.push_back(std::move(b));
  }
  return stats;
}

const FlowStats::Band& FlowStats::band(int32_t priority) const {
  const Band* fallback = &bands.front();
  for (const Band& b : bands) {
    if (b.priority == priority) return b;
    if (b.priority == 0) fallback = &b;
  }
  return *fallback;
}

}  // namespace infergate::gateway
