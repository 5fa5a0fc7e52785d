#include "routing/route_actions.h"

#include <charconv>
#include <cstdio>

#include <re2/re2.h>

#include "routing/request_match.h"

namespace infergate::routing {

namespace {

// FNV-1a, then splitmix64's finaliser so that near-equal keys spread over all 64 bits.
uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 31);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Value of cookie `name` in the request's Cookie header(s).
std::optional<std::string_view> find_cookie(const HeaderMap& headers, std::string_view name) {
  for (const auto& e : headers) {
    if (e.name != "cookie") continue;
    std::string_view rest = e.value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name)
        return trim(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

// host and port ("" when none) of an authority; IPv6 literals keep their brackets.
std::pair<std::string_view, std::string_view> split_authority(std::string_view a) {
  if (a.starts_with("[")) {
    size_t close = a.find(']');
    if (close == std::string_view::npos) return {a, {}};
    std::string_view port = a.substr(close + 1);
    return {a.substr(0, close + 1), port.starts_with(":") ? port.substr(1) : std::string_view()};
  }
  size_t colon = a.rfind(':');
  if (colon == std::string_view::npos) return {a, {}};
  return {a.substr(0, colon), a.substr(colon + 1)};
}

}  // namespace

bool fraction_hit(uint32_t per_million, uint64_t draw) {
  const uint64_t x = static_cast<uint64_t>((static_cast<unsigned __int128>(draw) * 1'000'000) >> 64);
  return x < per_million;
}

std::optional<uint64_t> request_hash(const HashPolicy& policy, const RequestHead& head,
                                     std::string_view peer_address) {
  switch (policy.key) {
    case HashPolicy::Key::Header:
      if (const std::string* v = head.headers.get(policy.name)) return hash_bytes(*v);
      return std::nullopt;
    case HashPolicy::Key::Cookie:
      if (auto v = find_cookie(head.headers, policy.name)) return hash_bytes(*v);
      return std::nullopt;
    case HashPolicy::Key::QueryParameter: {
      std::string_view v;
      if (detail::find_query_param(head.query(), policy.name, &v)) return hash_bytes(v);
      return std::nullopt;
    }
    case HashPolicy::Key::SourceIp: {
      if (peer_address.empty()) return std::nullopt;
      return hash_bytes(split_authority(peer_address).first);
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> SessionAffinity::position(const RequestHead& head) const {
  std::optional<std::string_view> v;
  if (key == Key::Header) {
    if (const std::string* h = head.headers.get(name)) v = *h;
  } else {
    v = find_cookie(head.headers, name);
  }
  if (!v || v->empty()) return std::nullopt;
  if (v->size() == 16) {
    uint64_t p = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), p, 16);
    if (ec == std::errc() && ptr == v->data() + v->size()) return p;
  }
  return hash_bytes(*v);
}

std::string SessionAffinity::set_cookie(uint64_t position) const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(position));
  std::string c = name + "=" + hex + "; Path=/; HttpOnly";
  if (max_age) c += "; Max-Age=" + std::to_string(max_age->count());
  return c;
}

std::string PathRewrite::apply(std::string_view path) const {
  const size_t q = path.find('?');
  std::string_view only = q == std::string_view::npos ? path : path.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : path.substr(q);
  std::string out;
  if (kind == Kind::Regex) {
    out.assign(only);
    if (regex) RE2::GlobalReplace(&out, *regex, replacement);
  } else if (whole_path) {
    out = replacement;
  } else {
    out = replacement;
    out.append(only.substr(std::min(prefix_length, only.size())));
  }
  if (out.empty()) out.push_back('/');
  out.append(query);
  return out;
}

std::string Redirect::location(const RequestHead& head, uint16_t listener_port) const {
  const std::string& out_scheme = scheme.empty() ? head.scheme : scheme;
  auto [req_host, req_port] = split_authority(head.authority);
  std::string out_host = host.empty() ? std::string(req_host) : host;
  std::string out_port;
  if (port) {
    out_port = std::to_string(*port);
  } else if (port_from_request) {
    out_port = std::to_string(listener_port);
  } else if (host.empty() && (scheme.empty() || scheme == head.scheme)) {
    // Same scheme and host: the port the client used still applies.
    out_port = std::string(req_port);
  }
  if ((out_scheme == "http" && out_port == "80") || (out_scheme == "https" && out_port == "443"))
    out_port.clear();
  // Appends, not operator+: GCC 12 reports a false -Wrestrict on chained std::string +.
  std::string out;
  out.append(out_scheme).append("://").append(out_host);
  if (!out_port.empty()) out.append(":").append(out_port);
  if (path.empty()) {
    out.append(head.path.empty() ? "/" : head.path);
  } else {
    out.append(path);
    std::string_view query = head.query();
    if (path.find('?') == std::string::npos && !query.empty()) out.append("?").append(query);
  }
  return out;
}

}  // namespace infergate::routing
