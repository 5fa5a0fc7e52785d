// The pure checks the admin API runs on a request before any handler sees it: is it a
// browser's cross-site request, is its body a type a cross-site form cannot send, how deeply
// nested is it, is the change rate within bounds. No sockets, no clocks of their own, so each
// is unit-tested alone (tests/unit/gateway/admin_input_test.cc).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace infergate::gateway {

// `s` without leading and trailing whitespace (header values, token file lines).
std::string_view trim(std::string_view s);

// The browser headers of one request, as sent ("" = absent).
struct BrowserHeaders {
  std::string host;            // Host
  std::string origin;          // Origin
  std::string sec_fetch_site;  // Sec-Fetch-Site
  bool any_sec_fetch = false;  // any Sec-Fetch-* header: the client is a browser
};

// "" when a state-changing request with these headers may go on; otherwise why not. Refused:
// Sec-Fetch-Site cross-site or same-site (another site, or a sibling subdomain), an Origin
// of "null" (sandboxed frames, file: pages), and an Origin whose host[:port] is not the Host
// the request was sent to. Requests without Origin and Sec-Fetch-* (curl, scripts) pass.
std::string cross_site_refusal(const BrowserHeaders& h);

// Whether a Host header names this machine: localhost, 127.x.y.z or [::1], with any port.
// A loopback admin without authentication answers only those, so that a page whose DNS name
// rebinds to 127.0.0.1 cannot read or change it as its own origin.
bool loopback_host(std::string_view host);

// The media type of a Content-Type value, lower-cased, without parameters.
std::string media_type(std::string_view content_type);

// "" when a state-changing request may carry `content_type` with a body of `body_size` bytes;
// otherwise why not (the 415 message). The types a cross-site HTML form or a fetch() without
// a CORS preflight can send (text/plain, application/x-www-form-urlencoded, multipart/form-data)
// are refused even with an empty body; any other body must be application/json, or for
// `yaml_allowed` (POST /config) application/yaml, application/x-yaml or text/yaml.
std::string content_type_refusal(std::string_view content_type, size_t body_size, bool yaml_allowed);

// Deepest nesting of JSON arrays and objects (0 for a scalar), strings skipped. Stops
// counting past `limit` + 1, so a hostile body costs one pass and no recursion.
size_t json_nesting_depth(std::string_view text, size_t limit);

// An upper estimate of YAML nesting: block indentation levels (a "- " entry or a "? " key is one more)
// plus flow collections ({}, []) open at that point, quoted scalars, comments and block
// scalars' text skipped. It errs high on odd layouts, never low for the usual ones, and is
// what decides before yaml-cpp, which recurses, ever sees the text.
size_t yaml_nesting_depth(std::string_view text, size_t limit);

// A token bucket: `burst` requests at once, refilled at `rate` per second.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double rate, double burst, Clock::time_point now);
  bool try_take(Clock::time_point now);
  // Whole seconds until a token is available (for Retry-After), at least 1.
  long retry_after_s(Clock::time_point now) const;

 private:
  void refill(Clock::time_point now);
  double rate_, burst_, tokens_;
  Clock::time_point last_;
};

}  // namespace infergate::gateway
