#pragma once
// What a matched route does besides choosing a backend, in the form Envoy executes it. Routes
// built from an Istio VirtualService carry these (Istio translates to exactly these Envoy
// route actions); HTTPRoute rules keep theirs in `filters` and also fill `mirrors`.
// Everything here is immutable after RouteTable::build and safe to read from any worker.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "routing/http_message.h"

namespace re2 {
class RE2;  // a forward declaration keeps RE2's header out of everything that sees a Route
}

namespace infergate::routing {

// True for `per_million` parts per million of uniformly distributed draws (a fault's or a
// mirror's percentage): floor(draw * 10^6 / 2^64) < per_million.
bool fraction_hit(uint32_t per_million, uint64_t draw);

// DestinationRule consistentHash, as Envoy's RouteAction.hash_policy: which request property
// keeps a client on one endpoint.
struct HashPolicy {
  enum class Key { Header, Cookie, QueryParameter, SourceIp };
  Key key = Key::Header;
  std::string name;  // header (lower-case), cookie or query parameter name
};

// The request's hash under `policy`; nullopt when the request lacks the property (Envoy then
// picks as if there were no hash policy). SourceIp hashes `peer_address` without its port.
std::optional<uint64_t> request_hash(const HashPolicy& policy, const RequestHead& head,
                                     std::string_view peer_address = {});

// HTTPRoute sessionPersistence: which backend of a rule a session sticks to. A session's
// position in [0, 2^64) is the draw Route::pick_backend maps onto the weights, so moving weight
// toward one backend only moves sessions toward it: a growing canary keeps the users it has.
struct SessionAffinity {
  enum class Key { Cookie, Header };
  Key key = Key::Cookie;
  std::string name;                              // cookie or header name
  std::optional<std::chrono::seconds> max_age;   // a Permanent cookie's lifetime

  // The request's position: a cookie we issued carries it as 16 hex digits; any other value
  // (a header, a cookie of the client's own) is hashed. nullopt when the request has none.
  std::optional<uint64_t> position(const RequestHead& head) const;
  // The Set-Cookie value that starts a session at `position`.
  std::string set_cookie(uint64_t position) const;
};

// A copy of the request sent to `cluster` for `per_million` of requests; its answer is
// discarded (Envoy's request_mirror_policies).
struct Mirror {
  std::string cluster;
  uint32_t per_million = 1'000'000;
};

// VirtualService fault injection (Envoy's fault filter): decide with fraction_hit().
struct FaultPolicy {
  std::chrono::milliseconds delay{0};
  uint32_t delay_per_million = 0;
  uint16_t abort_http_status = 0;  // 0 = no HTTP abort
  std::string abort_grpc_status;   // "" = no gRPC abort; else grpc-status by name
  uint32_t abort_per_million = 0;
};

// Envoy prefix_rewrite / regex_rewrite, resolved for one match: the query string is kept.
struct PathRewrite {
  enum class Kind { Prefix, Regex };
  Kind kind = Kind::Prefix;
  // Prefix: the first `prefix_length` bytes of the path (the matched prefix; the whole path
  // for exact and regex uri matches, where `whole_path` is set) become `replacement`.
  size_t prefix_length = 0;
  bool whole_path = false;
  std::string replacement;
  std::shared_ptr<const re2::RE2> regex;  // Regex: every match is replaced by `replacement`
                                     // (\1-style groups)

  // `path` is origin-form (path and query); returns the rewritten origin-form.
  std::string apply(std::string_view path) const;
};

// VirtualService redirect (Envoy RedirectAction).
struct Redirect {
  std::string scheme;       // "" = the request's
  std::string host;         // "" = the request's host
  std::optional<uint16_t> port;
  bool port_from_request = false;  // derivePort FROM_REQUEST_PORT: the listener's port
  std::string path;         // "" = the request's; else replaces the path (query kept unless
                            // `path` has its own)
  uint16_t code = 301;

  // The Location header for `head`; `listener_port` backs port_from_request. Default ports
  // (80 for http, 443 for https) are left out, as Istio does.
  std::string location(const RequestHead& head, uint16_t listener_port) const;
};

struct DirectResponse {
  uint16_t status = 200;
  std::string body;
};

}  // namespace infergate::routing
