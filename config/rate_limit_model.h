#pragma once
// Local rate limits and connection limits (GatewayConfig spec.localRateLimits,
// spec.connectionLimits), validated (see model.h for the conventions).
//
// A local rate limit is Envoy's local_ratelimit token bucket with a request match and an
// optional key in front: one bucket for the whole policy, or one per principal / source IP /
// header value (at most max_keys of them, so memory stays bounded whatever clients send).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/source_location.h"

namespace infergate::config {

// Every given field must match; an empty match covers every request.
struct RateLimitMatch {
  // "<ns>/<name>" of an HTTPRoute or VirtualService (any of its rules), or a full route name
  // "<ns>/<name>/rule0" (a VirtualService's ".<match name>" suffix may be left out).
  std::vector<std::string> routes;
  std::vector<std::string> hosts;  // lower-case, exact or "*.suffix"; :authority without port
  std::string path_prefix;         // plain string prefix of the path without query ("" = any)
  std::vector<std::string> methods;

  bool operator==(const RateLimitMatch&) const = default;
};

// Envoy's token_bucket: starts full, gets tokens_per_fill every fill_interval, never more
// than max_tokens.
struct TokenBucketSpec {
  uint32_t max_tokens = 1;
  uint32_t tokens_per_fill = 1;  // Envoy's default
  std::chrono::milliseconds fill_interval{1000};

  bool operator==(const TokenBucketSpec&) const = default;
};

enum class RateLimitKey { None, Principal, SourceIp, Header };

// What a keyed policy does with a request that has no key (no header, no principal).
enum class MissingKey {
  Skip,   // not limited by this policy (the default)
  Share,  // all such requests share the bucket of ""
  Deny,   // refused (counted as rate limited)
};

struct LocalRateLimit {
  std::string name;  // unique; counters are labelled by it
  SourceLocation source;
  RateLimitMatch match;
  RateLimitKey key = RateLimitKey::None;
  std::string header;  // lower-case; set iff key == Header
  MissingKey missing_key = MissingKey::Skip;
  TokenBucketSpec token_bucket;
  uint32_t max_keys = 10000;  // distinct keys tracked (keyed policies only)
  bool response_headers = true;  // x-ratelimit-limit / -remaining / -reset
  bool enforce = true;           // false = shadow: count, never refuse

  // Everything but `source`. A reload keeps a policy's buckets only when its name and these
  // are unchanged, so editing an unrelated resource never hands clients a fresh burst.
  bool same_settings(const LocalRateLimit& o) const {
    return name == o.name && match == o.match && key == o.key && header == o.header &&
           missing_key == o.missing_key && token_bucket == o.token_bucket && max_keys == o.max_keys &&
           response_headers == o.response_headers && enforce == o.enforce;
  }
};

// Most local rate limits one GatewayConfig may declare: the runtime reports which policies a
// request matched as a 64-bit mask, so counting them never allocates.
inline constexpr size_t kMaxLocalRateLimits = 64;

struct ConnectionLimits {
  uint32_t per_listener = 0;    // 0 = unlimited
  uint32_t per_source_ip = 0;   // 0 = unlimited
};

}  // namespace infergate::config
