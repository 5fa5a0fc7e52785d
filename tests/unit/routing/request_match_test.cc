// One compiled HTTPRoute match against request heads: path, headers, query, method.
#include "routing/request_match.h"

#include <gtest/gtest.h>

#include <string>

#include "routing_test_util.h"

namespace infergate::routing {
namespace {

using namespace testing;

std::unique_ptr<detail::CompiledMatch> compile(const config::RouteMatch& m) {
  std::string error;
  auto c = detail::compile_match(m, &error);
  EXPECT_NE(c, nullptr) << error;
  return c;
}

bool matches(const config::RouteMatch& m, const RequestHead& head) {
  auto c = compile(m);
  return c && c->matches(head);
}

bool path_matches(const config::RouteMatch& m, const std::string& path) {
  return matches(m, request("GET", path));
}

TEST(PathPrefix, MatchesWholePathElementsOnly) {
  const auto m = prefix("/v1");
  EXPECT_TRUE(path_matches(m, "/v1"));
  EXPECT_TRUE(path_matches(m, "/v1/"));
  EXPECT_TRUE(path_matches(m, "/v1/x"));
  EXPECT_TRUE(path_matches(m, "/v1/chat/completions"));
  EXPECT_FALSE(path_matches(m, "/v10"));
  EXPECT_FALSE(path_matches(m, "/v1x/y"));
  EXPECT_FALSE(path_matches(m, "/v"));
  EXPECT_FALSE(path_matches(m, "/"));
  EXPECT_FALSE(path_matches(m, "/V1"));  // paths are case-sensitive
  EXPECT_FALSE(path_matches(m, "/api/v1"));
}

TEST(PathPrefix, TrailingSlashInThePrefixIsIgnored) {
  const auto m = prefix("/v1/");
  EXPECT_TRUE(path_matches(m, "/v1"));
  EXPECT_TRUE(path_matches(m, "/v1/"));
  EXPECT_TRUE(path_matches(m, "/v1/models"));
  EXPECT_FALSE(path_matches(m, "/v10"));
}

TEST(PathPrefix, RootMatchesEverything) {
  const auto m = prefix("/");
  EXPECT_TRUE(path_matches(m, "/"));
  EXPECT_TRUE(path_matches(m, "/anything/at/all"));
  EXPECT_TRUE(path_matches(m, "/?q=1"));
}

TEST(PathPrefix, MultiSegmentPrefix) {
  const auto m = prefix("/v1/chat");
  EXPECT_TRUE(path_matches(m, "/v1/chat/completions"));
  EXPECT_TRUE(path_matches(m, "/v1/chat"));
  EXPECT_FALSE(path_matches(m, "/v1/chatty"));
  EXPECT_FALSE(path_matches(m, "/v1/completions"));
}

TEST(PathPrefix, QueryStringIsNotPartOfThePath) {
  EXPECT_TRUE(path_matches(prefix("/v1"), "/v1?stream=true"));
  EXPECT_FALSE(path_matches(prefix("/v1"), "/v10?x=/v1"));
}

TEST(PathPrefix, HelperFunction) {
  EXPECT_TRUE(detail::path_prefix_matches("/a", "/a"));
  EXPECT_TRUE(detail::path_prefix_matches("/a", "/a/b"));
  EXPECT_FALSE(detail::path_prefix_matches("/a", "/ab"));
  EXPECT_FALSE(detail::path_prefix_matches("/a", ""));
  EXPECT_TRUE(detail::path_prefix_matches("/", ""));
}

TEST(ExactPath, MatchesOnlyTheSamePath) {
  const auto m = exact("/v1/models");
  EXPECT_TRUE(path_matches(m, "/v1/models"));
  EXPECT_TRUE(path_matches(m, "/v1/models?limit=3"));
  EXPECT_FALSE(path_matches(m, "/v1/models/"));
  EXPECT_FALSE(path_matches(m, "/v1/models/x"));
  EXPECT_FALSE(path_matches(m, "/v1/model"));
  EXPECT_FALSE(path_matches(m, "/V1/models"));
}

TEST(RegexPath, IsAFullMatch) {
  const auto m = regex("/v1/(chat/)?completions");
  EXPECT_TRUE(path_matches(m, "/v1/completions"));
  EXPECT_TRUE(path_matches(m, "/v1/chat/completions"));
  EXPECT_TRUE(path_matches(m, "/v1/chat/completions?x=1"));
  EXPECT_FALSE(path_matches(m, "/v1/chat/completions/extra"));
  EXPECT_FALSE(path_matches(m, "/prefix/v1/completions"));
}

TEST(CompileMatch, InvalidRegexIsAnErrorNotACrash) {
  std::string error;
  EXPECT_EQ(detail::compile_match(regex("/v1/(chat"), &error), nullptr);
  EXPECT_NE(error.find("invalid regular expression"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(detail::compile_match(with_header(prefix("/"), "x", "[", true), &error), nullptr);
  EXPECT_FALSE(error.empty());
  error.clear();
  EXPECT_EQ(detail::compile_match(with_query(prefix("/"), "x", "(", true), &error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST(Method, MatchesExactlyWhenGiven) {
  const auto m = with_method(prefix("/"), "POST");
  EXPECT_TRUE(matches(m, request("POST", "/v1")));
  EXPECT_FALSE(matches(m, request("GET", "/v1")));
  EXPECT_FALSE(matches(m, request("post", "/v1")));
  EXPECT_TRUE(matches(prefix("/"), request("DELETE", "/v1")));  // no method = any
}

TEST(Headers, NameIsCaseInsensitiveValueIsNot) {
  const auto m = with_header(prefix("/"), "X-Model", "llama");
  EXPECT_TRUE(matches(m, request("GET", "/", "h", {{"x-model", "llama"}})));
  EXPECT_TRUE(matches(m, request("GET", "/", "h", {{"X-MODEL", "llama"}})));
  EXPECT_FALSE(matches(m, request("GET", "/", "h", {{"x-model", "Llama"}})));
  EXPECT_FALSE(matches(m, request("GET", "/", "h", {{"x-model", "llama2"}})));
  EXPECT_FALSE(matches(m, request("GET", "/", "h", {{"x-other", "llama"}})));
  EXPECT_FALSE(matches(m, request("GET", "/")));
}

TEST(Headers, EveryHeaderMatchMustHold) {
  const auto m = with_header(with_header(prefix("/"), "a", "1"), "b", "2");
  EXPECT_TRUE(matches(m, request("GET", "/", "h", {{"a", "1"}, {"b", "2"}, {"c", "3"}})));
  EXPECT_FALSE(matches(m, request("GET", "/", "h", {{"a", "1"}})));
  EXPECT_FALSE(matches(m, request("GET", "/", "h", {{"a", "1"}, {"b", "3"}})));
}

TEST(Headers, RegularExpressionIsAFullMatch) {
  const auto m = with_header(prefix("/"), "x-gateway-model-name", "llama-3.*", true);
  EXPECT_TRUE(matches(m, request("GET", "/", "h", {{"x-gateway-model-name", "llama-3-8b"}})));
  EXPECT_FALSE(matches(m, request("GET", "/", "h", {{"x-gateway-model-name", "my-llama-3"}})));
}

TEST(Headers, RepeatedHeaderIsMatchedJoinedWithCommas) {
  const auto m = with_header(prefix("/"), "x-tag", "a,b");
  EXPECT_TRUE(matches(m, request("GET", "/", "h", {{"x-tag", "a"}, {"x-tag", "b"}})));
  EXPECT_FALSE(matches(m, request("GET", "/", "h", {{"x-tag", "a"}})));
  EXPECT_FALSE(matches(with_header(prefix("/"), "x-tag", "a"),
                       request("GET", "/", "h", {{"x-tag", "a"}, {"x-tag", "b"}})));
}

TEST(Headers, EmptyValueMatchesAnEmptyHeaderOnly) {
  const auto m = with_header(prefix("/"), "x-empty", "");
  EXPECT_TRUE(matches(m, request("GET", "/", "h", {{"x-empty", ""}})));
  EXPECT_FALSE(matches(m, request("GET", "/")));
}

TEST(QueryParams, NameIsCaseSensitiveAndFirstOccurrenceCounts) {
  const auto m = with_query(prefix("/"), "variant", "b");
  EXPECT_TRUE(matches(m, request("GET", "/v1?variant=b")));
  EXPECT_TRUE(matches(m, request("GET", "/v1?x=1&variant=b&y=2")));
  EXPECT_FALSE(matches(m, request("GET", "/v1?Variant=b")));
  EXPECT_FALSE(matches(m, request("GET", "/v1?variant=B")));
  EXPECT_FALSE(matches(m, request("GET", "/v1?variant=a&variant=b")));
  EXPECT_FALSE(matches(m, request("GET", "/v1")));
  EXPECT_FALSE(matches(m, request("GET", "/v1?xvariant=b")));
}

TEST(QueryParams, ValuesAreRawNotDecodedAndMayBeEmpty) {
  EXPECT_TRUE(matches(with_query(prefix("/"), "q", "a%20b"), request("GET", "/?q=a%20b")));
  EXPECT_FALSE(matches(with_query(prefix("/"), "q", "a b"), request("GET", "/?q=a%20b")));
  EXPECT_TRUE(matches(with_query(prefix("/"), "flag", ""), request("GET", "/?flag")));
  EXPECT_TRUE(matches(with_query(prefix("/"), "flag", ""), request("GET", "/?flag=")));
  EXPECT_TRUE(matches(with_query(prefix("/"), "n", "[0-9]+", true), request("GET", "/?n=42")));
  EXPECT_FALSE(matches(with_query(prefix("/"), "n", "[0-9]+", true), request("GET", "/?n=4x")));
}

TEST(Combined, PathMethodHeadersAndQueryAllMustHold) {
  const auto m = with_query(with_header(with_method(prefix("/v1"), "POST"), "x-canary", "1"),
                            "debug", "on");
  EXPECT_TRUE(matches(m, request("POST", "/v1/x?debug=on", "h", {{"x-canary", "1"}})));
  EXPECT_FALSE(matches(m, request("GET", "/v1/x?debug=on", "h", {{"x-canary", "1"}})));
  EXPECT_FALSE(matches(m, request("POST", "/v2/x?debug=on", "h", {{"x-canary", "1"}})));
  EXPECT_FALSE(matches(m, request("POST", "/v1/x?debug=off", "h", {{"x-canary", "1"}})));
  EXPECT_FALSE(matches(m, request("POST", "/v1/x?debug=on", "h", {{"x-canary", "0"}})));
}

}  // namespace
}  // namespace infergate::routing
