// The request path as everything after the connection manager sees it: Istio's
// meshConfig.pathNormalization (Envoy's normalize_path, merge_slashes and
// path_with_escaped_slashes_action), applied once per request before routing, authorization,
// rate limits, mirrors, the access log and the upstream read the path.
//
// Why: a policy that denies /admin is only as good as the gateway's idea of what /admin is.
// Model servers (Python frameworks above all) decode %61 to a, resolve /x/../ and /./, and some
// take %2F or \ for /. Without this step /./admin or /%61dmin pass a DENY on /admin and arrive
// at the server as /admin.
//
// Settings (config::PathNormalization):
//   NONE                      the path as received (only what no setting lets through is
//                             refused: a fragment, raw control characters);
//   BASE (default)            RFC 3986 normalization: percent-encoded unreserved characters
//                             decoded (%61 -> a, %2E -> .), what stays encoded in upper-case
//                             hex (%2f -> %2F), a backslash read as "/" as Envoy does, bytes
//                             that may not appear in a path percent-encoded (the WHATWG path
//                             percent-encode set), then dot segments removed (5.2.4);
//   MERGE_SLASHES             BASE, then runs of "/" merged into one;
//   DECODE_AND_MERGE_SLASHES  MERGE_SLASHES, with %2F and %5C decoded to "/" first.
// The escaped-slash action (Envoy's path_with_escaped_slashes_action) decides what happens
// to %2F / %5C that the setting does not decode: kept, refused, or decoded and then forwarded
// or answered with a redirect to the decoded path.
//
// Refused, whatever decodes them (Envoy refuses them too): a "%" not followed by two hex
// digits, NUL (raw or %00), raw control characters, a fragment ("#"), and — unlike Envoy,
// which silently stops at the root — a ".." that would climb above the root.
// Only the path is normalized: the query is kept byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/model/infergate.h"

namespace infergate::routing {

// Why a path was refused.
enum class PathError : uint8_t {
  None,
  BadEscape,     // "%" not followed by two hex digits
  Nul,           // a NUL byte, raw or %00
  ControlChar,   // a raw byte below 0x20 or DEL
  Fragment,      // "#": a fragment is never sent to a server
  AboveRoot,     // a ".." with no segment left to remove
  EscapedSlash,  // %2F or %5C while the escaped-slash action is REJECT_REQUEST
};

// "bad_escape", "nul", ... for logs and tests.
std::string_view path_error_name(PathError e);

enum class PathAction : uint8_t {
  Forward,   // go on with the (possibly changed) path
  Redirect,  // answer 307 with Location: the changed path (UNESCAPE_AND_REDIRECT)
  Reject,    // answer 400; `error` says why; the target is left as it was
};

struct PathResult {
  PathAction action = PathAction::Forward;
  PathError error = PathError::None;
  bool changed = false;  // the target was rewritten
};

// Normalizes the path of an origin-form `target` ("/path?query") in place, as `settings`
// say. A target that needs no change is only scanned, never copied. A target not starting
// with "/" gets one (Envoy's canonical form); callers leave "*" and CONNECT authorities alone.
PathResult normalize_path(std::string& target, const config::PathNormalization& settings);

// RFC 3986 section 5.2.4 remove_dot_segments, literally (relative inputs included). `climbed`,
// when given, is set when a ".." found no segment to remove: the path reached above the root
// (RFC 3986 clamps there; the gateway refuses such a request instead).
std::string remove_dot_segments(std::string_view path, bool* climbed = nullptr);

// True when some segment of `path` (up to a "?") is "." or "..": what no accepted result of a
// normalizing setting may contain.
bool has_dot_segment(std::string_view path);

}  // namespace infergate::routing
