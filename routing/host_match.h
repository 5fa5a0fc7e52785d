#pragma once
// Internal to routing/: hostname handling for route attachment and matching.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace infergate::routing::detail {

// "*.example.com" matches "a.example.com" and "a.b.example.com", never "example.com".
// Both arguments lower-case.
bool hostname_matches(std::string_view pattern, std::string_view host);

// Gateway API listener/route hostname intersection: the more specific of the two when one
// covers the other, nullopt when they cannot both match a request. "" = any.
std::optional<std::string> intersect_hostnames(std::string_view listener, std::string_view route);

// :authority -> lower-case host without port or trailing dot, written into `buf`; empty view
// when it does not fit (such a request can only match routes without hostnames).
std::string_view normalize_authority(std::string_view authority, std::span<char> buf);

}  // namespace infergate::routing::detail
