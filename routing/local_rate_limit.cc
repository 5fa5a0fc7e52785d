#include "routing/local_rate_limit.h"

#include <algorithm>
#include <array>

#define XXH_INLINE_ALL  // header-only: routing/ does not link libxxhash
#include <xxhash.h>

#include "routing/random_seed.h"

namespace infergate::routing {

namespace detail {

PolicyState::PolicyState(const config::LocalRateLimit& cfg)
    : max_tokens(cfg.token_bucket.max_tokens),
      tokens_per_fill(cfg.token_bucket.tokens_per_fill),
      // At least 1ms: the parser allows 50ms and up; a hand-built config must not divide by 0.
      interval_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::max(cfg.token_bucket.fill_interval, std::chrono::milliseconds(1)))
                      .count()),
      seed(random_seed()),
      slot_count(cfg.key == config::RateLimitKey::None ? 0 : std::max<uint32_t>(cfg.max_keys, 1)) {
  single.tokens.store(max_tokens, std::memory_order_relaxed);
  if (slot_count == 0) return;
  slots.reset(new KeySlot[slot_count]);
  for (uint32_t i = 0; i < slot_count; ++i) slots[i].bucket.tokens.store(max_tokens, std::memory_order_relaxed);
}

}  // namespace detail

namespace {

using detail::KeySlot;
using detail::PolicyState;
using detail::TokenBucketState;

constexpr uint32_t kProbeWindow = 8;
constexpr int64_t kNsPerSecond = 1'000'000'000;
// last_use is only an eviction hint: refreshing it at most once per ms keeps a hot key from
// writing one more cache line per request.
constexpr int64_t kLastUseResolutionNs = 1'000'000;

int64_t to_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct Take {
  bool ok = false;
  uint32_t remaining = 0;
  uint32_t reset_seconds = 0;
};

// Tokens `b` holds at `now` counting fills not yet applied (no write): whether a slot's
// bucket is as good as new.
bool refilled_completely(const TokenBucketState& b, const PolicyState& p, int64_t now) {
  const int64_t next = b.next_fill_ns.load(std::memory_order_acquire);
  const uint64_t tokens = b.tokens.load(std::memory_order_relaxed);
  if (next == TokenBucketState::kUnstarted) return tokens >= p.max_tokens;
  if (now < next) return tokens >= p.max_tokens;
  const uint64_t fills = static_cast<uint64_t>((now - next) / p.interval_ns) + 1;
  return fills >= p.max_tokens || tokens + fills * p.tokens_per_fill >= p.max_tokens;
}

// Applies the fills due at `now` (only the thread whose CAS advances next_fill adds them) and
// takes one token.
Take take(TokenBucketState& b, const PolicyState& p, int64_t now) {
  int64_t next = b.next_fill_ns.load(std::memory_order_acquire);
  if (next == TokenBucketState::kUnstarted) {
    // First use: the bucket is full; its first fill is one interval from now.
    if (b.next_fill_ns.compare_exchange_strong(next, now + p.interval_ns, std::memory_order_acq_rel))
      next = now + p.interval_ns;
    // else `next` now holds the winner's value
  }
  while (now >= next) {
    const int64_t fills = (now - next) / p.interval_ns + 1;
    const int64_t new_next = next + fills * p.interval_ns;
    if (b.next_fill_ns.compare_exchange_weak(next, new_next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      // `fills` can be huge after a long idle time: cap before multiplying.
      const uint64_t add = static_cast<uint64_t>(fills) >= p.max_tokens
                               ? p.max_tokens
                               : std::min<uint64_t>(static_cast<uint64_t>(fills) * p.tokens_per_fill, p.max_tokens);
      uint32_t t = b.tokens.load(std::memory_order_relaxed);
      while (!b.tokens.compare_exchange_weak(
          t, static_cast<uint32_t>(std::min<uint64_t>(uint64_t{t} + add, p.max_tokens)), std::memory_order_acq_rel,
          std::memory_order_relaxed)) {
      }
      next = new_next;
    }
    // CAS failure: another thread advanced it; `next` holds its value, loop re-checks.
  }
  Take out;
  uint32_t t = b.tokens.load(std::memory_order_relaxed);
  while (t > 0 && !b.tokens.compare_exchange_weak(t, t - 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
  }
  out.ok = t > 0;
  out.remaining = t > 0 ? t - 1 : 0;
  // now < next here: at least 1ns, so at least 1s after rounding up.
  out.reset_seconds = static_cast<uint32_t>((next - now + kNsPerSecond - 1) / kNsPerSecond);
  return out;
}

uint64_t key_hash(const PolicyState& p, std::string_view key) {
  uint64_t h = XXH3_64bits_withSeed(key.data(), key.size(), p.seed);
  if (h == KeySlot::kEmpty || h == KeySlot::kBusy) h = 1;  // the two reserved values
  return h;
}

void touch(KeySlot& s, int64_t now) {
  if (now - s.bucket.last_use_ns.load(std::memory_order_relaxed) >= kLastUseResolutionNs)
    s.bucket.last_use_ns.store(now, std::memory_order_relaxed);
}

// The bucket of key hash `h`: its slot, a claimed empty one, or an evicted one (see the
// header for the policy). nullptr only when every slot of the window stayed busy.
TokenBucketState* find_bucket(PolicyState& p, uint64_t h, int64_t now) {
  const uint32_t n = p.slot_count;
  const uint32_t home = static_cast<uint32_t>(h % n);
  const uint32_t window = std::min(kProbeWindow, n);
  for (int attempt = 0; attempt < 4; ++attempt) {
    KeySlot* stale = nullptr;
    KeySlot* lru = nullptr;
    uint64_t victim_key = 0, stale_key = 0;
    int64_t lru_use = INT64_MAX;
    for (uint32_t i = 0; i < window; ++i) {
      KeySlot& s = p.slots[(home + i) % n];
      uint64_t k = s.key.load(std::memory_order_acquire);
      // Slots never become empty again, so a key lives before the first empty slot.
      if (k == KeySlot::kEmpty && s.key.compare_exchange_strong(k, h, std::memory_order_acq_rel)) {
        touch(s, now);
        return &s.bucket;  // created full, unstarted
      }
      if (k == h) {
        touch(s, now);
        return &s.bucket;
      }
      if (k == KeySlot::kBusy) continue;
      if (!stale && refilled_completely(s.bucket, p, now)) {
        stale = &s;
        stale_key = k;
      }
      const int64_t used = s.bucket.last_use_ns.load(std::memory_order_relaxed);
      if (used < lru_use) {
        lru_use = used;
        lru = &s;
        victim_key = k;
      }
    }
    KeySlot* victim = stale ? stale : lru;
    if (stale) victim_key = stale_key;
    if (!victim) continue;
    // kBusy while the bucket is reset, so that the new key never sees the old key's tokens.
    if (!victim->key.compare_exchange_strong(victim_key, KeySlot::kBusy, std::memory_order_acq_rel)) continue;
    victim->bucket.tokens.store(p.max_tokens, std::memory_order_relaxed);
    victim->bucket.next_fill_ns.store(TokenBucketState::kUnstarted, std::memory_order_relaxed);
    victim->bucket.last_use_ns.store(now, std::memory_order_relaxed);
    victim->key.store(h, std::memory_order_release);
    return &victim->bucket;
  }
  return nullptr;
}

struct Candidate {
  int policy = -1;
  uint32_t limit = 0, remaining = 0, reset_seconds = 0;
  // The most restrictive: fewest tokens left, then the smaller limit.
  bool better_than(const Candidate& o) const {
    return o.policy < 0 || remaining < o.remaining || (remaining == o.remaining && limit < o.limit);
  }
};

}  // namespace

std::shared_ptr<LocalRateLimiter> LocalRateLimiter::build(const std::vector<config::LocalRateLimit>& policies,
                                                          const LocalRateLimiter* previous) {
  auto rl = std::make_shared<LocalRateLimiter>();
  const size_t n = std::min(policies.size(), config::kMaxLocalRateLimits);
  for (size_t i = 0; i < n; ++i) {
    const config::LocalRateLimit& cfg = policies[i];
    std::shared_ptr<PolicyState> state;
    if (previous) {
      for (const Policy& old : previous->policies_)
        if (old.cfg.same_settings(cfg)) state = old.state;
    }
    if (!state) state = std::make_shared<PolicyState>(cfg);
    rl->policies_.push_back(Policy{cfg, std::move(state)});
    rl->names_.push_back(cfg.name);
  }
  return rl;
}

RateLimitResult LocalRateLimiter::check(const RateLimitRequest& req, std::chrono::steady_clock::time_point now) {
  RateLimitResult r;
  const int64_t now_ns = to_ns(now);
  Candidate enforcing, shadow;
  for (size_t i = 0; i < policies_.size(); ++i) {
    const config::LocalRateLimit& cfg = policies_[i].cfg;
    PolicyState& st = *policies_[i].state;
    if (!rate_limit_matches(cfg.match, req)) continue;

    Take t;
    TokenBucketState* bucket = &st.single;
    bool deny = false;
    if (cfg.key != config::RateLimitKey::None) {
      std::string_view key;
      switch (cfg.key) {
        case config::RateLimitKey::Principal: key = req.principal; break;
        case config::RateLimitKey::SourceIp: key = req.source_ip; break;
        case config::RateLimitKey::Header:
          if (req.headers)
            if (const std::string* v = req.headers->get(cfg.header)) key = *v;
          break;
        case config::RateLimitKey::None: break;
      }
      // An empty header value counts as missing: it identifies no one.
      if (key.empty()) {
        if (cfg.missing_key == config::MissingKey::Skip) continue;
        deny = cfg.missing_key == config::MissingKey::Deny;
      }
      if (!deny)
        if (TokenBucketState* b = find_bucket(st, key_hash(st, key), now_ns)) bucket = b;
    }
    if (!deny) t = take(*bucket, st, now_ns);

    const uint64_t bit = uint64_t{1} << i;
    (t.ok ? r.allowed : r.refused) |= bit;
    const Candidate c{static_cast<int>(i), st.max_tokens, t.remaining, t.reset_seconds};
    if (!t.ok && cfg.enforce) {
      r.limited = true;
      r.policy = c.policy;
      r.send_headers = cfg.response_headers;
      r.limit = c.limit;
      r.remaining = 0;
      r.reset_seconds = c.reset_seconds;
      return r;
    }
    if (!t.ok) r.shadow_limited = true;
    Candidate& best = cfg.enforce ? enforcing : shadow;
    if (c.better_than(best)) best = c;
  }
  const Candidate& chosen = enforcing.policy >= 0 ? enforcing : shadow;
  r.policy = chosen.policy;
  if (chosen.policy >= 0) {
    const config::LocalRateLimit& cfg = policies_[chosen.policy].cfg;
    r.send_headers = cfg.enforce && cfg.response_headers;
    r.limit = chosen.limit;
    r.remaining = chosen.remaining;
    r.reset_seconds = chosen.reset_seconds;
  }
  return r;
}

size_t LocalRateLimiter::tracked_keys(size_t i) const {
  const PolicyState& st = *policies_[i].state;
  size_t n = 0;
  for (uint32_t s = 0; s < st.slot_count; ++s) {
    const uint64_t k = st.slots[s].key.load(std::memory_order_relaxed);
    n += k != KeySlot::kEmpty && k != KeySlot::kBusy;
  }
  return n;
}

}  // namespace infergate::routing
