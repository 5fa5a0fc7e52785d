#pragma once
// Internal to routing/: one HTTPRoute match compiled for the hot path (lower-cased header
// names, normalised prefixes, pre-built RE2 programs), its evaluation against a RequestHead,
// and the Gateway API precedence order between compiled matches.

#include <re2/re2.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model/gateway_api.h"
#include "routing/http_message.h"

namespace infergate::routing::detail {

struct CompiledStringMatch {
  std::string name;  // headers: lower-case
  config::StringMatchType type = config::StringMatchType::Exact;
  std::string value;
  std::unique_ptr<RE2> regex;

  bool matches(std::string_view text) const;
};

struct CompiledMatch {
  size_t route_index = 0;  // into RouteTable::routes()
  config::PathMatchType path_type = config::PathMatchType::PathPrefix;
  std::string path;  // Exact: as written; PathPrefix: trailing "/" removed ("/" stays "/")
  std::unique_ptr<RE2> path_regex;
  std::string method;
  std::vector<CompiledStringMatch> headers;
  std::vector<CompiledStringMatch> query_params;

  // Tie-breakers (Gateway API): older route, then "<ns>/<name>", then rule and match order.
  std::string creation_timestamp;
  std::string route_key;
  size_t rule_index = 0;
  size_t match_index = 0;

  bool matches(const RequestHead& head) const { return matches(head, head.path_only()); }
  // `path` is head.path_only(), found once per request by a caller trying many matches.
  bool matches(const RequestHead& head, std::string_view path) const;
};

// Compiles `m`; on an invalid regular expression returns nullptr and sets *error.
std::unique_ptr<CompiledMatch> compile_match(const config::RouteMatch& m, std::string* error);

// True when `a` takes precedence over `b`.
bool precedes(const CompiledMatch& a, const CompiledMatch& b);

bool path_prefix_matches(std::string_view prefix, std::string_view path);

// Value of the first `name` parameter in a raw query string (not percent-decoded, as Envoy);
// false when absent. "?key" yields an empty value.
bool find_query_param(std::string_view query, std::string_view name, std::string_view* value);

}  // namespace infergate::routing::detail
