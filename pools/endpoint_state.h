#pragma once
// Run-time state of one upstream endpoint (a model-server pod), shared by every cluster that
// selects it and kept across config snapshot swaps so that in-flight counts, health and
// ejections are not forgotten on reload. Workers update the atomics; nothing else mutates.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pools/prefix_index.h"

namespace infergate::pools {
class FlowQueue;
}

namespace infergate::pools {

// Milliseconds on the steady clock: the time base of ejected_until_ms.
int64_t steady_now_ms();

// The hash the picker compares adapter names by (xxh3 64; 0 is never returned).
uint64_t adapter_hash(std::string_view name);

enum class AdapterPresence : uint8_t { Loaded, Waiting, Absent };

struct EndpointState {
  // Identity and description: written once at creation, then read-only (workers read them
  // without locks). A reload that changes name or labels gets a fresh EndpointState.
  // `id` is unique in the process: the picker's prefix index records endpoints by it.
  EndpointState() = default;  // no address: for tests of the counters alone
  EndpointState(std::string_view address, uint16_t port);

  const uint32_t id = next_id();
  const std::string address;
  const uint16_t port = 0;
  std::string name;
  std::map<std::string, std::string> labels;

  std::atomic<int32_t> active_requests{0};
  // Prompt bytes of the requests this gateway sent that have no response byte yet, less what
  // the server's prefix cache was expected to hold: the prefill still ahead of the server,
  // which decides the next request's time to first token more than the decodes running.
  std::atomic<int64_t> prefill_bytes{0};
  std::atomic<bool> healthy{true};  // the scraper's readiness verdict; false = never picked
  // The active HTTP health check's verdict (gateway/control/health_checker.h), kept apart
  // from `healthy` so neither overrides the other; false = never picked. Endpoints no check
  // covers keep true.
  std::atomic<bool> hc_healthy{true};
  std::atomic<uint64_t> total_requests{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint32_t> consecutive_failures{0};
  std::atomic<int64_t> ejected_until_ms{0};  // steady_now_ms() before which it is ejected
  std::atomic<uint32_t> times_ejected{0};    // multiplies the ejection time (Envoy)

  // What the model server's /metrics last said (pools/model_server_metrics.h), written by the
  // scraper only. scraped_at_ms: steady_now_ms() of the last good scrape, 0 = never.
  std::atomic<double> queue_size{0}, running_requests{0}, kv_cache_usage{0};
  std::atomic<int64_t> scraped_at_ms{0};
  // Requests flow control held and then let through that this gateway sent the server since
  // its last good scrape and that have no response byte yet: what the scraped waiting queue
  // does not show yet, so that a scrape showing room for n lets n waiting requests through,
  // not all of them. Requests that never waited do not count (while nothing waits, the scrape
  // alone decides). The scraper resets it and bumps the generation; an attempt that started
  // under an older generation no longer counts here.
  std::atomic<int32_t> held_since_scrape{0};
  std::atomic<uint32_t> scrape_generation{0};
  std::atomic<uint32_t> scrape_failures{0};  // in a row
  // Scraped facts only the control thread reads (for /pools), under detail_mu.
  struct ScrapeDetail {
    std::vector<std::string> running_adapters, waiting_adapters;
    std::optional<uint32_t> max_loras;
    std::string last_error;
  };
  // The active health check as /pools shows it (written by the checker, under detail_mu).
  // `origin` "" = no check covers this endpoint.
  struct HealthCheckDetail {
    std::string origin;  // config/model/health_check.h HealthCheck::origin
    uint64_t checks = 0;
    uint32_t consecutive_passes = 0, consecutive_failures = 0;
    int64_t last_check_ms = 0;  // steady_now_ms() of the last result, 0 = none yet
    std::string last_failure;   // why the last failed check failed ("" = none yet)
  };
  mutable std::mutex detail_mu;
  ScrapeDetail detail;
  HealthCheckDetail hc_detail;

  // The same adapters for the picker, lock-free: hashes (adapter_hash) of up to
  // kAdapterSlots running and waiting adapters (vllm:lora_requests_info), 0 = empty slot;
  // max_loras -1 = the server does not say. Written by the scraper (publish_adapters).
  static constexpr size_t kAdapterSlots = 16;
  std::array<std::atomic<uint64_t>, kAdapterSlots> running_adapters{};
  std::array<std::atomic<uint64_t>, kAdapterSlots> waiting_adapters{};
  std::atomic<int32_t> max_loras{-1};
  std::atomic<uint32_t> running_adapter_count{0};
  void publish_adapters(const std::vector<std::string>& running, const std::vector<std::string>& waiting,
                        std::optional<uint32_t> max);
  AdapterPresence adapter(uint64_t hash) const;
  // Whether one more adapter can be loaded without evicting (unknown max = assume yes).
  bool adapter_slot_free() const;

  // "address:port", or "[v6]:port" for IPv6 literals: computed once, as requests, the EPP
  // and the access log all name the endpoint by it.
  const std::string& key() const { return key_; }

  // The gateway's own bookkeeping, from the workers: an attempt sent to it and ended, and the
  // prefill (prompt bytes it is not expected to have cached) an attempt brings until its first
  // response byte.
  void request_started() { active_requests.fetch_add(1, std::memory_order_relaxed); }
  void request_ended() { active_requests.fetch_sub(1, std::memory_order_relaxed); }
  void add_prefill(int64_t bytes) { prefill_bytes.fetch_add(bytes, std::memory_order_relaxed); }
  void remove_prefill(int64_t bytes) { prefill_bytes.fetch_sub(bytes, std::memory_order_relaxed); }
  bool ejected(int64_t now_ms) const {
    return now_ms < ejected_until_ms.load(std::memory_order_relaxed);
  }
  // What pick() may choose: ready (scraper), passing its active health check, not ejected.
  bool eligible(int64_t now_ms) const {
    return healthy.load(std::memory_order_relaxed) && hc_healthy.load(std::memory_order_relaxed) && !ejected(now_ms);
  }

 private:
  static uint32_t next_id();
  const std::string key_;
};

std::string endpoint_key(std::string_view address, uint16_t port);

// What one cluster has in flight across all workers: the counts its circuit breakers
// (DestinationRule connectionPool, Envoy's circuit_breakers) are checked against. Kept across
// snapshot swaps by cluster name, so a reload does not forget requests still running.
struct ClusterLoad {
  std::atomic<int32_t> rq_active{0};   // attempts sent or being sent upstream
  std::atomic<int32_t> rq_pending{0};  // attempts waiting for a connection
  std::atomic<int32_t> rq_retry{0};    // retries in flight
  std::atomic<int32_t> cx_active{0};   // upstream connections this cluster opened

  // Takes one unit of `counter` if it stays within `limit` (nullopt = no limit): the check
  // and the increment are one step, so racing workers cannot both take the last unit.
  static bool try_take(std::atomic<int32_t>& counter, std::optional<uint32_t> limit) {
    int32_t now = counter.load(std::memory_order_relaxed);
    do {
      if (limit && now >= static_cast<int64_t>(*limit)) return false;
    } while (!counter.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
    return true;
  }
  static void give_back(std::atomic<int32_t>& counter) { counter.fetch_sub(1, std::memory_order_relaxed); }
};

// Owns EndpointStates by "address:port". Used by the control thread while building snapshots;
// the mutex only guards the map, never the hot path.
class EndpointRegistry {
 public:
  // Existing state for address:port if its name and labels are unchanged, else a new one
  // (which replaces the old in the registry; clusters of older snapshots keep theirs).
  std::shared_ptr<EndpointState> get_or_create(std::string_view address, uint16_t port,
                                               std::string_view name = {},
                                               const std::map<std::string, std::string>& labels = {});
  std::shared_ptr<EndpointState> find(std::string_view address, uint16_t port) const;
  // The load of cluster `name`, the same object for every snapshot that has the cluster.
  std::shared_ptr<ClusterLoad> cluster_load(const std::string& name);
  // The prefix index of cluster `name`, kept across snapshots while its capacity is unchanged.
  std::shared_ptr<PrefixIndex> prefix_index(const std::string& name, size_t capacity);
  // The flow-control queue of cluster `name` (pools/flow_control.h): requests waiting in it
  // outlive the snapshot they arrived on.
  std::shared_ptr<FlowQueue> flow_queue(const std::string& name);
  // The queue of `name` if one exists (nullptr otherwise): to release its waiters when flow
  // control is turned off.
  std::shared_ptr<FlowQueue> find_flow_queue(const std::string& name) const;
  // Drops states no snapshot references any more (call after publishing a new snapshot).
  size_t prune();
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<EndpointState>> states_;
  std::unordered_map<std::string, std::shared_ptr<ClusterLoad>> loads_;
  std::unordered_map<std::string, std::shared_ptr<PrefixIndex>> prefix_indexes_;
  std::unordered_map<std::string, std::shared_ptr<FlowQueue>> flow_queues_;
};

}  // namespace infergate::pools
