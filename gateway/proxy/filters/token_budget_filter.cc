#include "gateway/proxy/filters/token_budget_filter.h"

#include "gateway/control/snapshot.h"
#include "gateway/proxy/rate_limit_request.h"
#include "gateway/proxy/route_match.h"
#include "gateway/proxy/stream_state.h"
#include "metrics/token_usage.h"

namespace infergate::gateway {

FilterStatus TokenBudgetFilter::decode_headers(bool) {
  const TokenBudgetRuntime& rt = stream_.snapshot().token_budgets;
  if (!rt.engine || rt.engine->empty()) return FilterStatus::Continue;
  // Budgets select by route: without one the route_reply filter has answered 404.
  const routing::Route* route = match_route(stream_);
  if (!route) return FilterStatus::Continue;
  rt.engine->match(rate_limit_request(stream_, *route), routing::unix_now_ms(), hits_);
  if (hits_.empty()) return FilterStatus::Continue;
  stream_.state().wants_usage = true;
  for (size_t i = 0; i < hits_.size(); ++i)
    if (hits_[i].shared && !hits_[i].deny && !hits_[i].known_spent) asked_.push_back(i);
  if (asked_.empty()) return decide();
  if (!rt.store->available()) {
    store_failed_ = true;
    return decide();
  }
  // The answer comes on the store's thread; the poster drops it if the stream is gone.
  rt.store->read(hits_, *rt.engine, asked_,
                 [post = stream_.poster(), this](std::optional<std::vector<uint64_t>> counts) {
                   post([this, counts = std::move(counts)]() mutable { on_counts(std::move(counts)); });
                 });
  return FilterStatus::StopIteration;
}

void TokenBudgetFilter::on_counts(std::optional<std::vector<uint64_t>> counts) {
  const TokenBudgetRuntime& rt = stream_.snapshot().token_budgets;
  if (counts) {
    for (size_t j = 0; j < asked_.size(); ++j) rt.engine->observe_shared(hits_[asked_[j]], (*counts)[j]);
  } else {
    store_failed_ = true;  // hits_ keep this process' counts
  }
  if (decide() == FilterStatus::Continue) stream_.continue_decoding();
}

FilterStatus TokenBudgetFilter::decide() {
  const Snapshot& snap = stream_.snapshot();
  const TokenBudgetRuntime& rt = snap.token_budgets;
  const routing::TokenBudgets& engine = *rt.engine;
  if (store_failed_) {
    rt.store->count_fallback();
    if (!rt.store->fail_open()) {
      for (size_t i : asked_) {
        if (!engine.budget(hits_[i].budget).enforce) continue;
        stream_.send_local_reply(503, "token_budget_store_unavailable", ResponseFlag::RateLimitServiceError);
        return FilterStatus::StopIteration;
      }
    }
  }
  const routing::BudgetDecision d = engine.decide(hits_);
  for (const routing::BudgetHit& h : hits_) {
    const uint64_t bit = uint64_t{1} << h.budget;
    const TokenBudgetStats& s = rt.stats[h.budget];
    if (d.allowed & bit) s[0].inc();
    if (d.refused & bit) s[1].inc();
    if (d.shadow_refused & bit) s[2].inc();
  }
  if (d.headers_from >= 0) {
    const routing::BudgetHit& h = hits_[d.headers_from];
    add_rate_limit_headers(headers_, h.limit, h.remaining(), h.reset_seconds);
  }
  if (d.refused_by < 0) {
    allowed_ = true;
    return FilterStatus::Continue;
  }
  std::string body = "token_budget_exhausted: ";
  body.append(engine.budget(hits_[d.refused_by].budget).name);
  send_rate_limited(stream_, body, headers_);
  return FilterStatus::StopIteration;
}

FilterStatus TokenBudgetFilter::encode_headers(ResponseHead& head, bool) {
  for (const auto& h : headers_) head.headers.set(h.name, h.value);
  return FilterStatus::Continue;
}

void TokenBudgetFilter::on_stream_end() {
  // Called again by the stream's destructor: charge once.
  if (charged_ || !allowed_) return;
  charged_ = true;
  const TokenBudgetRuntime& rt = stream_.snapshot().token_budgets;
  const metrics::TokenUsageReader* usage = stream_.state().usage;
  std::optional<uint64_t> input, output;
  if (usage) {
    input = usage->prompt_tokens();
    output = usage->completion_tokens();
  }
  const bool no_usage = !input && !output;
  const int64_t now = routing::unix_now_ms();
  const bool store_up = rt.store && rt.store->available();
  for (const routing::BudgetHit& h : hits_) {
    const TokenBudgetStats& s = rt.stats[h.budget];
    if (no_usage) s[4].inc();
    const uint64_t cost = rt.engine->cost(h.budget, input, output);
    if (cost == 0 || h.deny) continue;
    s[3].inc(cost);
    const bool to_store = h.shared && store_up;
    const int64_t window = rt.engine->charge(h, cost, now, /*unflushed=*/h.shared && !store_up);
    if (to_store) rt.store->charge(rt.engine, h, window, cost);
  }
}

}  // namespace infergate::gateway
