// GatewayConfig spec.dns: Envoy's STRICT_DNS defaults when absent, every lookup family in
// Envoy's spelling, resolvers as c-ares takes them, and each mistake reported with file, line,
// document and field path.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::line_of;
using testing::render;

const std::string& kHead = testing::kGatewayConfigHead;

LoadResult load(const std::string& spec) { return testing::load_gateway_spec(spec); }

TEST(DnsConfig, AbsentIsEnvoysDefaults) {
  LoadResult r = load("  workers: 1\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const DnsConfig& d = r.config->gateway.dns;
  EXPECT_TRUE(d.resolvers.empty());  // the system's
  EXPECT_EQ(d.refresh_rate, std::chrono::seconds(5));
  EXPECT_FALSE(d.respect_dns_ttl);
  EXPECT_EQ(d.lookup_family, DnsLookupFamily::Auto);
  r = load("  dns: {}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_EQ(r.config->gateway.dns, DnsConfig{});
}

TEST(DnsConfig, EveryFieldAndFamily) {
  LoadResult r = load(
      "  dns:\n    resolvers: [\"127.0.0.1:5353\", 10.0.0.10, \"[::1]:53\", \"[fd00::1]\"]\n"
      "    refreshRate: 200ms\n    respectDnsTtl: true\n    lookupFamily: V4_ONLY\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const DnsConfig& d = r.config->gateway.dns;
  EXPECT_EQ(d.resolvers, (std::vector<std::string>{"127.0.0.1:5353", "10.0.0.10", "[::1]:53", "[fd00::1]"}));
  EXPECT_EQ(d.refresh_rate, std::chrono::milliseconds(200));
  EXPECT_TRUE(d.respect_dns_ttl);
  EXPECT_EQ(d.lookup_family, DnsLookupFamily::V4Only);
  const std::pair<const char*, DnsLookupFamily> families[] = {{"AUTO", DnsLookupFamily::Auto},
                                                              {"V4_ONLY", DnsLookupFamily::V4Only},
                                                              {"V6_ONLY", DnsLookupFamily::V6Only},
                                                              {"V4_PREFERRED", DnsLookupFamily::V4Preferred},
                                                              {"ALL", DnsLookupFamily::All}};
  for (const auto& [name, family] : families) {
    r = load(std::string("  dns: {lookupFamily: ") + name + "}\n");
    ASSERT_TRUE(r.ok()) << name << render(r.errors);
    EXPECT_EQ(r.config->gateway.dns.lookup_family, family) << name;
  }
}

TEST(DnsConfig, MistakesNameFileLineDocumentAndField) {
  struct Case {
    std::string spec, needle, expected;
  };
  const Case cases[] = {
      {"  dns:\n    resolvers: [\"dns.example:53\"]\n", "resolvers",
       "spec.dns.resolvers[0]: \"dns.example:53\" is not a name server address: write an IP, IP:port or [IPv6]:port"},
      {"  dns:\n    resolvers: [\"127.0.0.1:0\"]\n", "resolvers",
       "spec.dns.resolvers[0]: \"127.0.0.1:0\" is not a name server address: write an IP, IP:port or [IPv6]:port"},
      {"  dns:\n    resolvers: [\"::1:53\"]\n", "resolvers",
       "spec.dns.resolvers[0]: \"::1:53\" is not a name server address: write an IP, IP:port or [IPv6]:port"},
      {"  dns:\n    resolvers: [\"127.0.0.1:\"]\n", "resolvers",
       "spec.dns.resolvers[0]: \"127.0.0.1:\" is not a name server address: write an IP, IP:port or [IPv6]:port"},
      {"  dns:\n    refreshRate: 0s\n", "refreshRate", "spec.dns.refreshRate: must be more than 0"},
      {"  dns:\n    lookupFamily: IPV4\n", "lookupFamily", ""},
      {"  dns:\n    respectDnsTtl: maybe\n", "respectDnsTtl", ""},
      {"  dns:\n    dnsRefreshRate: 5s\n", "dnsRefreshRate",
       "spec.dns.dnsRefreshRate: unknown field \"dnsRefreshRate\" (known: resolvers, refreshRate, respectDnsTtl, "
       "lookupFamily)"},
  };
  for (const Case& c : cases) {
    LoadResult r = load(c.spec);
    ASSERT_FALSE(r.ok()) << c.spec;
    if (c.expected.empty()) {
      EXPECT_NE(render(r.errors).find("spec.dns." + c.needle), std::string::npos) << render(r.errors);
      continue;
    }
    const int line = line_of(kHead + c.spec, c.needle);
    EXPECT_TRUE(has_diagnostic(r.errors, "gc.yaml:" + std::to_string(line) + ": document 1 (GatewayConfig/gc): " +
                                             c.expected))
        << render(r.errors);
  }
}

TEST(DnsConfig, AnEndpointMayNameAHost) {
  LoadResult r = load("  endpoints:\n  - {name: vllm, address: vllm.llm.svc.cluster.local, port: 8000}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  ASSERT_EQ(r.config->endpoints.size(), 1u);
  EXPECT_EQ(r.config->endpoints[0].address, "vllm.llm.svc.cluster.local");
}

}  // namespace
}  // namespace infergate::config
