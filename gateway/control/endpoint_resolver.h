// Static endpoints that name a host (a headless Service, say) behave as Envoy's STRICT_DNS
// clusters: each address the name resolves to is an endpoint of its own. This file holds the
// pure rules (which answer counts, how a config's endpoints expand, when to ask again);
// gateway/control/dns_discovery.h does the asking, on the control thread, with c-ares.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/model.h"

namespace infergate::gateway {

// True when `address` is an IPv4 or IPv6 literal: such an endpoint is never resolved.
bool is_ip_literal(const std::string& address);

// The addresses one answer yields under Envoy's dns_lookup_family: AUTO = the IPv6 ones when
// there are any, else the IPv4 ones; V4_PREFERRED the other way round; ALL = both; the *_ONLY
// families asked for one kind only. Sorted and unique, so two answers compare equal when they
// name the same set in another order.
std::vector<std::string> select_addresses(config::DnsLookupFamily family, std::vector<std::string> v4,
                                          std::vector<std::string> v6);

// How long until the name is asked again. respect_dns_ttl (Envoy): a positive TTL replaces
// refresh_rate, but never below Envoy's dns_min_refresh_rate (5 s), or refresh_rate when that
// is shorter; a TTL of 0 (a hosts file, dnsmasq's default local-ttl) keeps refresh_rate.
// After a failure the name is asked again after refresh_rate (Envoy's
// dns_failure_refresh_rate defaults to it).
std::chrono::milliseconds refresh_delay(const config::DnsConfig& dns, std::chrono::seconds ttl, bool failed);

// Name given to the endpoint for `address` of endpoint `name`: "NAME/ADDRESS". Stable for
// as long as the address stays in the answer, so the endpoint's runtime state (keyed by
// address:port with its name in pools::EndpointRegistry) survives re-resolution.
std::string expanded_name(const std::string& name, const std::string& address);

// Replaces every endpoint whose address is a host name by one endpoint per address in
// `resolved[endpoint name]` (labels and port kept), in the order the config lists them.
// An address:port another endpoint already has is left out (two names for one pod would be
// one endpoint counted twice). An endpoint missing from `resolved` is dropped.
std::vector<config::Endpoint> expand_endpoints(const std::vector<config::Endpoint>& endpoints,
                                               const std::map<std::string, std::vector<std::string>>& resolved);

}  // namespace infergate::gateway
