#include "routing/istio_match.h"

#include "routing/request_match.h"

namespace infergate::routing::detail {

namespace {

using config::IstioMatchType;

bool compile_string(const config::IstioStringMatch& in, bool ignore_case,
                    CompiledIstioString* out, std::string* error) {
  out->type = in.type;
  out->value = in.value;
  out->ignore_case = ignore_case && in.type != IstioMatchType::Regex;
  if (out->ignore_case) ascii_lower(out->value);
  if (in.type == IstioMatchType::Regex) {
    RE2::Options opts;
    opts.set_log_errors(false);
    out->regex = std::make_unique<RE2>(in.value, opts);
    if (!out->regex->ok()) {
      *error = "invalid regular expression \"" + in.value + "\": " + out->regex->error();
      return false;
    }
  }
  return true;
}

bool compile_named(const std::vector<config::IstioNamedMatch>& in,
                   std::vector<CompiledNamedMatch>* out, std::string* error) {
  for (const auto& m : in) {
    CompiledNamedMatch c;
    c.name = m.name;
    if (!compile_string(m.match, false, &c.match, error)) return false;
    out->push_back(std::move(c));
  }
  return true;
}

// The value of header `name` (lower-case); several values are joined with "," into
// *scratch, as Envoy does. False when the request does not have it.
bool header_value(const HeaderMap& headers, std::string_view name, std::string* scratch,
                  std::string_view* value) {
  const std::string* first = nullptr;
  size_t count = 0;
  for (const auto& e : headers) {
    if (e.name != name) continue;
    if (!first) first = &e.value;
    ++count;
  }
  if (!first) return false;
  if (count == 1) {
    *value = *first;
    return true;
  }
  scratch->clear();
  for (const auto& e : headers) {
    if (e.name != name) continue;
    if (!scratch->empty()) scratch->push_back(',');
    scratch->append(e.value);
  }
  *value = *scratch;
  return true;
}

}  // namespace

bool CompiledIstioString::matches(std::string_view text) const {
  switch (type) {
    case IstioMatchType::Present:
      return true;
    case IstioMatchType::Exact:
      return ignore_case ? iequals(text, value) : text == value;
    case IstioMatchType::Prefix:
      if (text.size() < value.size()) return false;
      return ignore_case ? iequals(text.substr(0, value.size()), value) : text.starts_with(value);
    case IstioMatchType::Regex:
      return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *regex);
  }
  return false;
}

bool CompiledVsMatch::matches(const RequestHead& head, std::string_view path) const {
  if (uri && !uri->matches(path)) return false;
  if (method && !method->matches(head.method)) return false;
  if (authority && !authority->matches(head.authority)) return false;
  if (scheme && !scheme->matches(head.scheme)) return false;
  std::string scratch;
  std::string_view value;
  for (const auto& h : headers) {
    if (!header_value(head.headers, h.name, &scratch, &value) || !h.match.matches(value))
      return false;
  }
  for (const auto& h : without_headers) {
    const bool present = header_value(head.headers, h.name, &scratch, &value);
    if (h.match.type == IstioMatchType::Present) {
      if (present) return false;
      continue;
    }
    // Envoy's invert_match with treat_missing_header_as_empty.
    if (h.match.matches(present ? value : std::string_view())) return false;
  }
  if (!query_params.empty()) {
    const std::string_view q = head.query();
    for (const auto& p : query_params) {
      if (!find_query_param(q, p.name, &value) || !p.match.matches(value)) return false;
    }
  }
  return true;
}

bool CompiledVsMatch::catch_all() const {
  if (method || authority || scheme || !headers.empty() || !without_headers.empty() ||
      !query_params.empty())
    return false;
  if (!uri || uri->type == IstioMatchType::Present) return true;
  if (uri->type == IstioMatchType::Prefix) return uri->value == "/";
  if (uri->type == IstioMatchType::Regex) return uri->value == ".*";
  return false;
}

std::unique_ptr<CompiledVsMatch> compile_vs_match(const config::VsMatch* m, std::string* error) {
  auto c = std::make_unique<CompiledVsMatch>();
  if (!m) return c;
  auto one = [&](const std::optional<config::IstioStringMatch>& in, bool ignore_case,
                 std::optional<CompiledIstioString>* out) {
    if (!in) return true;
    out->emplace();
    return compile_string(*in, ignore_case, &**out, error);
  };
  if (!one(m->uri, m->ignore_uri_case, &c->uri) || !one(m->scheme, false, &c->scheme) ||
      !one(m->method, false, &c->method) || !one(m->authority, false, &c->authority) ||
      !compile_named(m->headers, &c->headers, error) ||
      !compile_named(m->without_headers, &c->without_headers, error) ||
      !compile_named(m->query_params, &c->query_params, error))
    return nullptr;
  return c;
}

}  // namespace infergate::routing::detail
