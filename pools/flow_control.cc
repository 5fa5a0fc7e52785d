#include "pools/flow_control.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace infergate::pools {

namespace {
constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::max();
}  // namespace

struct FlowTicket::Waiter {
  enum class State : uint8_t { Queued, InTransit, Done };
  State state = State::Queued;
  int32_t priority = 0;
  std::string flow;
  uint64_t bytes = 0;
  std::pair<int64_t, uint64_t> key;  // (deadline or 0, arrival order)
  FlowQueue::Wake wake;
  bool waited = false;  // it was queued at some point
};

struct FlowQueue::Flow {
  std::map<std::pair<int64_t, uint64_t>, std::shared_ptr<Waiter>> items;
};

struct FlowQueue::Band {
  size_t requests = 0;
  uint64_t bytes = 0;
  std::map<std::string, Flow, std::less<>> flows;
  std::deque<std::string> turn;  // flows with requests, the next to be served first
};

// ---------------------------------------------------------------------------------------------
FlowPolicy::FlowPolicy(const config::FlowControlConfig& s, const config::Config& config,
                       const config::InferencePool& pool, std::shared_ptr<FlowQueue> q)
    : settings(s), queue(std::move(q)), priorities_(config, pool) {}

// ---------------------------------------------------------------------------------------------
FlowTicket& FlowTicket::operator=(FlowTicket&& o) noexcept {
  if (this != &o) {
    release();
    queue_ = std::move(o.queue_);
    waiter_ = std::move(o.waiter_);
  }
  return *this;
}

bool FlowTicket::waited() const { return waiter_ && waiter_->waited; }

FlowTicket::Held FlowTicket::release() {
  if (!waiter_) return Held::Nothing;
  const Held held = queue_->release(*waiter_);
  waiter_.reset();
  queue_.reset();
  return held;
}

// ---------------------------------------------------------------------------------------------
FlowQueue::FlowQueue(std::string pool) : pool_(std::move(pool)) {}
FlowQueue::~FlowQueue() = default;

int64_t FlowQueue::endpoint_room(const config::FlowControlConfig& s, const EndpointState& ep, int64_t now_ms,
                      int64_t stale_after_ms) {
  int64_t room = kUnbounded;
  if (s.max_concurrency_per_endpoint)
    room = int64_t{s.max_concurrency_per_endpoint} - ep.active_requests.load(std::memory_order_relaxed);
  const int64_t at = ep.scraped_at_ms.load(std::memory_order_relaxed);
  if (at > 0 && now_ms - at <= stale_after_ms) {
    if (ep.kv_cache_usage.load(std::memory_order_relaxed) >= s.kv_cache_util_threshold) return 0;
    const auto waiting = static_cast<int64_t>(std::ceil(ep.queue_size.load(std::memory_order_relaxed))) +
                         std::max(0, ep.held_since_scrape.load(std::memory_order_relaxed));
    room = std::min(room, int64_t{s.queue_depth_threshold} - waiting);
  }
  return std::max<int64_t>(room, 0);
}

int64_t FlowQueue::room(const config::FlowControlConfig& settings,
                        std::span<const std::shared_ptr<EndpointState>> endpoints, int64_t now_ms,
                        int64_t stale_after_ms) {
  int64_t total = 0;
  bool any = false;
  for (const auto& ep : endpoints) {
    if (!ep->eligible(now_ms)) continue;
    any = true;
    const int64_t r = endpoint_room(settings, *ep, now_ms, stale_after_ms);
    if (r == kUnbounded) return kUnbounded;
    total += r;
  }
  // Nothing can serve: holding the request would not help, the router answers 503.
  return any ? total : kUnbounded;
}

double FlowQueue::saturation(const config::FlowControlConfig& settings,
                             std::span<const std::shared_ptr<EndpointState>> endpoints, int64_t now_ms,
                             int64_t stale_after_ms) {
  size_t eligible = 0, saturated = 0;
  for (const auto& ep : endpoints) {
    if (!ep->eligible(now_ms)) continue;
    ++eligible;
    saturated += endpoint_room(settings, *ep, now_ms, stale_after_ms) == 0;
  }
  return eligible ? static_cast<double>(saturated) / static_cast<double>(eligible) : 0.0;
}

FlowQueue::Admission FlowQueue::admit(const FlowPolicy& policy,
                                      std::span<const std::shared_ptr<EndpointState>> endpoints, Arrival arrival,
                                      int64_t now_ms, FlowTicket& ticket) {
  ticket.release();
  const config::FlowControlConfig& s = policy.settings;
  const int64_t stale = stale_after_ms_.load(std::memory_order_relaxed);
  auto pass = [&](std::shared_ptr<Waiter> w) {
    w->state = Waiter::State::InTransit;
    ticket.queue_ = shared_from_this();
    ticket.waiter_ = std::move(w);
    return Admission{Admit::Pass, FlowRefusal::None};
  };
  auto w = std::make_shared<Waiter>();
  w->priority = arrival.priority;
  w->flow = s.fairness == config::FlowFairness::GlobalStrict ? std::string() : std::move(arrival.flow);
  w->bytes = arrival.bytes;
  w->wake = std::move(arrival.wake);

  // Nobody waits: one atomic add and a look at the servers, no lock.
  if (queued_.load(std::memory_order_relaxed) == 0) {
    const int64_t transit = in_transit_.fetch_add(1, std::memory_order_relaxed) + 1;
    const int64_t r = room(s, endpoints, now_ms, stale);
    if (r == kUnbounded || r >= transit) return pass(std::move(w));
    in_transit_.fetch_sub(1, std::memory_order_relaxed);
  }

  std::vector<std::shared_ptr<Waiter>> evicted, woken;
  Admission result{Admit::Queued, FlowRefusal::None};
  {
    std::lock_guard lock(mu_);
    if (queued_.load(std::memory_order_relaxed) == 0) {
      const int64_t r = room(s, endpoints, now_ms, stale);
      if (r == kUnbounded || r > in_transit_.load(std::memory_order_relaxed)) {
        in_transit_.fetch_add(1, std::memory_order_relaxed);
        return pass(std::move(w));
      }
    }
    const config::FlowBandLimits& limits = s.band(w->priority);
    auto& band = bands_[w->priority];
    if (!band) band = std::make_unique<Band>();
    // A full band: the newest request of its longest flow makes way when that flow is longer
    // than the newcomer's, so one tenant's flood cannot lock the others out.
    while (band->requests + 1 > limits.max_requests || band->bytes + w->bytes > limits.max_bytes) {
      std::shared_ptr<Waiter> victim = newest_of_longest_flow(*band, w->flow);
      if (!victim) {
        result = {Admit::Refused, FlowRefusal::BandFull};
        break;
      }
      remove(*victim);
      victim->state = Waiter::State::Done;
      evicted.push_back(std::move(victim));
    }
    if (result.admit == Admit::Queued) {
      while (queued_.load(std::memory_order_relaxed) + 1 > s.max_requests || bytes_ + w->bytes > s.max_bytes) {
        std::shared_ptr<Waiter> victim = newest_sheddable_below(w->priority);
        if (!victim) {
          result = {Admit::Refused, FlowRefusal::PoolFull};
          break;
        }
        remove(*victim);
        victim->state = Waiter::State::Done;
        evicted.push_back(std::move(victim));
      }
    }
    if (result.admit == Admit::Queued) {
      w->key = {s.ordering == config::FlowOrdering::Edf ? arrival.deadline : 0, next_seq_++};
      enqueue(w);
      dispatch_locked(policy, endpoints, now_ms, woken);
      if (w->state == Waiter::State::InTransit) {
        // Room was there after all: it goes on at once, nothing to wake.
        std::erase(woken, w);
        result = {Admit::Pass, FlowRefusal::None};
      }
      ticket.queue_ = shared_from_this();
      ticket.waiter_ = w;
    }
  }
  for (auto& v : evicted) v->wake(FlowOutcome::Evicted);
  for (auto& d : woken) d->wake(FlowOutcome::Dispatched);
  return result;
}

void FlowQueue::capacity_changed(const FlowPolicy& policy, std::span<const std::shared_ptr<EndpointState>> endpoints,
                                 int64_t now_ms) {
  if (queued_.load(std::memory_order_relaxed) == 0) return;
  std::vector<std::shared_ptr<Waiter>> woken;
  {
    std::lock_guard lock(mu_);
    dispatch_locked(policy, endpoints, now_ms, woken);
  }
  for (auto& d : woken) d->wake(FlowOutcome::Dispatched);
}

void FlowQueue::dispatch_all() {
  std::vector<std::shared_ptr<Waiter>> woken;
  {
    std::lock_guard lock(mu_);
    while (std::shared_ptr<Waiter> w = pop_next()) {
      w->state = Waiter::State::InTransit;
      in_transit_.fetch_add(1, std::memory_order_relaxed);
      woken.push_back(std::move(w));
    }
  }
  for (auto& d : woken) d->wake(FlowOutcome::Dispatched);
}

bool FlowQueue::expire(FlowTicket& ticket) {
  if (!ticket.waiter_ || ticket.queue_.get() != this) return false;
  std::lock_guard lock(mu_);
  Waiter& w = *ticket.waiter_;
  if (w.state != Waiter::State::Queued) return false;
  remove(w);
  w.state = Waiter::State::Done;
  return true;
}

FlowTicket::Held FlowQueue::release(Waiter& w) {
  std::lock_guard lock(mu_);
  switch (w.state) {
    case Waiter::State::Queued:
      remove(w);
      w.state = Waiter::State::Done;
      return FlowTicket::Held::Queued;
    case Waiter::State::InTransit:
      in_transit_.fetch_sub(1, std::memory_order_relaxed);
      w.state = Waiter::State::Done;
      return FlowTicket::Held::InTransit;
    case Waiter::State::Done: break;
  }
  return FlowTicket::Held::Nothing;
}

std::vector<FlowQueue::BandView> FlowQueue::bands() const {
  std::lock_guard lock(mu_);
  std::vector<BandView> out;
  for (const auto& [priority, band] : bands_) {
    if (band->requests == 0) continue;
    out.push_back(BandView{priority, band->requests, band->bytes, band->flows.size()});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Under mu_.

void FlowQueue::enqueue(const std::shared_ptr<Waiter>& w) {
  w->waited = true;
  Band& band = *bands_[w->priority];
  auto [it, fresh] = band.flows.try_emplace(w->flow);
  if (fresh) band.turn.push_back(w->flow);
  it->second.items.emplace(w->key, w);
  ++band.requests;
  band.bytes += w->bytes;
  bytes_ += w->bytes;
  queued_.fetch_add(1, std::memory_order_relaxed);
}

void FlowQueue::remove(Waiter& w) {
  Band& band = *bands_.at(w.priority);
  auto flow = band.flows.find(w.flow);
  if (flow == band.flows.end() || flow->second.items.erase(w.key) == 0) return;
  if (flow->second.items.empty()) {
    band.flows.erase(flow);
    std::erase(band.turn, w.flow);
  }
  --band.requests;
  band.bytes -= w.bytes;
  bytes_ -= w.bytes;
  queued_.fetch_sub(1, std::memory_order_relaxed);
}

// Strict priority between bands; round-robin between a band's flows; a flow's own order.
std::shared_ptr<FlowQueue::Waiter> FlowQueue::pop_next() {
  for (auto& [priority, band] : bands_) {
    if (band->requests == 0) continue;
    const std::string id = band->turn.front();
    band->turn.pop_front();
    Flow& flow = band->flows.find(id)->second;
    std::shared_ptr<Waiter> w = flow.items.begin()->second;
    if (flow.items.size() > 1) band->turn.push_back(id);  // its next request waits its turn
    remove(*w);
    return w;
  }
  return nullptr;
}

// The newest request of the lowest sheddable band (priority < 0) below `priority`.
std::shared_ptr<FlowQueue::Waiter> FlowQueue::newest_sheddable_below(int32_t priority) {
  for (auto it = bands_.rbegin(); it != bands_.rend(); ++it) {
    if (it->first >= 0 || it->first >= priority) break;
    if (it->second->requests == 0) continue;
    std::shared_ptr<Waiter> newest;
    for (auto& [id, flow] : it->second->flows)
      for (auto& [key, w] : flow.items)
        if (!newest || key.second > newest->key.second) newest = w;
    return newest;
  }
  return nullptr;
}

// The newest request of the band's longest flow, when that flow holds more than `flow` would
// with the newcomer (nullptr otherwise: the newcomer's own flow is the longest).
std::shared_ptr<FlowQueue::Waiter> FlowQueue::newest_of_longest_flow(const Band& band, const std::string& flow) {
  const Flow* longest = nullptr;
  for (const auto& [id, f] : band.flows)
    if (!longest || f.items.size() > longest->items.size()) longest = &f;
  auto own = band.flows.find(flow);
  const size_t own_after = (own == band.flows.end() ? 0 : own->second.items.size()) + 1;
  if (!longest || longest->items.size() <= own_after) return nullptr;
  std::shared_ptr<Waiter> newest;
  for (const auto& [key, w] : longest->items)
    if (!newest || key.second > newest->key.second) newest = w;
  return newest;
}

void FlowQueue::dispatch_locked(const FlowPolicy& policy, std::span<const std::shared_ptr<EndpointState>> endpoints,
                                int64_t now_ms, std::vector<std::shared_ptr<Waiter>>& woken) {
  if (queued_.load(std::memory_order_relaxed) == 0) return;
  const int64_t r = room(policy.settings, endpoints, now_ms, stale_after_ms_.load(std::memory_order_relaxed));
  int64_t free = r == kUnbounded ? kUnbounded : r - in_transit_.load(std::memory_order_relaxed);
  while (free > 0 && queued_.load(std::memory_order_relaxed) > 0) {
    std::shared_ptr<Waiter> w = pop_next();
    if (!w) break;
    w->state = Waiter::State::InTransit;
    in_transit_.fetch_add(1, std::memory_order_relaxed);
    if (free != kUnbounded) --free;
    woken.push_back(std::move(w));
  }
}

}  // namespace infergate::pools
