#pragma once
// GatewayConfig spec.tokenBudgets and spec.tokenBudgetStore: per-tenant limits counted in
// tokens, not requests (Envoy AI Gateway's llmRequestCosts charged by a rate-limit policy).
// A request is charged when its response ends, from the usage the model server reports; while
// a key's budget for the current window is spent, its requests are refused with 429.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/rate_limit_model.h"
#include "config/source_location.h"

namespace infergate::config {

// Whose budget a request draws on.
enum class BudgetKey : uint8_t {
  None,        // one budget for every matching request
  Header,      // the value of `header`
  Principal,   // the client certificate's SPIFFE principal
  ApiKey,      // the bearer token of Authorization, else x-api-key
  FairnessId,  // x-gateway-inference-fairness-id
};

// What a response costs (AI Gateway's InputToken / OutputToken / TotalToken, and a weighted
// sum of input and output as its CEL costs are mostly used for).
enum class BudgetCost : uint8_t { InputTokens, OutputTokens, TotalTokens, Weighted };

struct TokenBudget {
  std::string name;  // unique; counters are labelled by it
  SourceLocation source;
  RateLimitMatch match;  // which requests draw on it (local rate limits' match)
  BudgetKey key = BudgetKey::None;
  std::string header;  // lower-case; set iff key == Header
  MissingKey missing_key = MissingKey::Skip;
  BudgetCost cost = BudgetCost::TotalTokens;
  double input_weight = 1, output_weight = 1;  // cost Weighted
  std::chrono::milliseconds window{60000};     // fixed windows, aligned to the Unix epoch
  uint64_t limit = 0;                          // tokens per key per window (>= 1)
  uint32_t max_keys = 10000;                   // keys counted in this process at once
  bool response_headers = true;                // x-ratelimit-limit / -remaining / -reset in tokens
  bool enforce = true;                         // false = shadow: count, never refuse
  bool shared = true;                          // through tokenBudgetStore when there is one

  bool same_settings(const TokenBudget& o) const {
    return name == o.name && match == o.match && key == o.key && header == o.header &&
           missing_key == o.missing_key && cost == o.cost && input_weight == o.input_weight &&
           output_weight == o.output_weight && window == o.window && limit == o.limit && max_keys == o.max_keys &&
           response_headers == o.response_headers && enforce == o.enforce && shared == o.shared;
  }
};

inline constexpr size_t kMaxTokenBudgets = 64;

// Where budgets shared across replicas are counted: a Redis server.
struct TokenBudgetStore {
  std::string redis_address;  // "host:port"; "" = every budget is counted in this process only
  std::string redis_host;     // redis_address split: an IP address or a DNS name
  uint16_t redis_port = 0;
  std::string key_prefix = "infergate:budget:";
  std::chrono::milliseconds timeout{200};  // per command; past it the store counts as down
  // Redis down: FailOpen serves on this process' own count (and logs and counts it);
  // FailClose refuses the requests of shared budgets with 503.
  bool fail_open = true;
  SourceLocation source;
  bool operator==(const TokenBudgetStore& o) const {
    return redis_address == o.redis_address && key_prefix == o.key_prefix && timeout == o.timeout &&
           fail_open == o.fail_open;
  }
};

}  // namespace infergate::config
