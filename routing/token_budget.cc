#include "routing/token_budget.h"

#include <algorithm>
#include <cmath>
#include <list>
#include <mutex>
#include <unordered_map>

#define XXH_INLINE_ALL  // header-only: routing/ does not link libxxhash
#include <xxhash.h>

#include "routing/client_identity.h"
#include "routing/random_seed.h"

namespace infergate::routing {

namespace detail {

// One key's count in its latest window.
struct BudgetEntry {
  uint64_t key_hash = 0;
  int64_t window = 0;
  uint64_t used = 0;       // charged by this process in `window`
  uint64_t shared = 0;     // the store's count, as last read or returned by a charge
  uint64_t unflushed = 0;  // charged by this process while the store was unreachable
  bool spent = false;      // the store's count reached the limit in `window`
  std::string digest;      // shared budgets: the key's digest, for the flush
};

struct BudgetShard {
  std::mutex mu;
  uint32_t capacity = 1;
  std::list<BudgetEntry> lru;  // most recently used first
  std::unordered_map<uint64_t, std::list<BudgetEntry>::iterator> index;
};

struct BudgetState {
  explicit BudgetState(const config::TokenBudget& cfg);
  BudgetState(const BudgetState&) = delete;
  BudgetState& operator=(const BudgetState&) = delete;

  BudgetShard& shard(uint64_t h) { return shards[h % shard_count]; }
  // The entry of `h`, moved to the front; nullptr when absent and not `create`. An entry of an
  // older window starts over in `window`.
  BudgetEntry* find(BudgetShard& s, uint64_t h, int64_t window, bool create);

  const uint64_t seed;
  const uint32_t shard_count;
  std::unique_ptr<BudgetShard[]> shards;
};

BudgetState::BudgetState(const config::TokenBudget& cfg)
    : seed(random_seed()),
      shard_count(cfg.key == config::BudgetKey::None ? 1 : std::clamp<uint32_t>(cfg.max_keys, 1, 16)),
      shards(new BudgetShard[shard_count]) {
  // Capacities add up to max_keys exactly (an unkeyed budget has the one key "").
  const uint32_t keys = cfg.key == config::BudgetKey::None ? 1 : std::max<uint32_t>(cfg.max_keys, 1);
  for (uint32_t i = 0; i < shard_count; ++i) shards[i].capacity = keys / shard_count + (i < keys % shard_count);
}

BudgetEntry* BudgetState::find(BudgetShard& s, uint64_t h, int64_t window, bool create) {
  auto it = s.index.find(h);
  if (it == s.index.end()) {
    if (!create) return nullptr;
    if (s.lru.size() >= s.capacity) {  // the least recently used: a window that is over first
      s.index.erase(s.lru.back().key_hash);
      s.lru.pop_back();
    }
    s.lru.push_front(BudgetEntry{h, window, 0, 0, 0, false, {}});
    s.index.emplace(h, s.lru.begin());
    return &s.lru.front();
  }
  if (it->second != s.lru.begin()) s.lru.splice(s.lru.begin(), s.lru, it->second);
  BudgetEntry& e = *it->second;
  if (e.window < window) {
    e.window = window;
    e.used = e.shared = e.unflushed = 0;
    e.spent = false;
  }
  return &e;
}

}  // namespace detail

namespace {

using detail::BudgetEntry;
using detail::BudgetShard;
using detail::BudgetState;

int64_t window_ms(const config::TokenBudget& b) { return std::max<int64_t>(b.window.count(), 1); }

std::string hex_digest(std::string_view key) {
  const XXH128_hash_t h = XXH3_128bits(key.data(), key.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kHex[(h.high64 >> (4 * i)) & 0xf];
    out[31 - i] = kHex[(h.low64 >> (4 * i)) & 0xf];
  }
  return out;
}

// What this process counts for `e` in its window (no store answer yet).
uint64_t local_count(const BudgetEntry& e, bool shared) {
  return shared ? std::max(e.used, e.shared + e.unflushed) : e.used;
}

}  // namespace

std::shared_ptr<TokenBudgets> TokenBudgets::build(const std::vector<config::TokenBudget>& budgets, bool store,
                                                  const TokenBudgets* previous) {
  auto tb = std::make_shared<TokenBudgets>();
  const size_t n = std::min(budgets.size(), config::kMaxTokenBudgets);
  for (size_t i = 0; i < n; ++i) {
    const config::TokenBudget& cfg = budgets[i];
    std::shared_ptr<BudgetState> state;
    if (previous)
      for (const Budget& old : previous->budgets_)
        if (old.cfg.same_settings(cfg)) state = old.state;
    if (!state) state = std::make_shared<BudgetState>(cfg);
    tb->budgets_.push_back(Budget{cfg, cfg.shared && store, std::move(state)});
  }
  return tb;
}

void TokenBudgets::match(const RateLimitRequest& req, int64_t unix_ms, std::vector<BudgetHit>& hits) const {
  hits.clear();
  for (size_t i = 0; i < budgets_.size(); ++i) {
    const Budget& b = budgets_[i];
    const config::TokenBudget& cfg = b.cfg;
    if (!rate_limit_matches(cfg.match, req)) continue;
    std::string_view key;
    switch (cfg.key) {
      case config::BudgetKey::None: break;
      case config::BudgetKey::Principal: key = req.principal; break;
      case config::BudgetKey::Header:
        if (req.headers)
          if (const std::string* v = req.headers->get(cfg.header)) key = *v;
        break;
      case config::BudgetKey::ApiKey:
        if (req.headers) key = api_key(*req.headers);
        break;
      case config::BudgetKey::FairnessId:
        if (req.headers) key = fairness_id(*req.headers);
        break;
    }
    BudgetHit& hit = hits.emplace_back();
    hit.budget = static_cast<uint16_t>(i);
    hit.limit = cfg.limit;
    const int64_t wms = window_ms(cfg);
    hit.window = unix_ms / wms;
    hit.reset_seconds = static_cast<uint32_t>(std::max<int64_t>(((hit.window + 1) * wms - unix_ms + 999) / 1000, 1));
    // An empty value identifies no one: it is a missing key.
    if (key.empty() && cfg.key != config::BudgetKey::None) {
      if (cfg.missing_key == config::MissingKey::Skip) {
        hits.pop_back();
        continue;
      }
      if (cfg.missing_key == config::MissingKey::Deny) {
        hit.deny = true;
        continue;
      }
    }
    BudgetState& st = *b.state;
    hit.key_hash = XXH3_64bits_withSeed(key.data(), key.size(), st.seed);
    hit.shared = b.shared;
    if (b.shared) hit.digest = hex_digest(key);
    BudgetShard& s = st.shard(hit.key_hash);
    std::lock_guard lock(s.mu);
    if (const BudgetEntry* e = st.find(s, hit.key_hash, hit.window, /*create=*/false); e && e->window == hit.window) {
      hit.used = local_count(*e, b.shared);
      hit.known_spent = b.shared && e->spent;
    }
  }
}

void TokenBudgets::observe_shared(BudgetHit& hit, uint64_t count) const {
  hit.used = count;
  const Budget& b = budgets_[hit.budget];
  if (count == 0) return;  // nothing worth a table entry
  BudgetShard& s = b.state->shard(hit.key_hash);
  std::lock_guard lock(s.mu);
  BudgetEntry* e = b.state->find(s, hit.key_hash, hit.window, /*create=*/true);
  if (e->window != hit.window) return;
  e->shared = count;
  e->spent = count >= b.cfg.limit;
  if (e->digest.empty()) e->digest = hit.digest;
}

BudgetDecision TokenBudgets::decide(const std::vector<BudgetHit>& hits) const {
  BudgetDecision d;
  for (size_t i = 0; i < hits.size(); ++i) {
    const BudgetHit& h = hits[i];
    const config::TokenBudget& cfg = budgets_[h.budget].cfg;
    const uint64_t bit = uint64_t{1} << h.budget;
    if (h.allowed()) {
      d.allowed |= bit;
    } else if (!cfg.enforce) {
      d.shadow_refused |= bit;
    } else {
      d.refused |= bit;
      d.refused_by = static_cast<int>(i);
      d.headers_from = cfg.response_headers ? static_cast<int>(i) : -1;
      return d;
    }
    // Headers describe the enforcing budget closest to refusing (the IETF draft's choice).
    if (!cfg.enforce || !cfg.response_headers) continue;
    if (d.headers_from < 0 || h.remaining() < hits[d.headers_from].remaining() ||
        (h.remaining() == hits[d.headers_from].remaining() && h.limit < hits[d.headers_from].limit))
      d.headers_from = static_cast<int>(i);
  }
  return d;
}

uint64_t TokenBudgets::cost(size_t b, std::optional<uint64_t> input_tokens,
                            std::optional<uint64_t> output_tokens) const {
  const config::TokenBudget& cfg = budgets_[b].cfg;
  const uint64_t in = input_tokens.value_or(0), out = output_tokens.value_or(0);
  switch (cfg.cost) {
    case config::BudgetCost::InputTokens: return in;
    case config::BudgetCost::OutputTokens: return out;
    case config::BudgetCost::TotalTokens: return in + out;
    case config::BudgetCost::Weighted: {
      // Rounded up: a weighted request that used tokens never costs nothing.
      const double c = std::ceil(static_cast<double>(in) * cfg.input_weight + static_cast<double>(out) * cfg.output_weight);
      return c <= 0 ? 0 : c >= 1.8e19 ? UINT64_MAX : static_cast<uint64_t>(c);
    }
  }
  return 0;
}

int64_t TokenBudgets::charge(const BudgetHit& hit, uint64_t tokens, int64_t unix_ms, bool unflushed) const {
  const Budget& b = budgets_[hit.budget];
  const int64_t window = unix_ms / window_ms(b.cfg);
  if (hit.deny || tokens == 0) return window;
  BudgetShard& s = b.state->shard(hit.key_hash);
  std::lock_guard lock(s.mu);
  BudgetEntry* e = b.state->find(s, hit.key_hash, window, /*create=*/true);
  if (e->window != window) return window;  // the clock went back: that window is over here
  e->used += tokens;
  if (unflushed) e->unflushed += tokens;
  if (b.shared && e->digest.empty()) e->digest = hit.digest;
  return window;
}

void TokenBudgets::observe_charged(const BudgetHit& hit, int64_t window, uint64_t count) const {
  const Budget& b = budgets_[hit.budget];
  BudgetShard& s = b.state->shard(hit.key_hash);
  std::lock_guard lock(s.mu);
  BudgetEntry* e = b.state->find(s, hit.key_hash, window, /*create=*/false);
  if (!e || e->window != window) return;
  e->shared = std::max(e->shared, count);
  if (count >= b.cfg.limit) e->spent = true;
}

UnflushedCharge TokenBudgets::store_charge(const BudgetHit& hit, int64_t window, uint64_t tokens) const {
  const Budget& b = budgets_[hit.budget];
  return UnflushedCharge{b.state, b.cfg.name, hit.digest, hit.key_hash, window, b.cfg.window, tokens};
}

void TokenBudgets::add_unflushed(const UnflushedCharge& c) {
  BudgetShard& s = c.state->shard(c.key_hash);
  std::lock_guard lock(s.mu);
  BudgetEntry* e = c.state->find(s, c.key_hash, c.window, /*create=*/true);
  if (e->window != c.window) return;
  e->unflushed += c.tokens;
  if (e->digest.empty()) e->digest = c.digest;
}

std::vector<UnflushedCharge> TokenBudgets::take_unflushed(int64_t unix_ms) const {
  std::vector<UnflushedCharge> out;
  for (const Budget& b : budgets_) {
    if (!b.shared) continue;
    const int64_t window = unix_ms / window_ms(b.cfg);
    for (uint32_t i = 0; i < b.state->shard_count; ++i) {
      BudgetShard& s = b.state->shards[i];
      std::lock_guard lock(s.mu);
      for (BudgetEntry& e : s.lru) {
        if (e.unflushed == 0) continue;
        if (e.window == window)
          out.push_back(UnflushedCharge{b.state, b.cfg.name, e.digest, e.key_hash, e.window, b.cfg.window, e.unflushed});
        e.unflushed = 0;
      }
    }
  }
  return out;
}

size_t TokenBudgets::tracked_keys(size_t b) const {
  const BudgetState& st = *budgets_[b].state;
  size_t n = 0;
  for (uint32_t i = 0; i < st.shard_count; ++i) {
    std::lock_guard lock(st.shards[i].mu);
    n += st.shards[i].lru.size();
  }
  return n;
}

}  // namespace infergate::routing
