// Hostnames: wildcard matching, listener/route intersection, :authority normalisation and the
// Envoy-virtual-host-like choice of routes by host in the route table.
#include "routing/host_match.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "routing_test_util.h"

namespace infergate::routing {
namespace {

using namespace testing;
using detail::hostname_matches;
using detail::intersect_hostnames;

std::string normalize(std::string_view authority) {
  std::array<char, 256> buf;
  return std::string(detail::normalize_authority(authority, buf));
}

TEST(HostnameMatches, ExactAndWildcard) {
  EXPECT_TRUE(hostname_matches("api.example.com", "api.example.com"));
  EXPECT_FALSE(hostname_matches("api.example.com", "www.example.com"));
  EXPECT_TRUE(hostname_matches("*.example.com", "a.example.com"));
  EXPECT_TRUE(hostname_matches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(hostname_matches("*.example.com", "example.com"));
  EXPECT_FALSE(hostname_matches("*.example.com", "aexample.com"));
  EXPECT_FALSE(hostname_matches("*.example.com", ".example.com"));
}

TEST(IntersectHostnames, FollowsGatewayApi) {
  EXPECT_EQ(intersect_hostnames("", "a.example.com"), "a.example.com");
  EXPECT_EQ(intersect_hostnames("a.example.com", ""), "a.example.com");
  EXPECT_EQ(intersect_hostnames("", ""), "");
  EXPECT_EQ(intersect_hostnames("*.example.com", "a.example.com"), "a.example.com");
  EXPECT_EQ(intersect_hostnames("a.example.com", "*.example.com"), "a.example.com");
  EXPECT_EQ(intersect_hostnames("*.example.com", "*.a.example.com"), "*.a.example.com");
  EXPECT_EQ(intersect_hostnames("*.a.example.com", "*.example.com"), "*.a.example.com");
  EXPECT_EQ(intersect_hostnames("*.example.com", "*.example.com"), "*.example.com");
  EXPECT_EQ(intersect_hostnames("a.example.com", "b.example.com"), std::nullopt);
  EXPECT_EQ(intersect_hostnames("*.example.com", "example.com"), std::nullopt);
  EXPECT_EQ(intersect_hostnames("*.example.com", "*.example.org"), std::nullopt);
}

TEST(NormalizeAuthority, StripsPortAndTrailingDotAndLowerCases) {
  EXPECT_EQ(normalize("API.Example.COM"), "api.example.com");
  EXPECT_EQ(normalize("api.example.com:8080"), "api.example.com");
  EXPECT_EQ(normalize("api.example.com.:8080"), "api.example.com");
  EXPECT_EQ(normalize("[::1]:8080"), "[::1]");
  EXPECT_EQ(normalize("[::1]"), "[::1]");
  EXPECT_EQ(normalize("10.0.0.1:80"), "10.0.0.1");
  EXPECT_EQ(normalize(""), "");
  EXPECT_EQ(normalize(std::string(300, 'a')), "");  // too long: matches host-less routes only
}

config::Config host_routes() {
  return with_routes({
      http_route("exact", {rule({prefix("/v1")})}, {"api.example.com"}),
      http_route("wild", {rule({prefix("/")})}, {"*.example.com"}),
      http_route("deeper-wild", {rule({prefix("/")})}, {"*.eu.example.com"}),
      http_route("any", {rule({prefix("/")})}),
  });
}

TEST(RouteHosts, MostSpecificHostWins) {
  auto t = build(host_routes());
  EXPECT_EQ(matched(*t, request("GET", "/v1/x", "api.example.com")), "default/exact/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/v1/x", "API.EXAMPLE.COM:443")), "default/exact/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/v1/x", "www.example.com")), "default/wild/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/v1/x", "a.eu.example.com")), "default/deeper-wild/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/v1/x", "example.com")), "default/any/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/v1/x", "other.org")), "default/any/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/v1/x", "")), "default/any/rule0");
}

TEST(RouteHosts, FallsThroughToLessSpecificHostsWhenNothingMatches) {
  auto t = build(host_routes());
  // "exact" only has /v1; another path for its host goes to the wildcard route.
  EXPECT_EQ(matched(*t, request("GET", "/v2", "api.example.com")), "default/wild/rule0");
}

TEST(RouteHosts, RoutesWithHostnamesNeverServeOtherHosts) {
  auto t = build(with_routes({http_route("only", {rule({prefix("/")})}, {"api.example.com"})}));
  EXPECT_EQ(matched(*t, request("GET", "/", "api.example.com")), "default/only/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/", "evil.example.com")), "404");
  EXPECT_EQ(matched(*t, request("GET", "/", "")), "404");
}

TEST(RouteHosts, ListenerHostnameNarrowsTheRoutes) {
  config::Config c = with_routes({
      http_route("any", {rule({prefix("/")})}),
      http_route("a", {rule({prefix("/")})}, {"a.example.com"}),
      http_route("other", {rule({prefix("/")})}, {"a.example.org"}),
  });
  c.listeners = {listener("wild", 8080, "*.example.com")};
  auto t = build(c);
  const std::string l = "default/gw/wild";
  EXPECT_EQ(matched(*t, request("GET", "/", "a.example.com"), l), "default/a/rule0");
  // "any" inherits the listener's hostname: it serves *.example.com and nothing else.
  EXPECT_EQ(matched(*t, request("GET", "/", "b.example.com"), l), "default/any/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/", "a.example.org"), l), "404");
  EXPECT_EQ(matched(*t, request("GET", "/", "example.com"), l), "404");
}

}  // namespace
}  // namespace infergate::routing
