#pragma once
// Flow control of an InferencePool: while every model server of the pool is saturated,
// requests wait here, in the gateway, instead of being piled onto an overloaded server.
// The Gateway API Inference Extension's flow control (v1.5), in-process and exact:
//  - saturation: a server is saturated when its fresh scraped waiting queue is at or above
//    queueDepthThreshold, its KV-cache use at or above kvCacheUtilThreshold, or the gateway's
//    own requests in flight to it at maxConcurrencyPerEndpoint. The scraped queue is a view
//    up to one scrape old: the requests that waited here and were sent the server since that
//    scrape, with no response byte yet, are added to it (EndpointState::held_since_scrape),
//    so a scrape that shows room lets that many waiting requests through and no more; while
//    nothing waits, the scrape alone decides. Room = the requests that fit below those limits
//    over every eligible server, less the requests already let through and not yet at a
//    server ("in transit"). Without fresh metrics or a concurrency limit a server's room is
//    unknown and taken as unbounded: flow control never holds traffic blind;
//  - bands: strict priority between bands (InferenceObjective priority; InferenceModel
//    criticality Critical 1, Standard 0, Sheddable -1; priority < 0 is sheddable);
//  - flows: within a band, round-robin between flows (fairness id), or one line for the band
//    (global-strict); within a flow FCFS or EDF;
//  - limits: per band and for the whole pool, in requests and bytes. A full band makes room
//    by dropping the newest request of its longest flow when that flow is longer than the
//    newcomer's (one tenant's flood cannot lock the others out of the band), else refuses; a
//    full pool evicts the newest request of the lowest sheddable band below the newcomer's,
//    else refuses. The TTL is the caller's timer (expire());
//  - dispatch: capacity_changed() (a response starts or ends, a scrape) wakes exactly as many
//    waiting requests as there is room for, in order. Nothing polls.
//
// A FlowQueue is shared by every snapshot that has the pool (EndpointRegistry::flow_queue) and
// by every worker; its state is under one mutex, taken only while requests wait (an arrival
// with nobody waiting and room to spare is one atomic add).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "pools/endpoint_state.h"
#include "pools/pool_priorities.h"

namespace infergate::pools {

class FlowQueue;

// An InferencePool's flow-control settings and the priorities its models and objectives give.
struct FlowPolicy {
  FlowPolicy(const config::FlowControlConfig& settings, const config::Config& config,
             const config::InferencePool& pool, std::shared_ptr<FlowQueue> queue);

  config::FlowControlConfig settings;
  std::shared_ptr<FlowQueue> queue;

  // The band of a request (pools/pool_priorities.h).
  int32_t priority(std::string_view model, std::string_view objective) const {
    return priorities_.priority(model, objective);
  }

 private:
  PoolPriorities priorities_;
};

enum class FlowOutcome : uint8_t { Dispatched, Evicted };

// Why an arrival was refused at once.
enum class FlowRefusal : uint8_t { None, BandFull, PoolFull };

// A request's place in flow control, from admission until it reaches a server (or ends).
// Movable, not copyable; release() (or the destructor) gives back whatever it holds.
class FlowTicket {
 public:
  // What the ticket held when released.
  enum class Held : uint8_t { Nothing, Queued, InTransit };

  FlowTicket() = default;
  FlowTicket(FlowTicket&&) noexcept = default;
  FlowTicket& operator=(FlowTicket&& o) noexcept;
  FlowTicket(const FlowTicket&) = delete;
  FlowTicket& operator=(const FlowTicket&) = delete;
  ~FlowTicket() { release(); }

  Held release();
  bool active() const { return waiter_ != nullptr; }
  // The request waited in the queue before it was let through (read after the wake).
  bool waited() const;

 private:
  friend class FlowQueue;
  struct Waiter;
  std::shared_ptr<FlowQueue> queue_;
  std::shared_ptr<Waiter> waiter_;
};

class FlowQueue : public std::enable_shared_from_this<FlowQueue> {
 public:
  // Told once, from whichever thread dispatches or evicts, never under the queue's lock.
  using Wake = std::function<void(FlowOutcome)>;

  struct Arrival {
    int32_t priority = 0;
    std::string flow;      // fairness id ("" = the default flow)
    uint64_t bytes = 0;    // what it holds while waiting (headers + body known so far)
    int64_t deadline = 0;  // EDF: steady milliseconds; FCFS ignores it
    Wake wake;
  };
  enum class Admit : uint8_t { Pass, Queued, Refused };
  struct Admission {
    Admit admit = Admit::Pass;
    FlowRefusal refusal = FlowRefusal::None;
  };

  explicit FlowQueue(std::string pool);
  ~FlowQueue();

  // Pass: room now, and nobody waits ahead; the ticket holds one request in transit until the
  // request reaches a server (release()). Queued: the ticket waits for wake(). Refused: full.
  // `endpoints` and `policy` are those of the caller's snapshot.
  Admission admit(const FlowPolicy& policy, std::span<const std::shared_ptr<EndpointState>> endpoints,
                  Arrival arrival, int64_t now_ms, FlowTicket& ticket);

  // Room may have come back: dispatch as many waiting requests as it holds. Cheap (one atomic
  // load) while nobody waits.
  void capacity_changed(const FlowPolicy& policy, std::span<const std::shared_ptr<EndpointState>> endpoints,
                        int64_t now_ms);

  // Flow control was turned off for the pool: everyone waiting goes on at once.
  void dispatch_all();

  // The ticket's TTL ran out: true when it was still waiting (it leaves the queue; nothing is
  // woken).
  bool expire(FlowTicket& ticket);

  // Room as the dispatcher sees it (INT64_MAX = unbounded), and the share of eligible servers
  // that are saturated (GIE's pool saturation, 0..1).
  static int64_t room(const config::FlowControlConfig& settings,
                      std::span<const std::shared_ptr<EndpointState>> endpoints, int64_t now_ms,
                      int64_t stale_after_ms);
  // What one server can take below the saturation limits (INT64_MAX: nothing says); 0 =
  // saturated.
  static int64_t endpoint_room(const config::FlowControlConfig& settings, const EndpointState& endpoint,
                               int64_t now_ms, int64_t stale_after_ms);
  static double saturation(const config::FlowControlConfig& settings,
                           std::span<const std::shared_ptr<EndpointState>> endpoints, int64_t now_ms,
                           int64_t stale_after_ms);
  void set_stale_after(int64_t ms) { stale_after_ms_.store(ms, std::memory_order_relaxed); }

  size_t queued() const { return queued_.load(std::memory_order_relaxed); }
  int64_t in_transit() const { return in_transit_.load(std::memory_order_relaxed); }
  const std::string& pool() const { return pool_; }

  // For /pools.
  struct BandView {
    int32_t priority = 0;
    size_t requests = 0;
    uint64_t bytes = 0;
    size_t flows = 0;
  };
  std::vector<BandView> bands() const;

 private:
  friend class FlowTicket;
  struct Flow;
  struct Band;
  using Waiter = FlowTicket::Waiter;

  // Under mu_.
  void enqueue(const std::shared_ptr<Waiter>& w);
  void remove(Waiter& w);
  std::shared_ptr<Waiter> pop_next();
  std::shared_ptr<Waiter> newest_sheddable_below(int32_t priority);
  std::shared_ptr<Waiter> newest_of_longest_flow(const Band& band, const std::string& flow);
  void dispatch_locked(const FlowPolicy& policy, std::span<const std::shared_ptr<EndpointState>> endpoints,
                       int64_t now_ms, std::vector<std::shared_ptr<Waiter>>& woken);
  FlowTicket::Held release(Waiter& w);

  const std::string pool_;
  std::atomic<size_t> queued_{0};
  std::atomic<int64_t> in_transit_{0};
  std::atomic<int64_t> stale_after_ms_{1000};
  mutable std::mutex mu_;
  std::map<int32_t, std::unique_ptr<Band>, std::greater<>> bands_;  // highest priority first
  uint64_t bytes_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace infergate::pools
