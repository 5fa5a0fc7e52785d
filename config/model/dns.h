#pragma once
// GatewayConfig spec.dns: how static endpoints that name a host are resolved. They behave as
// Envoy's STRICT_DNS clusters: every address the name resolves to is an endpoint, and the
// name is resolved again every refresh. Field names and defaults are Envoy's Cluster ones.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace infergate::config {

// Envoy's Cluster.dns_lookup_family: AUTO prefers IPv6 and falls back to IPv4, V4_PREFERRED
// the other way round, ALL keeps both.
enum class DnsLookupFamily : uint8_t { Auto, V4Only, V6Only, V4Preferred, All };

struct DnsConfig {
  // Name servers as "ip:port" ("[ip6]:port"; the port may be left out: 53). Empty = the
  // system's (/etc/resolv.conf, as c-ares reads it).
  std::vector<std::string> resolvers;
  std::chrono::milliseconds refresh_rate{5000};  // Envoy dns_refresh_rate
  // Envoy respect_dns_ttl: a positive record TTL replaces refresh_rate (floored, see
  // gateway/control/endpoint_resolver.h).
  bool respect_dns_ttl = false;
  DnsLookupFamily lookup_family = DnsLookupFamily::Auto;  // Envoy's default
  bool operator==(const DnsConfig&) const = default;
};

}  // namespace infergate::config
