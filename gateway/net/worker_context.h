// What a request needs from the worker it runs on. Everything here is owned by one
// worker thread, so its streams use it without synchronisation.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "gateway/http/date_cache.h"
#include "gateway/proxy/proxy_stats.h"
#include "gateway/proxy/security_stats.h"
#include "gateway/control/snapshot.h"
#include "gateway/upstream/conn_pool.h"
#include "metrics/access_log.h"
#include "routing/weighted_choice.h"

namespace infergate::gateway {

struct WorkerContext {
  WorkerContext(boost::asio::io_context& io_context, unsigned worker_index, const ProxyStats& proxy_stats,
                const SecurityStats& security_stats, metrics::AccessLog* log, const ConnPoolOptions& pool_options)
      : io(io_context),
        index(worker_index),
        stats(proxy_stats),
        security(security_stats),
        access_log(log),
        conn_pools(io_context, pool_options),
        weighted(0x5851F42D4C957F2Dull * (worker_index + 1)),
        model_weighted(0x2545F4914F6CDD1Dull * (worker_index + 1)),
        rng_state(0x9E3779B97F4A7C15ull ^ (uint64_t(worker_index + 1) << 32) ^ reinterpret_cast<uintptr_t>(this)) {}

  // splitmix64: fast, good enough for endpoint draws and request ids.
  uint64_t random() {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  boost::asio::io_context& io;
  unsigned index;
  const ProxyStats& stats;
  const SecurityStats& security;
  metrics::AccessLog* access_log;  // nullptr = off
  ConnPools conn_pools;
  routing::WeightedSequence weighted;
  // Its own sequence for model rewrites: sharing the backend's would correlate the two splits
  // (a 90/10 backend split and a 90/10 model split would always pair the same sides).
  routing::WeightedSequence model_weighted;
  DateCache date;
  std::shared_ptr<const Snapshot> snapshot;  // replaced by posts from the control thread
  uint64_t active_requests = 0;
  uint64_t rng_state;
};

}  // namespace infergate::gateway
