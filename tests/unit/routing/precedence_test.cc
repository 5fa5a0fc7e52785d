// Gateway API precedence between matching rules of all routes: Exact path > (regex) > longest
// PathPrefix > method > most header matches > most query matches > oldest route >
// "<ns>/<name>" > rule order. Every case is also checked with the routes given in reverse
// order, so that config order cannot be what decides.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "routing_test_util.h"

namespace infergate::routing {
namespace {

using namespace testing;

// The rule chosen for `head`, after checking both orders of `routes` agree.
std::string winner(std::vector<config::HttpRoute> routes, const RequestHead& head) {
  auto forward = build(with_routes(routes));
  std::reverse(routes.begin(), routes.end());
  auto backward = build(with_routes(routes));
  const std::string a = matched(*forward, head);
  EXPECT_EQ(a, matched(*backward, head)) << "config order changed the result for " << head.path;
  return a;
}

config::HttpRoute one_rule(std::string name, config::RouteMatch m) {
  return http_route(std::move(name), {rule({std::move(m)})});
}

TEST(Precedence, ExactPathBeatsAnyPrefix) {
  const std::vector<config::HttpRoute> routes = {one_rule("a-prefix", prefix("/v1/models")),
                                                 one_rule("b-exact", exact("/v1/models"))};
  EXPECT_EQ(winner(routes, request("GET", "/v1/models")), "default/b-exact/rule0");
  EXPECT_EQ(winner(routes, request("GET", "/v1/models/x")), "default/a-prefix/rule0");
}

TEST(Precedence, LongestPrefixWins) {
  const std::vector<config::HttpRoute> routes = {one_rule("a", prefix("/")),
                                                 one_rule("b", prefix("/v1")),
                                                 one_rule("c", prefix("/v1/chat"))};
  EXPECT_EQ(winner(routes, request("GET", "/v1/chat/completions")), "default/c/rule0");
  EXPECT_EQ(winner(routes, request("GET", "/v1/completions")), "default/b/rule0");
  EXPECT_EQ(winner(routes, request("GET", "/v1")), "default/b/rule0");
  EXPECT_EQ(winner(routes, request("GET", "/v10")), "default/a/rule0");
  EXPECT_EQ(winner(routes, request("GET", "/healthz")), "default/a/rule0");
}

TEST(Precedence, RegexSitsBetweenExactAndPrefix) {
  const std::vector<config::HttpRoute> routes = {one_rule("a", prefix("/v1/chat/completions")),
                                                 one_rule("b", regex("/v1/.*")),
                                                 one_rule("c", exact("/v1/chat/completions"))};
  EXPECT_EQ(winner(routes, request("GET", "/v1/chat/completions")), "default/c/rule0");
  EXPECT_EQ(winner(routes, request("GET", "/v1/chat/completions/x")), "default/b/rule0");
}

TEST(Precedence, LongerPrefixBeatsMethodAndHeaders) {
  const std::vector<config::HttpRoute> routes = {
      one_rule("a", with_header(with_method(prefix("/v1"), "POST"), "x-a", "1")),
      one_rule("b", prefix("/v1/chat"))};
  EXPECT_EQ(winner(routes, request("POST", "/v1/chat", "h", {{"x-a", "1"}})), "default/b/rule0");
}

TEST(Precedence, MethodBeatsHeaderCount) {
  const std::vector<config::HttpRoute> routes = {
      one_rule("a", with_header(with_header(prefix("/v1"), "x-a", "1"), "x-b", "2")),
      one_rule("b", with_method(prefix("/v1"), "POST"))};
  EXPECT_EQ(winner(routes, request("POST", "/v1", "h", {{"x-a", "1"}, {"x-b", "2"}})),
            "default/b/rule0");
  EXPECT_EQ(winner(routes, request("GET", "/v1", "h", {{"x-a", "1"}, {"x-b", "2"}})),
            "default/a/rule0");
}

TEST(Precedence, MoreHeaderMatchesWin) {
  const std::vector<config::HttpRoute> routes = {
      one_rule("a", with_header(prefix("/"), "x-a", "1")),
      one_rule("b", with_header(with_header(prefix("/"), "x-a", "1"), "x-b", "2"))};
  EXPECT_EQ(winner(routes, request("GET", "/", "h", {{"x-a", "1"}, {"x-b", "2"}})),
            "default/b/rule0");
  EXPECT_EQ(winner(routes, request("GET", "/", "h", {{"x-a", "1"}})), "default/a/rule0");
}

TEST(Precedence, HeaderCountBeatsQueryCount) {
  const std::vector<config::HttpRoute> routes = {
      one_rule("a", with_query(with_query(prefix("/"), "p", "1"), "q", "2")),
      one_rule("b", with_header(prefix("/"), "x-a", "1"))};
  EXPECT_EQ(winner(routes, request("GET", "/?p=1&q=2", "h", {{"x-a", "1"}})), "default/b/rule0");
}

TEST(Precedence, MoreQueryMatchesWin) {
  const std::vector<config::HttpRoute> routes = {
      one_rule("a", with_query(prefix("/"), "p", "1")),
      one_rule("b", with_query(with_query(prefix("/"), "p", "1"), "q", "2"))};
  EXPECT_EQ(winner(routes, request("GET", "/?p=1&q=2")), "default/b/rule0");
  EXPECT_EQ(winner(routes, request("GET", "/?p=1")), "default/a/rule0");
}

TEST(Precedence, OldestRouteWinsATie) {
  auto older = one_rule("z-older", prefix("/v1"));
  older.meta.creation_timestamp = "2024-01-01T00:00:00Z";
  auto newer = one_rule("a-newer", prefix("/v1"));
  newer.meta.creation_timestamp = "2025-06-01T00:00:00Z";
  EXPECT_EQ(winner({older, newer}, request("GET", "/v1")), "default/z-older/rule0");
}

TEST(Precedence, RouteWithoutATimestampCountsAsTheNewest) {
  auto stamped = one_rule("z-stamped", prefix("/v1"));
  stamped.meta.creation_timestamp = "2025-06-01T00:00:00Z";
  auto unstamped = one_rule("a-unstamped", prefix("/v1"));
  EXPECT_EQ(winner({stamped, unstamped}, request("GET", "/v1")), "default/z-stamped/rule0");
  // Among routes without one, the name decides.
  EXPECT_EQ(winner({one_rule("b", prefix("/v1")), one_rule("a", prefix("/v1"))},
                   request("GET", "/v1")),
            "default/a/rule0");
}

TEST(Precedence, ThenNamespaceAndNameAlphabetically) {
  auto a = http_route("b", {rule({prefix("/v1")})}, {}, "z-ns");
  auto b = http_route("z", {rule({prefix("/v1")})}, {}, "a-ns");
  auto c = http_route("y", {rule({prefix("/v1")})}, {}, "a-ns");
  EXPECT_EQ(winner({a, b, c}, request("GET", "/v1")), "a-ns/y/rule0");
}

TEST(Precedence, ThenTheFirstMatchingRuleOfTheRoute) {
  auto r = http_route("r", {rule({prefix("/v1")}), rule({prefix("/v1")}),
                            rule({with_method(prefix("/v1"), "GET")})});
  auto table = build(with_routes({r}));
  // The method match outranks rule order; without it the first rule wins.
  EXPECT_EQ(matched(*table, request("GET", "/v1")), "default/r/rule2");
  EXPECT_EQ(matched(*table, request("POST", "/v1")), "default/r/rule0");
}

TEST(Precedence, RulesOfOneRouteCompeteWithOtherRoutes) {
  // A more specific rule of route "b" beats route "a"'s less specific rule even though "a"
  // sorts first: precedence is across all rules, not route by route.
  auto a = http_route("a", {rule({prefix("/")}), rule({prefix("/v1")})});
  auto b = http_route("b", {rule({prefix("/v1/chat")})});
  EXPECT_EQ(winner({a, b}, request("GET", "/v1/chat/x")), "default/b/rule0");
  EXPECT_EQ(winner({a, b}, request("GET", "/v1/x")), "default/a/rule1");
  EXPECT_EQ(winner({a, b}, request("GET", "/x")), "default/a/rule0");
}

TEST(Precedence, AnyMatchOfARuleSelectsIt) {
  auto r = http_route("r", {rule({exact("/a"), prefix("/b")}), rule({prefix("/")})});
  auto table = build(with_routes({r}));
  EXPECT_EQ(matched(*table, request("GET", "/a")), "default/r/rule0");
  EXPECT_EQ(matched(*table, request("GET", "/b/c")), "default/r/rule0");
  EXPECT_EQ(matched(*table, request("GET", "/c")), "default/r/rule1");
}

TEST(Precedence, NothingMatchesMeansNoRoute) {
  auto table = build(with_routes({one_rule("r", prefix("/v1"))}));
  EXPECT_EQ(matched(*table, request("GET", "/v2")), "404");
  EXPECT_EQ(matched(*build(with_routes({})), request("GET", "/")), "404");
}

}  // namespace
}  // namespace infergate::routing
