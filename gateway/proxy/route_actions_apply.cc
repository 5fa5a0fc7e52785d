#include "gateway/proxy/route_actions_apply.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

namespace infergate::gateway {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  ascii_lower(out);
  return out;
}

std::string_view without_trailing_slash(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

// A Gateway API path modifier applied to the origin-form `path` (query kept); nullopt when
// it is a ReplacePrefixMatch without a known prefix.
std::optional<std::string> modified_path(const config::PathRewrite& p, std::string_view path, std::string_view prefix) {
  if (p.type == config::PathRewriteType::ReplacePrefixMatch) {
    if (prefix.empty()) return std::nullopt;
    return replace_prefix(path, prefix, p.value);
  }
  std::string out = p.value.empty() ? "/" : p.value;
  const size_t q = path.find('?');
  if (q != std::string_view::npos && q + 1 < path.size()) out.append(path.substr(q));
  return out;
}

// Gateway API RequestRedirect as the Envoy RedirectAction it is translated to. Without a
// port and a scheme the listener's port applies (Gateway API).
std::optional<routing::Redirect> http_route_redirect(const config::RequestRedirect& r, const RequestHead& head,
                                                     std::string_view prefix) {
  routing::Redirect out;
  out.scheme = r.scheme;
  out.host = r.hostname;
  out.port = r.port;
  out.port_from_request = !r.port && r.scheme.empty() && !r.hostname.empty();
  out.code = r.status_code;
  if (r.path) {
    auto path = modified_path(*r.path, head.path, prefix);
    if (!path) return std::nullopt;
    out.path = std::move(*path);  // carries the query: location() keeps it as it is
  }
  return out;
}

RouteReply redirect_reply(const routing::Redirect& r, const RequestHead& head, uint16_t listener_port) {
  RouteReply reply;
  reply.status = r.code;
  reply.headers.add_lower("location", r.location(head, listener_port));
  return reply;
}

}  // namespace

std::string replace_prefix(std::string_view path, std::string_view prefix, std::string_view replacement) {
  const size_t q = path.find('?');
  std::string_view path_only = q == std::string_view::npos ? path : path.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : path.substr(q);
  const std::string_view pre = without_trailing_slash(prefix);
  // After an element-wise match the rest is "" or starts with "/": it never glues onto the
  // replacement's last segment, and a trailing "/" of the replacement is not doubled.
  std::string out(without_trailing_slash(replacement));
  out.append(path_only.substr(std::min(pre.size(), path_only.size())));
  if (out.empty()) out.push_back('/');  // not = "/": GCC 12 reports a false -Wrestrict
  out.append(query);
  return out;
}

std::optional<RouteReply> route_reply(const routing::Route& route, const RequestHead& head, uint16_t listener_port,
                                      std::string_view prefix) {
  if (route.direct_response) {
    RouteReply reply;
    reply.status = route.direct_response->status;
    reply.body = route.direct_response->body;
    return reply;
  }
  if (route.redirect) return redirect_reply(*route.redirect, head, listener_port);
  for (const auto& f : route.filters) {
    if (f.type != config::FilterType::RequestRedirect || !f.redirect) continue;
    if (auto r = http_route_redirect(*f.redirect, head, prefix)) return redirect_reply(*r, head, listener_port);
  }
  return std::nullopt;
}

void apply_header_modifier(const config::HeaderModifier& m, HeaderMap& headers) {
  for (const auto& name : m.remove) headers.remove(lower(name));
  for (const auto& h : m.set) headers.set(lower(h.name), h.value);
  for (const auto& h : m.add) headers.add(h.name, h.value);
}

bool apply_request_filters(const std::vector<config::HttpRouteFilter>& filters, RequestHead& head,
                           std::string_view prefix) {
  bool path_changed = false;
  for (const auto& f : filters) {
    if (f.type == config::FilterType::RequestHeaderModifier) {
      apply_header_modifier(f.header_modifier, head.headers);
      // The router forwards the authority, never a "host" header: a modifier that sets
      // one rewrites the authority instead of sending Host twice.
      if (const std::string* host = head.headers.get("host")) {
        head.authority = *host;
        head.headers.remove("host");
      }
    } else if (f.type == config::FilterType::URLRewrite && f.url_rewrite) {
      if (!f.url_rewrite->hostname.empty()) head.authority = f.url_rewrite->hostname;
      if (f.url_rewrite->path) {
        // The query string stays, as Envoy's path rewrites keep it.
        if (auto path = modified_path(*f.url_rewrite->path, head.path, prefix)) {
          head.path = std::move(*path);
          path_changed = true;
        }
      }
    }
  }
  return path_changed;
}

void apply_response_filters(const std::vector<config::HttpRouteFilter>& filters, HeaderMap& headers) {
  for (const auto& f : filters)
    if (f.type == config::FilterType::ResponseHeaderModifier) apply_header_modifier(f.header_modifier, headers);
}

FaultDecision decide_fault(const routing::FaultPolicy& fault, uint64_t delay_draw, uint64_t abort_draw) {
  FaultDecision d;
  if (fault.delay.count() > 0 && routing::fraction_hit(fault.delay_per_million, delay_draw)) d.delay = fault.delay;
  if ((fault.abort_http_status || !fault.abort_grpc_status.empty()) &&
      routing::fraction_hit(fault.abort_per_million, abort_draw)) {
    d.abort_status = fault.abort_http_status;
    if (!d.abort_status) d.abort_grpc_status = fault.abort_grpc_status;
  }
  return d;
}

int grpc_status_code(std::string_view name) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK",           "CANCELLED",          "UNKNOWN",       "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND",    "ALREADY_EXISTS",     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",      "OUT_OF_RANGE",       "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",
      "DATA_LOSS",    "UNAUTHENTICATED"};
  for (size_t i = 0; i < kNames.size(); ++i)
    if (iequals(kNames[i], name)) return static_cast<int>(i);
  int code = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), code);
  if (ec == std::errc() && ptr == name.data() + name.size() && code >= 0 && code <= 16) return code;
  return 2;
}

}  // namespace infergate::gateway
