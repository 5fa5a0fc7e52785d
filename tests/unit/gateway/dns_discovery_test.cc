// DNS discovery's rules without a DNS server: which addresses an answer yields per lookup
// family, when a name is asked again, how an endpoint that names a host expands into one
// endpoint per address; and, through c-ares on a real io_context, that a name which cannot be
// resolved is a configuration error naming the endpoint's field.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <fstream>
#include <sstream>

#include "gateway/control/dns_discovery.h"
#include "gateway/control/endpoint_resolver.h"

namespace infergate::gateway {
namespace {

using config::DnsLookupFamily;
using std::chrono::milliseconds;
using std::chrono::seconds;
using V = std::vector<std::string>;

TEST(DnsRules, IpLiteralsAreNotResolved) {
  EXPECT_TRUE(is_ip_literal("10.0.0.3"));
  EXPECT_TRUE(is_ip_literal("::1"));
  EXPECT_TRUE(is_ip_literal("fd00::10"));
  EXPECT_FALSE(is_ip_literal("vllm-0.vllm.llm.svc.cluster.local"));
  EXPECT_FALSE(is_ip_literal("localhost"));
  EXPECT_FALSE(is_ip_literal("10.0.0"));
}

TEST(DnsRules, LookupFamiliesPickAsEnvoys) {
  const V v4 = {"10.0.0.3", "10.0.0.1", "10.0.0.3"}, v6 = {"fd00::2", "fd00::1"};
  EXPECT_EQ(select_addresses(DnsLookupFamily::V4Only, v4, v6), (V{"10.0.0.1", "10.0.0.3"}));
  EXPECT_EQ(select_addresses(DnsLookupFamily::V6Only, v4, v6), (V{"fd00::1", "fd00::2"}));
  EXPECT_EQ(select_addresses(DnsLookupFamily::Auto, v4, v6), (V{"fd00::1", "fd00::2"}));
  EXPECT_EQ(select_addresses(DnsLookupFamily::Auto, v4, {}), (V{"10.0.0.1", "10.0.0.3"}));
  EXPECT_EQ(select_addresses(DnsLookupFamily::V4Preferred, v4, v6), (V{"10.0.0.1", "10.0.0.3"}));
  EXPECT_EQ(select_addresses(DnsLookupFamily::V4Preferred, {}, v6), (V{"fd00::1", "fd00::2"}));
  EXPECT_EQ(select_addresses(DnsLookupFamily::All, v4, v6), (V{"10.0.0.1", "10.0.0.3", "fd00::1", "fd00::2"}));
  EXPECT_TRUE(select_addresses(DnsLookupFamily::V6Only, v4, {}).empty());
}

TEST(DnsRules, RefreshRateAndRespectDnsTtl) {
  config::DnsConfig d;  // 5 s, TTL not respected
  EXPECT_EQ(refresh_delay(d, seconds(30), false), seconds(5));
  EXPECT_EQ(refresh_delay(d, seconds(30), true), seconds(5));
  d.respect_dns_ttl = true;
  EXPECT_EQ(refresh_delay(d, seconds(30), false), seconds(30));  // the TTL is the refresh rate
  EXPECT_EQ(refresh_delay(d, seconds(1), false), seconds(5));    // floored (Envoy dns_min_refresh_rate)
  EXPECT_EQ(refresh_delay(d, seconds(0), false), seconds(5));    // no TTL: the refresh rate
  EXPECT_EQ(refresh_delay(d, seconds(30), true), seconds(5));    // after a failure: the refresh rate
  d.refresh_rate = milliseconds(200);
  EXPECT_EQ(refresh_delay(d, seconds(1), false), seconds(1));  // a shorter refresh rate lowers the floor
  EXPECT_EQ(refresh_delay(d, seconds(0), false), milliseconds(200));
}

config::Endpoint endpoint(const std::string& name, const std::string& address, std::optional<uint16_t> port) {
  config::Endpoint e;
  e.name = name;
  e.address = address;
  e.port = port;
  e.labels = {{"app", "llm"}};
  return e;
}

TEST(DnsRules, AHostBecomesOneEndpointPerAddress) {
  const std::vector<config::Endpoint> eps = {endpoint("lit", "10.0.0.9", 8000), endpoint("vllm", "vllm.llm", 8000),
                                             endpoint("other", "other.llm", 8000), endpoint("gone", "gone.llm", 8000)};
  const std::map<std::string, V> resolved = {
      {"vllm", {"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
      // The same pod under two names, and the literal's address: counted once each.
      {"other", {"10.0.0.2", "10.0.0.9", "10.0.0.4"}}};
  const auto out = expand_endpoints(eps, resolved);
  V names, addresses;
  for (const auto& e : out) {
    names.push_back(e.name);
    addresses.push_back(e.address);
    EXPECT_EQ(e.port, std::optional<uint16_t>(8000));
    EXPECT_EQ(e.labels.at("app"), "llm");
  }
  EXPECT_EQ(names, (V{"lit", "vllm/10.0.0.1", "vllm/10.0.0.2", "vllm/10.0.0.3", "other/10.0.0.4"}));
  EXPECT_EQ(addresses, (V{"10.0.0.9", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}));
}

TEST(DnsRules, SameAddressOnAnotherPortIsAnotherEndpoint) {
  const auto out = expand_endpoints({endpoint("a", "a.llm", 8000), endpoint("b", "b.llm", 8001)},
                                    {{"a", {"10.0.0.1"}}, {"b", {"10.0.0.1"}}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].name, "b/10.0.0.1");
}

config::Config config_with(std::vector<config::Endpoint> eps, V resolvers) {
  config::Config c;
  c.endpoints = std::move(eps);
  c.gateway.dns.resolvers = std::move(resolvers);
  c.gateway.dns.lookup_family = DnsLookupFamily::V4Only;
  return c;
}

TEST(DnsDiscovery, AHostThatDoesNotResolveIsAConfigErrorOnItsField) {
  boost::asio::io_context io;
  metrics::Registry registry(1);
  DnsDiscovery dns(io, registry, [] {});
  // Port 1 on loopback: nothing answers, the query is refused at once.
  config::Config c = config_with({endpoint("lit", "10.0.0.9", 8000), endpoint("vllm", "vllm.invalid", 8000)},
                                 {"127.0.0.1:1"});
  c.endpoints[1].source.file = "gw.yaml";
  c.endpoints[1].source.document = 1;
  c.endpoints[1].source.line = 12;
  std::vector<config::Diagnostic> errors;
  const auto start = std::chrono::steady_clock::now();
  dns.prepare(c, &errors, seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(9)) << "waited for nothing";
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "spec.endpoints[1].address");
  EXPECT_EQ(errors[0].line, 12);
  EXPECT_NE(errors[0].message.find("cannot resolve host \"vllm.invalid\""), std::string::npos) << errors[0].message;
  ASSERT_EQ(c.endpoints.size(), 1u);  // what is left: the literal
  EXPECT_EQ(c.endpoints[0].name, "lit");
}

TEST(DnsDiscovery, LiteralsOnlyNeedNoResolver) {
  boost::asio::io_context io;
  metrics::Registry registry(1);
  DnsDiscovery dns(io, registry, [] {});
  config::Config c = config_with({endpoint("a", "10.0.0.1", 8000), endpoint("b", "::1", 8000)}, {});
  std::vector<config::Diagnostic> errors;
  dns.prepare(c, &errors, milliseconds(1));
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(c.endpoints.size(), 2u);
  EXPECT_EQ(c.endpoints[1].name, "b");
  dns.activate();
  EXPECT_EQ(dns.unresolved(config::Config{}).endpoints.size(), 2u);
}

// c-ares answers from /etc/hosts too (its default lookup order is files, then DNS).
TEST(DnsDiscovery, ResolvesThroughCaresAndRemembersTheHostName) {
  std::ifstream hosts("/etc/hosts");
  std::stringstream ss;
  ss << hosts.rdbuf();
  if (ss.str().find("127.0.0.1") == std::string::npos || ss.str().find("localhost") == std::string::npos)
    GTEST_SKIP() << "no localhost in /etc/hosts";
  boost::asio::io_context io;
  metrics::Registry registry(1);
  DnsDiscovery dns(io, registry, [] {});
  config::Config c = config_with({endpoint("local", "localhost", 8000)}, {});
  const config::Config written = c;
  std::vector<config::Diagnostic> errors;
  dns.prepare(c, &errors, seconds(5));
  ASSERT_TRUE(errors.empty()) << errors[0].message;
  ASSERT_EQ(c.endpoints.size(), 1u);
  EXPECT_EQ(c.endpoints[0].name, "local/127.0.0.1");
  EXPECT_EQ(c.endpoints[0].address, "127.0.0.1");
  dns.activate();
  // A rebuild starts from the host names, and a tracked name is not asked again to rebuild.
  config::Config again = dns.unresolved(c);
  ASSERT_EQ(again.endpoints.size(), 1u);
  EXPECT_EQ(again.endpoints[0].address, "localhost");
  again.gateway.dns.resolvers = {};
  dns.prepare(again, &errors, milliseconds(0));
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(again.endpoints.size(), 1u);
  EXPECT_EQ(again.endpoints[0].address, "127.0.0.1");
}

}  // namespace
}  // namespace infergate::gateway
