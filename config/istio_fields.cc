// Istio networking field types shared by VirtualService and DestinationRule.
#include "config/istio_fields.h"

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <re2/re2.h>

#include <cmath>

#include "config/parsers.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

bool is_internal_header(std::string_view name) {
  return name.starts_with(":") || absl::EqualsIgnoreCase(to_absl(name), "host");
}

bool is_authority_header(std::string_view name) {
  return absl::EqualsIgnoreCase(to_absl(name), ":authority") ||
         absl::EqualsIgnoreCase(to_absl(name), "host");
}

// A map of header name -> StringMatch (headers, withoutHeaders) or parameter name ->
// StringMatch (queryParams). Envoy compares header names lower-cased.
std::vector<IstioNamedMatch> parse_named_matches(ParseContext& ctx, const MapView& parent,
                                                 std::string_view key, bool headers) {
  std::vector<IstioNamedMatch> out;
  auto m = parent.map(key);
  if (!m) return out;
  for (const auto& [name, value] : m->items()) {
    const std::string path = m->path_of(name);
    if (headers && !is_istio_header_name(name)) {
      ctx.error_at_line(m->key_line(name), path,
                        cat("header name \"", name, "\" is not a valid header name"));
      continue;
    }
    if (value.IsNull()) {
      // Istio: "header match cannot be null" (an empty mapping `{}` is the presence match).
      ctx.error_at_line(m->key_line(name), path, "cannot be null (write {} to match any value)");
      continue;
    }
    auto sm = parse_string_match(ctx, value, path, /*star_is_presence=*/true);
    if (!sm) continue;
    std::string n = name;
    if (headers) n = absl::AsciiStrToLower(n);
    out.push_back(IstioNamedMatch{std::move(n), std::move(*sm)});
  }
  return out;
}

void parse_header_map(ParseContext& ctx, const MapView& ops, std::string_view key,
                      bool request, std::vector<HeaderValue>& into, std::string* authority) {
  auto m = ops.map(key);
  if (!m) return;
  for (const auto& [name, value] : m->items()) {
    const std::string path = m->path_of(name);
    const std::string* v = &value.Scalar();
    if (value.IsNull() || !value.IsScalar()) {
      ctx.error_at_line(m->key_line(name), path, "must be a string");
      continue;
    }
    if (request && is_authority_header(name)) {
      // Istio turns a request ":authority"/"host" header into Envoy's host rewrite.
      *authority = *v;
      continue;
    }
    if (name.empty() || is_internal_header(name) || !is_istio_header_name(name)) {
      ctx.error_at_line(m->key_line(name), path, cat("\"", name, "\" is not a valid header name"));
      continue;
    }
    into.push_back(HeaderValue{name, *v});
  }
}

void parse_header_ops(ParseContext& ctx, const MapView& headers, std::string_view key,
                      bool request, HeaderModifier& out, std::string* authority) {
  auto ops = headers.map(key);
  if (!ops) return;
  ops->allow({"set", "add", "remove"});
  std::string set_authority, add_authority;
  parse_header_map(ctx, *ops, "set", request, out.set, &set_authority);
  parse_header_map(ctx, *ops, "add", request, out.add, &add_authority);
  // Istio: an authority given in `set` wins over one in `add`.
  if (authority) *authority = set_authority.empty() ? add_authority : set_authority;
  for (const auto& [path, node] : ops->list("remove")) {
    auto name = scalar_string(ctx, node, path);
    if (!name) continue;
    if (name->empty() || is_internal_header(*name) || !is_istio_header_name(*name)) {
      ctx.error(node, path, cat("\"", *name, "\" is not a valid header name"));
      continue;
    }
    out.remove.push_back(*name);
  }
}

}  // namespace

bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

bool is_istio_header_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return false;
  }
  return true;
}

bool check_istio_regex(ParseContext& ctx, const YAML::Node& at, const std::string& path,
                       const std::string& pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  RE2 re(pattern, opts);
  if (re.ok()) return true;
  ctx.error(at, path, cat("invalid regular expression (RE2 syntax): ", re.error()));
  return false;
}

std::optional<IstioStringMatch> parse_string_match(ParseContext& ctx, const YAML::Node& node,
                                                   const std::string& path,
                                                   bool star_is_presence) {
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"exact", "prefix", "regex"});
  IstioStringMatch out;
  int kinds = 0;
  for (auto [key, type] : {std::pair{"exact", IstioMatchType::Exact},
                           std::pair{"prefix", IstioMatchType::Prefix},
                           std::pair{"regex", IstioMatchType::Regex}}) {
    if (!m.has(key)) continue;
    ++kinds;
    auto v = m.string(key);
    if (!v) return std::nullopt;
    out.type = type;
    out.value = *v;
  }
  if (kinds > 1) {
    ctx.error(node, path, "only one of exact, prefix or regex may be set");
    return std::nullopt;
  }
  if (out.type == IstioMatchType::Regex) {
    if (star_is_presence && out.value == "*") {
      out.type = IstioMatchType::Present;
      out.value.clear();
    } else if (!check_istio_regex(ctx, *m.find("regex"), m.path_of("regex"), out.value)) {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<VsMatch> parse_vs_match(ParseContext& ctx, const std::string& path,
                                      const YAML::Node& node) {
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"name", "uri", "scheme", "method", "authority", "headers", "port", "sourceLabels",
           "gateways", "queryParams", "ignoreUriCase", "withoutHeaders", "sourceNamespace",
           "statPrefix"});
  const size_t errors_before = ctx.error_count();
  VsMatch match;
  match.line = ctx.line(node);
  if (auto n = m.string("name")) match.name = *n;
  auto single = [&](std::string_view key) -> std::optional<IstioStringMatch> {
    const YAML::Node* v = m.find(key);
    if (!v) return std::nullopt;
    return parse_string_match(ctx, *v, m.path_of(key), /*star_is_presence=*/false);
  };
  match.uri = single("uri");
  match.scheme = single("scheme");
  match.method = single("method");
  match.authority = single("authority");
  match.headers = parse_named_matches(ctx, m, "headers", true);
  match.without_headers = parse_named_matches(ctx, m, "withoutHeaders", true);
  match.query_params = parse_named_matches(ctx, m, "queryParams", false);
  if (auto p = m.integer("port", 0, 65535); p && *p != 0) match.port = static_cast<uint16_t>(*p);
  match.ignore_uri_case = m.boolean("ignoreUriCase").value_or(false);
  match.gateways = m.string_list("gateways");
  if (m.has("sourceLabels") || m.has("sourceNamespace")) {
    match.source_restricted = true;
    ctx.warning_at_line(m.key_line(m.has("sourceLabels") ? "sourceLabels" : "sourceNamespace"),
                        m.path_of(m.has("sourceLabels") ? "sourceLabels" : "sourceNamespace"),
                        "selects client workloads, which do not exist outside a mesh: this "
                        "match is never taken");
  }
  if (ctx.error_count() != errors_before) return std::nullopt;
  return match;
}

std::optional<IstioDestination> parse_destination(ParseContext& ctx, const MapView& parent,
                                                  std::string_view key) {
  auto m = parent.map(key, true);
  if (!m) return std::nullopt;
  m->allow({"host", "subset", "port"});
  IstioDestination d;
  d.line = m->line();
  const size_t errors_before = ctx.error_count();
  if (auto h = m->string("host", true)) {
    d.host = absl::AsciiStrToLower(*h);
    if (d.host == "*" || !valid_hostname(d.host))
      ctx.error(*m->find("host"), m->path_of("host"),
                cat("invalid destination host \"", *h, "\""));
  }
  if (auto s = m->string("subset")) {
    if (!is_dns_label(*s))
      ctx.error(*m->find("subset"), m->path_of("subset"),
                cat("subset name \"", *s, "\" is invalid (must be a DNS label)"));
    d.subset = *s;
  }
  if (auto p = m->map("port")) {
    p->allow({"number"});
    if (auto n = p->integer("number", 1, 65535, true)) d.port = static_cast<uint16_t>(*n);
  }
  if (ctx.error_count() != errors_before) return std::nullopt;
  return d;
}

IstioHeaderOperations parse_header_operations(ParseContext& ctx, const MapView& parent) {
  IstioHeaderOperations out;
  auto h = parent.map("headers");
  if (!h) return out;
  h->allow({"request", "response"});
  parse_header_ops(ctx, *h, "request", true, out.request, &out.authority);
  parse_header_ops(ctx, *h, "response", false, out.response, nullptr);
  return out;
}

std::optional<uint32_t> parse_percentage(ParseContext& ctx, const MapView& parent,
                                         std::string_view key) {
  auto m = parent.map(key);
  if (!m) return std::nullopt;
  m->allow({"value"});
  const YAML::Node* v = m->find("value");
  if (!v) return 0;  // Percent{} is 0 %
  double value = 0;
  if (!v->IsScalar() || v->Tag() == "!" || !absl::SimpleAtod(v->Scalar(), &value) ||
      !std::isfinite(value)) {
    ctx.error(*v, m->path_of("value"), "must be a number");
    return std::nullopt;
  }
  if (value < 0 || value > 100) {
    ctx.error(*v, m->path_of("value"), "must be between 0 and 100");
    return std::nullopt;
  }
  // Istio hands Envoy value * 10000 parts per million.
  return static_cast<uint32_t>(std::llround(value * 10000.0));
}

}  // namespace infergate::config::detail
