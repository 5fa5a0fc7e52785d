#pragma once
// Token budgets (config::TokenBudget): per key, the tokens charged in the current fixed window;
// a request is refused while its key's budget for the window is spent.
//
// Windows are fixed and aligned to the Unix epoch (window index = unix_ms / window_ms), so
// every replica agrees on them without talking, and a shared count is one key per window.
// A request is checked when it starts and charged when its response ends (the usage is only
// known then): requests already in flight when a budget becomes spent still finish and are
// charged, so a key can overshoot by what its in-flight requests cost (docs/FLOW_CONTROL.md, "Token budgets").
//
// Why a mutex-sharded map and not per-worker counters: the budget is exact across workers
// (a tenant's requests land on any worker), and a charge is one locked add per response,
// not per token. Each budget keeps at most max_keys keys (entries of windows that are over are
// dropped first: the table is kept in least-recently-used order, and an entry untouched since
// an older window is always less recent than one of the current window).
//
// Shared budgets (shared: true with a tokenBudgetStore) are counted in Redis too; this engine
// keeps what the gateway side needs for that (gateway/control/token_budget_store.h): the count
// last read from the store, the charges the store has not taken yet (made while it was
// unreachable, flushed when it is back), and whether the store said the window is spent (so
// that no round trip is made again until the window ends). Keys go to the store only as an
// xxh3-128 digest: API keys and other secrets never leave the process.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model/token_budget.h"
#include "routing/rate_limit_match.h"

namespace infergate::routing {

// The clock budget windows are counted on (fixed windows aligned to the Unix epoch): every
// replica agrees on them without talking to the others.
inline int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace detail {
struct BudgetState;
}

// One matching budget's part of a request, from check() until charge().
struct BudgetHit {
  uint16_t budget = 0;        // index into TokenBudgets
  bool deny = false;          // no key and missingKey: deny
  bool shared = false;        // counted in the store too
  bool known_spent = false;   // the store already said this window is spent: no need to ask
  uint64_t key_hash = 0;      // the local table's (seeded) hash of the key
  std::string digest;         // shared: xxh3-128 hex of the key, what the store's key names
  int64_t window = 0;         // window index when checked
  uint64_t used = 0;          // tokens counted against the limit when checked
  uint64_t limit = 0;
  uint32_t reset_seconds = 0; // until the window ends (at least 1)
  bool allowed() const { return !deny && used < limit; }
  uint64_t remaining() const { return deny || used >= limit ? 0 : limit - used; }
};

// What check() decided for the request as a whole.
struct BudgetDecision {
  int refused_by = -1;         // index into the hits of the enforcing budget that refuses; -1 = none
  int headers_from = -1;       // hit whose x-ratelimit-* the response carries (least remaining); -1 = none
  uint64_t allowed = 0, refused = 0, shadow_refused = 0;  // bit = budget index
};

// A charge the store has not taken yet (see take_unflushed()).
struct UnflushedCharge {
  std::shared_ptr<detail::BudgetState> state;
  std::string budget;  // name
  std::string digest;
  uint64_t key_hash = 0;
  int64_t window = 0;
  std::chrono::milliseconds window_length{0};
  uint64_t tokens = 0;
};

class TokenBudgets {
 public:
  // `previous`: the engine of the snapshot being replaced. A budget whose settings are
  // unchanged keeps its counts (a reload must not hand out a fresh budget). `store`: a
  // tokenBudgetStore is configured, so budgets with shared: true are shared through it.
  static std::shared_ptr<TokenBudgets> build(const std::vector<config::TokenBudget>& budgets, bool store,
                                             const TokenBudgets* previous);

  bool empty() const { return budgets_.empty(); }
  size_t size() const { return budgets_.size(); }
  const config::TokenBudget& budget(size_t i) const { return budgets_[i].cfg; }

  // The budgets `req` draws on at `unix_ms`, with what this process counts for each (for a
  // shared budget: the last count read from the store plus the charges it has not taken, or
  // this process' own charges when larger). Thread-safe. `hits` is cleared first.
  void match(const RateLimitRequest& req, int64_t unix_ms, std::vector<BudgetHit>& hits) const;
  // The store's count for a shared hit: that is what counts now; it is remembered for the
  // window (and whether it is spent).
  void observe_shared(BudgetHit& hit, uint64_t count) const;
  // Budgets are evaluated in order; the first enforcing one that is spent refuses.
  BudgetDecision decide(const std::vector<BudgetHit>& hits) const;

  // What a finished response costs for budget `b` (0 without usage).
  uint64_t cost(size_t b, std::optional<uint64_t> input_tokens, std::optional<uint64_t> output_tokens) const;
  // Adds `tokens` to the hit's key in the window current at `unix_ms` (a request that started in
  // the window before is charged to the one its response ended in). `unflushed`: the store did
  // not take it (shared budget while the store is unreachable). Returns the window charged.
  int64_t charge(const BudgetHit& hit, uint64_t tokens, int64_t unix_ms, bool unflushed) const;
  // The store answered a charge with the key's new count.
  void observe_charged(const BudgetHit& hit, int64_t window, uint64_t count) const;
  // A charge of `hit` in `window` as the store takes it (and as add_unflushed() keeps it).
  UnflushedCharge store_charge(const BudgetHit& hit, int64_t window, uint64_t tokens) const;
  // The store could not take a charge: keep it for the flush.
  static void add_unflushed(const UnflushedCharge& c);

  // Charges of the current windows the store has not taken, handed over (and cleared) for a
  // flush once it is reachable again. Charges of windows that are over are dropped: their keys
  // would expire at once.
  std::vector<UnflushedCharge> take_unflushed(int64_t unix_ms) const;

  // Keys budget b holds now (tests).
  size_t tracked_keys(size_t b) const;

 private:
  struct Budget {
    config::TokenBudget cfg;
    bool shared = false;
    std::shared_ptr<detail::BudgetState> state;
  };
  std::vector<Budget> budgets_;
};

}  // namespace infergate::routing
