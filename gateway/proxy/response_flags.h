// Envoy response flags (%RESPONSE_FLAGS% in the access log): why a request did not
// end as a plain proxied response.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>

namespace infergate::gateway {

enum class ResponseFlag : uint32_t {
  None = 0,
  NoRouteFound = 1u << 0,              // NR
  NoHealthyUpstream = 1u << 1,         // UH
  UpstreamConnectionFailure = 1u << 2, // UF
  UpstreamRequestTimeout = 1u << 3,    // UT
  UpstreamConnectionTermination = 1u << 4,  // UC
  DownstreamConnectionTermination = 1u << 5,  // DC
  UpstreamRemoteReset = 1u << 6,       // UR
  LocalReset = 1u << 7,                // LR
  UpstreamOverflow = 1u << 8,          // UO
  UpstreamRetryLimitExceeded = 1u << 9,  // URX
  NoClusterFound = 1u << 10,           // NC
  UpstreamProtocolError = 1u << 11,    // UPE
  DownstreamProtocolError = 1u << 12,  // DPE
  StreamIdleTimeout = 1u << 13,        // SI
  DelayInjected = 1u << 14,            // DI: a fault delayed the request
  FaultInjected = 1u << 15,            // FI: a fault aborted the request
  RateLimited = 1u << 16,              // RL: refused by a limit (the picker shed it: every server saturated)
  QueueTimeout = 1u << 17,             // QT (infergate's): waited its flow-control band's TTL in the gateway
  RateLimitServiceError = 1u << 18,    // RLSE: refused because the limit's shared store could not be asked
};

struct ResponseFlagName {
  ResponseFlag flag;
  const char* name;
};

// Every flag with its short name, in the order Envoy prints them.
inline constexpr ResponseFlagName kResponseFlagNames[] = {
    {ResponseFlag::UpstreamRequestTimeout, "UT"},
    {ResponseFlag::UpstreamConnectionFailure, "UF"},
    {ResponseFlag::UpstreamConnectionTermination, "UC"},
    {ResponseFlag::UpstreamOverflow, "UO"},
    {ResponseFlag::NoRouteFound, "NR"},
    {ResponseFlag::DelayInjected, "DI"},
    {ResponseFlag::FaultInjected, "FI"},
    {ResponseFlag::NoHealthyUpstream, "UH"},
    {ResponseFlag::DownstreamConnectionTermination, "DC"},
    {ResponseFlag::UpstreamRemoteReset, "UR"},
    {ResponseFlag::LocalReset, "LR"},
    {ResponseFlag::UpstreamRetryLimitExceeded, "URX"},
    {ResponseFlag::NoClusterFound, "NC"},
    {ResponseFlag::UpstreamProtocolError, "UPE"},
    {ResponseFlag::DownstreamProtocolError, "DPE"},
    {ResponseFlag::StreamIdleTimeout, "SI"},
    {ResponseFlag::RateLimited, "RL"},
    {ResponseFlag::QueueTimeout, "QT"},
    {ResponseFlag::RateLimitServiceError, "RLSE"},
};
inline constexpr size_t kResponseFlagCount = std::size(kResponseFlagNames);

class ResponseFlags {
 public:
  void set(ResponseFlag f) { bits_ |= static_cast<uint32_t>(f); }
  bool has(ResponseFlag f) const { return bits_ & static_cast<uint32_t>(f); }
  bool empty() const { return bits_ == 0; }
  // Envoy's short form, comma-separated in Envoy's order; "-" when none.
  std::string to_string() const;

 private:
  uint32_t bits_ = 0;
};

inline std::string ResponseFlags::to_string() const {
  if (bits_ == 0) return "-";
  std::string out;
  for (const auto& n : kResponseFlagNames) {
    if (!has(n.flag)) continue;
    if (!out.empty()) out.push_back(',');
    out.append(n.name);
  }
  return out;
}

}  // namespace infergate::gateway
