#pragma once
// Internal to config/: readers for the field types Istio's networking API shares between
// VirtualService and DestinationRule (StringMatch, Destination, Headers, Percent, HTTP match
// requests). Problems are reported through the ParseContext with Istio's own wording where
// Istio's validation has one.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model/istio_networking.h"
#include "config/parse_context.h"

namespace infergate::config::detail {

// RFC 1123 label: what Istio requires of subset names and gateway namespaces/names.
bool is_dns_label(std::string_view s);

// Istio's header-name rule (^[-_A-Za-z0-9]+$).
bool is_istio_header_name(std::string_view s);

// Reports an invalid RE2 pattern at `path`; false when invalid.
bool check_istio_regex(ParseContext& ctx, const YAML::Node& at, const std::string& path,
                       const std::string& pattern);

// A StringMatch mapping. `{}` is a presence match; with `star_is_presence` (headers, query
// parameters) so is regex "*", which Istio translates to Envoy's present_match.
std::optional<IstioStringMatch> parse_string_match(ParseContext& ctx, const YAML::Node& node,
                                                   const std::string& path,
                                                   bool star_is_presence);

// spec.http[].match[] (HTTPMatchRequest).
std::optional<VsMatch> parse_vs_match(ParseContext& ctx, const std::string& path,
                                      const YAML::Node& node);

// A Destination mapping under `key` of `parent` (host required; subset; port.number).
std::optional<IstioDestination> parse_destination(ParseContext& ctx, const MapView& parent,
                                                  std::string_view key);

// A `headers` mapping (request/response set/add/remove) under `parent`, if present.
IstioHeaderOperations parse_header_operations(ParseContext& ctx, const MapView& parent);

// A Percent mapping ({value: 0..100}) under `key`, as parts per million.
std::optional<uint32_t> parse_percentage(ParseContext& ctx, const MapView& parent,
                                         std::string_view key);

}  // namespace infergate::config::detail
