#include "gateway/control/endpoint_resolver.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <utility>

namespace infergate::gateway {

bool is_ip_literal(const std::string& address) {
  unsigned char buf[16];
  return inet_pton(AF_INET, address.c_str(), buf) == 1 || inet_pton(AF_INET6, address.c_str(), buf) == 1;
}

namespace {

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

std::vector<std::string> select_addresses(config::DnsLookupFamily family, std::vector<std::string> v4,
                                          std::vector<std::string> v6) {
  using F = config::DnsLookupFamily;
  switch (family) {
    case F::V4Only: return sorted_unique(std::move(v4));
    case F::V6Only: return sorted_unique(std::move(v6));
    case F::V4Preferred: return sorted_unique(v4.empty() ? std::move(v6) : std::move(v4));
    case F::Auto: return sorted_unique(v6.empty() ? std::move(v4) : std::move(v6));
    case F::All: {
      std::vector<std::string> both = sorted_unique(std::move(v4));
      for (auto& a : sorted_unique(std::move(v6))) both.push_back(std::move(a));
      return both;
    }
  }
  return {};
}

std::chrono::milliseconds refresh_delay(const config::DnsConfig& dns, std::chrono::seconds ttl, bool failed) {
  if (failed || !dns.respect_dns_ttl || ttl.count() <= 0) return dns.refresh_rate;
  const std::chrono::milliseconds floor = std::min<std::chrono::milliseconds>(dns.refresh_rate, std::chrono::seconds(5));
  return std::max<std::chrono::milliseconds>(ttl, floor);
}

std::string expanded_name(const std::string& name, const std::string& address) { return name + "/" + address; }

std::vector<config::Endpoint> expand_endpoints(const std::vector<config::Endpoint>& endpoints,
                                               const std::map<std::string, std::vector<std::string>>& resolved) {
  std::vector<config::Endpoint> out;
  std::set<std::pair<std::string, int>> taken;  // address, port (-1: the selecting pool's)
  auto key = [](const std::string& address, const config::Endpoint& ep) {
    return std::make_pair(address, ep.port ? int{*ep.port} : -1);
  };
  // IP literals first claim their address:port: validation already keeps them unique.
  for (const auto& ep : endpoints)
    if (is_ip_literal(ep.address)) taken.insert(key(ep.address, ep));
  for (const auto& ep : endpoints) {
    if (is_ip_literal(ep.address)) {
      out.push_back(ep);
      continue;
    }
    auto it = resolved.find(ep.name);
    if (it == resolved.end()) continue;
    for (const auto& address : it->second) {
      if (!taken.insert(key(address, ep)).second) continue;
      config::Endpoint e = ep;
      e.name = expanded_name(ep.name, address);
      e.address = address;
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace infergate::gateway
