#include "gateway/control/token_budget_store.h"

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>

namespace infergate::gateway {

namespace {

// INCRBY, then an expiry at the window's end when the key has none (the first charge of the
// window, or a key left without one): one script, so no replica ever sees a key that would
// live forever. Returns the new count.
constexpr std::string_view kChargeScript =
    "local n = redis.call('INCRBY', KEYS[1], ARGV[1])\n"
    "if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end\n"
    "return n\n";
// Replicas' clocks differ a little: a key outlives its window by this much, so a replica
// whose clock is behind still finds it.
constexpr int64_t kExpiryGraceMs = 10000;

// A count as MGET returns it: nil (no charge yet) or the decimal string INCRBY left.
std::optional<uint64_t> parse_count(const RedisReply& r) {
  if (r.kind == RedisReply::Kind::Nil) return 0;
  if (r.kind == RedisReply::Kind::Integer) return r.integer < 0 ? std::nullopt : std::optional<uint64_t>(r.integer);
  if (r.kind != RedisReply::Kind::String) return std::nullopt;
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
  if (ec != std::errc() || end != r.str.data() + r.str.size() || v < 0) return std::nullopt;
  return static_cast<uint64_t>(v);
}

std::string_view kind_name(RedisReply::Kind k) {
  switch (k) {
    case RedisReply::Kind::Failed: return "no reply";
    case RedisReply::Kind::Nil: return "nil";
    case RedisReply::Kind::Integer: return "an integer";
    case RedisReply::Kind::String: return "a string";
    case RedisReply::Kind::Status: return "a status";
    case RedisReply::Kind::Error: return "an error";
    case RedisReply::Kind::Array: return "an array";
  }
  return "?";
}

constexpr std::array<std::string_view, 5> kErrorReasons = {"connect", "disconnected", "protocol", "timeout", "reply"};

metrics::Counter redis_errors(metrics::Registry& m, std::string_view reason) {
  std::string envoy = "token_budget.redis.errors.";
  envoy.append(reason);
  return m.counter("infergate_token_budget_redis_errors_total",
                   "Token budget store (Redis) failures: connect, disconnected, protocol, timeout, reply",
                   {{"reason", std::string(reason)}}, envoy);
}

}  // namespace

std::shared_ptr<TokenBudgetStore> TokenBudgetStore::create(const config::TokenBudgetStore& cfg,
                                                           metrics::Registry& metrics) {
  std::shared_ptr<TokenBudgetStore> store(new TokenBudgetStore(cfg, metrics));
  std::weak_ptr<TokenBudgetStore> weak = store;
  RedisClient::Events events;
  events.up = [weak] {
    if (auto s = weak.lock()) s->on_up();
  };
  events.down = [weak](std::string_view kind, const std::string& why) {
    if (auto s = weak.lock()) s->on_down(kind, why);
  };
  store->client_ = std::make_unique<RedisClient>(RedisClient::Options{cfg.redis_host, cfg.redis_port, cfg.timeout},
                                                 std::move(events));
  return store;
}

TokenBudgetStore::TokenBudgetStore(const config::TokenBudgetStore& cfg, metrics::Registry& metrics)
    : cfg_(cfg),
      up_(metrics.gauge("infergate_token_budget_redis_up", "1 while the token budget store (Redis) is connected", {},
                        "token_budget.redis.up")),
      fallbacks_(metrics.counter("infergate_token_budget_store_fallbacks_total",
                                 "Requests of shared token budgets decided without the store (Redis unavailable)",
                                 {{"failure_mode", cfg.fail_open ? "FailOpen" : "FailClose"}},
                                 cfg.fail_open ? "token_budget.store_fallback.fail_open"
                                               : "token_budget.store_fallback.fail_close")) {
  // Every reason exists from the start: a rate of a series that appears with its first
  // increment misses that increment.
  for (size_t i = 0; i < kErrorReasons.size(); ++i) errors_[i] = redis_errors(metrics, kErrorReasons[i]);
}

void TokenBudgetStore::count_error(std::string_view reason) const {
  for (size_t i = 0; i < kErrorReasons.size(); ++i)
    if (kErrorReasons[i] == reason) errors_[i].inc();
}

void TokenBudgetStore::set_engine(const std::shared_ptr<const routing::TokenBudgets>& engine) {
  std::lock_guard lock(mu_);
  engine_ = engine;
}

std::string TokenBudgetStore::key(std::string_view budget, std::string_view digest, int64_t window) const {
  std::string k = cfg_.key_prefix;
  k.append(budget).append(":").append(digest).append(":").append(std::to_string(window));
  return k;
}

void TokenBudgetStore::on_up() {
  up_.set(1);
  reply_logged_ = false;
  std::shared_ptr<const routing::TokenBudgets> engine;
  {
    std::lock_guard lock(mu_);
    engine = engine_.lock();
  }
  std::vector<routing::UnflushedCharge> charges;
  if (engine) charges = engine->take_unflushed(routing::unix_now_ms());
  uint64_t tokens = 0;
  for (const auto& c : charges) tokens += c.tokens;
  if (outage_ || !charges.empty())
    spdlog::info("token budget store: Redis at {} is reachable; flushing {} charge(s) ({} tokens) made without it",
                 cfg_.redis_address, charges.size(), tokens);
  outage_ = false;
  for (auto& c : charges) send_charge(std::move(c), nullptr);
}

void TokenBudgetStore::on_down(std::string_view kind, const std::string& why) {
  up_.set(0);
  count_error(kind);
  if (outage_) return;
  outage_ = true;
  spdlog::warn("token budget store: Redis at {} is unavailable ({}: {}); {} until it is back", cfg_.redis_address,
               kind, why,
               cfg_.fail_open ? "shared budgets are counted in this process only (failureMode FailOpen)"
                              : "requests of shared budgets are refused with 503 (failureMode FailClose)");
}

void TokenBudgetStore::bad_reply(std::string_view what, const RedisReply& r) {
  if (r.kind == RedisReply::Kind::Failed) return;  // the connection's failure: counted by on_down
  count_error("reply");
  if (reply_logged_) return;
  reply_logged_ = true;
  spdlog::warn("token budget store: Redis at {} answered {} with {}{}{}; deciding without it ({})",
               cfg_.redis_address, what, kind_name(r.kind), r.str.empty() ? "" : ": ", r.str.substr(0, 200),
               cfg_.fail_open ? "FailOpen" : "FailClose");
}

void TokenBudgetStore::read(const std::vector<routing::BudgetHit>& hits, const routing::TokenBudgets& engine,
                            const std::vector<size_t>& asked,
                            std::function<void(std::optional<std::vector<uint64_t>>)> done) {
  std::vector<std::string> argv;
  argv.reserve(asked.size() + 1);
  argv.emplace_back("MGET");
  for (size_t i : asked) argv.push_back(key(engine.budget(hits[i].budget).name, hits[i].digest, hits[i].window));
  const size_t n = asked.size();
  client_->command(std::move(argv), [weak = weak_from_this(), n, done = std::move(done)](RedisReply r) {
    std::optional<std::vector<uint64_t>> counts;
    if (r.kind == RedisReply::Kind::Array && r.elements.size() == n) {
      counts.emplace();
      for (const RedisReply& e : r.elements) {
        auto c = parse_count(e);
        if (!c) {
          counts.reset();
          break;
        }
        counts->push_back(*c);
      }
    }
    if (!counts)
      if (auto s = weak.lock()) s->bad_reply("MGET", r);
    done(std::move(counts));
  });
}

void TokenBudgetStore::charge(std::shared_ptr<const routing::TokenBudgets> engine, const routing::BudgetHit& hit,
                              int64_t window, uint64_t tokens) {
  routing::UnflushedCharge c = engine->store_charge(hit, window, tokens);
  send_charge(std::move(c), [engine = std::move(engine), hit, window](uint64_t count) {
    engine->observe_charged(hit, window, count);
  });
}

void TokenBudgetStore::send_charge(routing::UnflushedCharge c, std::function<void(uint64_t)> ok) {
  const int64_t expire_at = (c.window + 1) * c.window_length.count() + kExpiryGraceMs;
  std::vector<std::string> argv{"EVAL", std::string(kChargeScript), "1", key(c.budget, c.digest, c.window),
                                std::to_string(c.tokens), std::to_string(expire_at)};
  client_->command(std::move(argv), [weak = weak_from_this(), c = std::move(c), ok = std::move(ok)](RedisReply r) {
    if (r.kind == RedisReply::Kind::Integer && r.integer >= 0) {
      if (ok) ok(static_cast<uint64_t>(r.integer));
      return;
    }
    if (auto s = weak.lock()) s->bad_reply("a charge", r);
    // Kept for the flush when Redis is back (a charge whose connection broke after Redis
    // applied it may so be counted twice: at least once, never lost).
    routing::TokenBudgets::add_unflushed(c);
  });
}

TokenBudgetRuntime build_token_budget_runtime(const config::GatewayConfig& gc, metrics::Registry& metrics,
                                              const TokenBudgetRuntime* previous) {
  TokenBudgetRuntime rt;
  const config::TokenBudgetStore& sc = gc.token_budget_store;
  if (!sc.redis_address.empty()) {
    if (previous && previous->store && previous->store->config() == sc) rt.store = previous->store;
    else rt.store = TokenBudgetStore::create(sc, metrics);
  }
  rt.engine = routing::TokenBudgets::build(gc.token_budgets, rt.store != nullptr,
                                           previous ? previous->engine.get() : nullptr);
  if (rt.store) rt.store->set_engine(rt.engine);
  for (size_t i = 0; i < rt.engine->size(); ++i) {
    const std::string& name = rt.engine->budget(i).name;
    const std::string envoy = "token_budget." + name + ".";
    auto requests = [&](const char* outcome) {
      return metrics.counter("infergate_token_budget_requests_total", "Requests a token budget decided, by outcome",
                             {{"budget", name}, {"outcome", outcome}}, envoy + outcome);
    };
    rt.stats.push_back(
        {requests("allowed"), requests("refused"), requests("shadow_refused"),
         metrics.counter("infergate_token_budget_tokens_charged_total", "Tokens charged to a token budget",
                         {{"budget", name}}, envoy + "tokens_charged"),
         metrics.counter("infergate_token_budget_responses_without_usage_total",
                         "Responses charged 0 because they reported no token usage", {{"budget", name}},
                         envoy + "without_usage")});
  }
  return rt;
}

}  // namespace infergate::gateway
