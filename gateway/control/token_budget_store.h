// Token budgets at run time: the engine (routing/token_budget.h) shared by all workers, its
// counters, and the Redis store that shares budgets across replicas.
//
// The store talks to Redis through RedisClient (one thread, never a worker). At request start
// the filter reads the shared counts (one MGET for every shared budget the request draws on)
// unless the engine already knows the window is spent; at response end each charge is one
// atomic Lua script: INCRBY the key, and give it an expiry at its window's end (plus a grace
// period for replicas whose clocks differ) when it has none, so keys go away with their window.
//
// When Redis cannot be used (down, wrong address, timeout, a reply that is not what the script
// returns) a request is decided on this process' own counts (FailOpen, the default) or refused
// with 503 (FailClose), and charges are kept; once the connection is back, the charges of the
// current windows are flushed to Redis. A line is logged when an outage starts and when it
// ends, not per request; each failure is counted in infergate_token_budget_redis_errors_total.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/model/infergate.h"
#include "gateway/control/redis_client.h"
#include "metrics/registry.h"
#include "routing/token_budget.h"

namespace infergate::gateway {

class TokenBudgetStore : public std::enable_shared_from_this<TokenBudgetStore> {
 public:
  // Starts connecting. The client's callbacks hold the store weakly: whichever thread drops
  // the last snapshot using it, nothing waits.
  static std::shared_ptr<TokenBudgetStore> create(const config::TokenBudgetStore& cfg, metrics::Registry& metrics);
  TokenBudgetStore(const TokenBudgetStore&) = delete;
  TokenBudgetStore& operator=(const TokenBudgetStore&) = delete;

  const config::TokenBudgetStore& config() const { return cfg_; }
  bool fail_open() const { return cfg_.fail_open; }
  // Worth asking now (connected, or connecting); false while waiting to reconnect.
  bool available() const { return client_->available(); }
  // The engine whose unflushed charges are flushed when Redis is back (the newest snapshot's).
  void set_engine(const std::shared_ptr<const routing::TokenBudgets>& engine);

  // The shared counts of hits[i] for each i of `asked`; `done` runs on the store's thread with
  // them, in that order, or with nullopt when Redis could not answer.
  void read(const std::vector<routing::BudgetHit>& hits, const routing::TokenBudgets& engine,
            const std::vector<size_t>& asked, std::function<void(std::optional<std::vector<uint64_t>>)> done);
  // Adds `tokens` to the shared count of `hit` in `window` (already charged to the engine). A
  // failure keeps them in the engine for the flush.
  void charge(std::shared_ptr<const routing::TokenBudgets> engine, const routing::BudgetHit& hit, int64_t window,
              uint64_t tokens);
  // A request decided without the store (Redis unavailable).
  void count_fallback() const { fallbacks_.inc(); }

  // "<prefix><budget>:<digest>:<window index>"
  std::string key(std::string_view budget, std::string_view digest, int64_t window) const;

 private:
  TokenBudgetStore(const config::TokenBudgetStore& cfg, metrics::Registry& metrics);
  void on_up();
  void on_down(std::string_view kind, const std::string& why);
  void bad_reply(std::string_view what, const RedisReply& r);
  void count_error(std::string_view reason) const;
  void send_charge(routing::UnflushedCharge c, std::function<void(uint64_t count)> ok);

  const config::TokenBudgetStore cfg_;
  metrics::Gauge up_;
  metrics::Counter fallbacks_;
  std::array<metrics::Counter, 5> errors_;  // by kErrorReasons
  // The store's thread only:
  bool outage_ = false;      // an outage was logged and has not ended
  bool reply_logged_ = false;
  std::mutex mu_;            // engine_: snapshots are built on the control thread
  std::weak_ptr<const routing::TokenBudgets> engine_;
  std::unique_ptr<RedisClient> client_;
};

// Per budget: [allowed, refused, shadow_refused, tokens_charged, without_usage].
using TokenBudgetStats = std::array<metrics::Counter, 5>;

// What a snapshot holds for token budgets.
struct TokenBudgetRuntime {
  std::shared_ptr<routing::TokenBudgets> engine;  // never null once built
  std::shared_ptr<TokenBudgetStore> store;        // null without spec.tokenBudgetStore
  std::vector<TokenBudgetStats> stats;            // parallel to the engine's budgets
};

// Counts of unchanged budgets are carried over from `previous`, and so is the store (its
// connection) while spec.tokenBudgetStore is unchanged.
TokenBudgetRuntime build_token_budget_runtime(const config::GatewayConfig& gc, metrics::Registry& metrics,
                                              const TokenBudgetRuntime* previous);

}  // namespace infergate::gateway
