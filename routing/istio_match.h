#pragma once
// Internal to routing/: one VirtualService HTTPMatchRequest compiled for the hot path, with
// Envoy's semantics as Istio configures them (pilot route.go TranslateRouteMatch):
//  - uri: exact / prefix (a plain string prefix, not per path segment) / regex (RE2 full
//    match) on the path without its query; ignoreUriCase folds ASCII case for exact and
//    prefix (Envoy ignores it for regex).
//  - headers: lower-case names; exact / prefix / regex on the value (several values of one
//    header are joined with ","); `{}` or regex "*" = present.
//  - withoutHeaders: the inverse; a missing header counts as "" (presence: must be absent).
//  - queryParams: first occurrence, raw; `{}` or regex "*" = present.
//  - method / authority / scheme: matched like headers against :method, :authority, :scheme.
// All conditions must hold. A match-less http[] entry matches everything.

#include <re2/re2.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model/istio_networking.h"
#include "routing/http_message.h"

namespace infergate::routing::detail {

struct CompiledIstioString {
  config::IstioMatchType type = config::IstioMatchType::Present;
  std::string value;  // lower-cased when ignore_case
  bool ignore_case = false;
  std::unique_ptr<RE2> regex;

  bool matches(std::string_view text) const;
};

struct CompiledNamedMatch {
  std::string name;
  CompiledIstioString match;
};

struct CompiledVsMatch {
  size_t route_index = 0;  // into RouteTable::routes()
  size_t vs_index = 0;     // into Config::virtual_services (Istio merge order)
  std::optional<CompiledIstioString> uri, scheme, method, authority;
  std::vector<CompiledNamedMatch> headers, without_headers, query_params;

  bool matches(const RequestHead& head) const { return matches(head, head.path_only()); }
  // `path` is head.path_only(), found once per request by a caller trying many matches.
  bool matches(const RequestHead& head, std::string_view path) const;
  // Istio's IsCatchAllRoute: uri absent, prefix "/" or regex ".*", and no other condition.
  bool catch_all() const;
};

// nullptr `m` = a match-less entry. Returns nullptr and sets *error on a bad regex.
std::unique_ptr<CompiledVsMatch> compile_vs_match(const config::VsMatch* m, std::string* error);

}  // namespace infergate::routing::detail
