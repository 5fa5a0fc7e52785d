// Route actions as Envoy executes them: prefix/regex path rewrites, redirect locations,
// percentage draws, and request hashing for consistent-hash load balancing.
#include "routing/route_actions.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "routing_test_util.h"

namespace infergate::routing {
namespace {

using testing::request;

PathRewrite prefix(size_t length, std::string replacement) {
  PathRewrite p;
  p.prefix_length = length;
  p.replacement = std::move(replacement);
  return p;
}

TEST(PathRewrite, ReplacesTheMatchedPrefixAndKeepsTheQuery) {
  struct Case {
    PathRewrite rw;
    std::string in, out;
  };
  PathRewrite whole;
  whole.whole_path = true;
  whole.replacement = "/fixed";
  PathRewrite regex;
  regex.kind = PathRewrite::Kind::Regex;
  regex.regex = std::make_shared<RE2>("^/models/([^/]+)$");
  regex.replacement = "/v1/models/\\1";
  PathRewrite strip = prefix(3, "");
  const Case cases[] = {
      {prefix(3, "/v2"), "/v1/chat?stream=true", "/v2/chat?stream=true"},
      {prefix(3, "/v2"), "/v10", "/v20"},          // Envoy's string prefix, not per segment
      {prefix(1, "/api/"), "/chat", "/api/chat"},  // no uri match: "/" is what matched
      {whole, "/exact/path?a=b", "/fixed?a=b"},
      {regex, "/models/llama?x=1", "/v1/models/llama?x=1"},
      {regex, "/other", "/other"},                 // no match: unchanged
      {strip, "/v1", "/"},                         // never an empty path
      {strip, "/v1/x", "/x"},
      {prefix(10, "/y"), "/short", "/y"},          // prefix longer than the path
  };
  for (const auto& k : cases) EXPECT_EQ(k.rw.apply(k.in), k.out) << k.in;
}

TEST(Redirect, LocationFollowsEnvoysRedirectAction) {
  struct Case {
    Redirect r;
    std::string authority, path, scheme, want;
  };
  auto make = [](std::string scheme, std::string host, std::optional<uint16_t> port,
                 std::string path, bool from_request = false) {
    Redirect r;
    r.scheme = std::move(scheme);
    r.host = std::move(host);
    r.port = port;
    r.path = std::move(path);
    r.port_from_request = from_request;
    return r;
  };
  const Case cases[] = {
      {make("", "", std::nullopt, "/new"), "a.com:8080", "/old?q=1", "http", "http://a.com:8080/new?q=1"},
      {make("", "", std::nullopt, "/new?x=2"), "a.com", "/old?q=1", "http", "http://a.com/new?x=2"},
      {make("https", "", std::nullopt, ""), "a.com:8080", "/p", "http", "https://a.com/p"},
      {make("", "b.com", std::nullopt, ""), "a.com:8080", "/p", "http", "http://b.com/p"},
      {make("", "", 9443, ""), "a.com:8080", "/p", "https", "https://a.com:9443/p"},
      {make("https", "", 443, ""), "a.com", "/p", "http", "https://a.com/p"},  // default port left out
      {make("", "", std::nullopt, "", true), "a.com", "/p", "http", "http://a.com:7000/p"},
      {make("", "", std::nullopt, ""), "[::1]:8080", "/p", "http", "http://[::1]:8080/p"},
  };
  for (const auto& k : cases) {
    RequestHead head = request("GET", k.path, k.authority);
    head.scheme = k.scheme;
    EXPECT_EQ(k.r.location(head, 7000), k.want) << k.authority << k.path;
  }
}

TEST(FractionHit, IsExactOverEvenDraws) {
  EXPECT_FALSE(fraction_hit(0, 0));
  EXPECT_FALSE(fraction_hit(0, ~0ull));
  EXPECT_TRUE(fraction_hit(1'000'000, 0));
  EXPECT_TRUE(fraction_hit(1'000'000, ~0ull));
  for (uint32_t per_million : {1'000u, 125'000u, 500'000u, 999'000u}) {
    WeightedSequence seq(7);
    int hits = 0;
    const int n = 100'000;
    for (int i = 0; i < n; ++i) hits += fraction_hit(per_million, seq.next()) ? 1 : 0;
    EXPECT_NEAR(hits / double(n), per_million / 1e6, 0.001) << per_million;
  }
}

TEST(RequestHash, StableForTheSameKeyAndAbsentWithoutIt) {
  HashPolicy header{HashPolicy::Key::Header, "x-user"};
  auto a = request_hash(header, request("GET", "/", "h", {{"X-User", "alice"}}));
  auto a2 = request_hash(header, request("POST", "/other", "h2", {{"x-user", "alice"}}));
  auto b = request_hash(header, request("GET", "/", "h", {{"x-user", "bob"}}));
  ASSERT_TRUE(a && a2 && b);
  EXPECT_EQ(*a, *a2);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(request_hash(header, request("GET", "/")).has_value());

  HashPolicy cookie{HashPolicy::Key::Cookie, "session"};
  auto c1 = request_hash(cookie, request("GET", "/", "h", {{"cookie", "theme=dark; session=abc"}}));
  auto c2 = request_hash(cookie, request("GET", "/", "h", {{"cookie", "a=1"}, {"cookie", "session=abc"}}));
  ASSERT_TRUE(c1 && c2);
  EXPECT_EQ(*c1, *c2);
  EXPECT_FALSE(request_hash(cookie, request("GET", "/", "h", {{"cookie", "sessionx=abc"}})));

  HashPolicy query{HashPolicy::Key::QueryParameter, "user"};
  auto q = request_hash(query, request("GET", "/x?a=1&user=alice"));
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, *request_hash(query, request("GET", "/y?user=alice")));
  EXPECT_FALSE(request_hash(query, request("GET", "/y")));

  HashPolicy ip{HashPolicy::Key::SourceIp, ""};
  auto i1 = request_hash(ip, request("GET", "/"), "10.1.2.3:5555");
  auto i2 = request_hash(ip, request("GET", "/"), "10.1.2.3:6666");
  ASSERT_TRUE(i1 && i2);
  EXPECT_EQ(*i1, *i2);  // the client's port does not matter
  EXPECT_FALSE(request_hash(ip, request("GET", "/")));
}

}  // namespace
}  // namespace infergate::routing
