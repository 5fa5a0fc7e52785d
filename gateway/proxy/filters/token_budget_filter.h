// Token budgets (GatewayConfig spec.tokenBudgets): a request is refused with 429 while a
// budget it draws on is spent for the current window, and its response is charged what the
// model server reports it cost (usage) when the stream ends. The response carries
// x-ratelimit-limit / -remaining / -reset in tokens (IETF draft-polli-ratelimit-headers-03,
// as the local rate limit writes them) for the enforcing budget with the fewest tokens left.
//
// Shared budgets are read from the Redis store first (the chain waits for the answer, bounded
// by the store's timeout); the answer comes back on the store's thread and is posted to the
// stream's. Without the store: this process' counts (FailOpen) or 503 (FailClose).
#pragma once

#include <memory>
#include <vector>

#include "gateway/proxy/filter.h"
#include "routing/http_message.h"
#include "routing/token_budget.h"

namespace infergate::gateway {

class TokenBudgetFilter final : public StreamFilter {
 public:
  explicit TokenBudgetFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool end_stream) override;
  FilterStatus encode_headers(ResponseHead& head, bool end_stream) override;
  void on_stream_end() override;

 private:
  void on_counts(std::optional<std::vector<uint64_t>> counts);
  // Decides on hits_ (and whether the store answered); Continue or answered.
  FilterStatus decide();

  FilterCallbacks& stream_;
  std::vector<routing::BudgetHit> hits_;  // the budgets the request draws on
  std::vector<size_t> asked_;             // hits_ read from the store
  bool store_failed_ = false;             // shared hits were decided without the store
  bool allowed_ = false;                  // went on upstream: charge at the end
  bool charged_ = false;
  HeaderMap headers_;                     // x-ratelimit-* for the response (empty = none)
};

}  // namespace infergate::gateway
