#pragma once
// Local rate limiting: Envoy local_ratelimit token buckets behind a request match and an
// optional key (config::LocalRateLimit).
//
// Why buckets are shared by all workers and not split per worker: a client pinned to one
// connection lives on one worker, so an N/W share per worker would let it through only N/W
// per interval, and clients spread over workers would see "N" only on average. Like Envoy's
// local rate limiter (one bucket per filter config, shared by its workers), each bucket is a
// pair of atomics updated by CAS: no lock, no allocation per request, and exactly max_tokens
// then tokens_per_fill per fill_interval are handed out however the requests are spread.
//
// Refill is discrete and lazy (Envoy adds tokens_per_fill on a timer every fill_interval; here
// the thread that first sees `now` past the next fill time advances it by CAS and alone adds
// the missed fills, capped at max_tokens). A bucket starts full on first use.
//
// Keyed policies keep at most max_keys buckets in a fixed open-addressing table indexed by a
// seeded 64-bit hash of the key (a collision, ~1e-11 at 10k keys, makes two keys share).
// A key lives in one of 8 slots after its home slot. When all 8 are taken by other keys, the
// slot whose bucket has refilled completely since its last use is reused first (no loss: a
// full bucket is what a new key gets), else the least recently used of the 8 (Envoy's dynamic
// descriptors evict LRU too): that key starts full if it returns. Under such pressure a
// request racing an eviction may be charged to the new key once; nothing is ever lost beyond.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/rate_limit_model.h"
#include "routing/http_message.h"
#include "routing/rate_limit_match.h"

namespace infergate::routing {

struct RateLimitResult {
  bool limited = false;          // an enforcing policy refused the request
  int policy = -1;               // the refusing policy, else the most restrictive one that matched
                                 // (enforcing ones first); -1 = none matched
  bool shadow_limited = false;   // some shadow (enforce: false) policy would have refused it
  bool send_headers = false;     // add x-ratelimit-* for `policy` (enforcing, responseHeaders on)
  uint32_t limit = 0, remaining = 0, reset_seconds = 0;  // of `policy`
  // Per policy index i (at most config::kMaxLocalRateLimits): bit i of `allowed` = matched and
  // got a token, of `refused` = matched and had none (or denied for a missing key). Policies
  // after an enforcing refusal are not evaluated and appear in neither.
  uint64_t allowed = 0;
  uint64_t refused = 0;
};

namespace detail {

// One Envoy token bucket. It is created full; `next_fill_ns` = steady_clock nanoseconds of
// the next fill, kUnstarted until first used, so the first interval starts with the traffic.
struct TokenBucketState {
  static constexpr int64_t kUnstarted = INT64_MIN;
  std::atomic<uint32_t> tokens{0};
  std::atomic<int64_t> next_fill_ns{kUnstarted};
  std::atomic<int64_t> last_use_ns{0};  // keyed slots: eviction order
};

// A keyed policy's fixed table of buckets.
struct KeySlot {
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kBusy = ~uint64_t{0};  // being reset for a new key
  std::atomic<uint64_t> key{kEmpty};               // seeded hash of the key, never kEmpty/kBusy
  TokenBucketState bucket;
};

// The mutable state of one policy, kept across rebuilds while its settings stay the same.
struct PolicyState {
  explicit PolicyState(const config::LocalRateLimit& cfg);
  PolicyState(const PolicyState&) = delete;
  PolicyState& operator=(const PolicyState&) = delete;

  const uint32_t max_tokens, tokens_per_fill;
  const int64_t interval_ns;
  const uint64_t seed;                  // per table: keys cannot be chosen to collide
  const uint32_t slot_count;            // keyed: max_keys; else 0
  // key: none: the policy's bucket. Keyed: where a request goes when no slot could be had
  // (every slot of its window being reset by other threads at once).
  alignas(64) TokenBucketState single;  // own cache line: every worker writes it
  std::unique_ptr<KeySlot[]> slots;
};

}  // namespace detail

class LocalRateLimiter {
 public:
  // `previous`: the limiter of the snapshot being replaced. A policy whose name and settings
  // are unchanged keeps its buckets (a reload must not hand out a fresh burst); changed and
  // new ones start full. Policies beyond config::kMaxLocalRateLimits are ignored (the parser
  // rejects them).
  static std::shared_ptr<LocalRateLimiter> build(const std::vector<config::LocalRateLimit>& policies,
                                                 const LocalRateLimiter* previous);

  // Thread-safe and lock-free; called by every worker concurrently. Policies are evaluated in
  // order; each matching one takes a token from its bucket; the first enforcing policy without
  // one refuses the request and later policies are not charged.
  RateLimitResult check(const RateLimitRequest& req, std::chrono::steady_clock::time_point now);

  const std::vector<std::string>& policy_names() const { return names_; }
  const config::LocalRateLimit& policy(size_t i) const { return policies_[i].cfg; }
  bool empty() const { return policies_.empty(); }
  size_t size() const { return policies_.size(); }

  // Keys currently holding a slot in policy i (tests and /config_dump; O(max_keys)).
  size_t tracked_keys(size_t i) const;

 private:
  struct Policy {
    config::LocalRateLimit cfg;
    std::shared_ptr<detail::PolicyState> state;
  };
  std::vector<Policy> policies_;
  std::vector<std::string> names_;
};

}  // namespace infergate::routing
