#include "routing/request_match.h"

#include <tuple>

namespace infergate::routing::detail {

namespace {

std::unique_ptr<RE2> compile_regex(const std::string& pattern, std::string* error) {
  RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, opts);
  if (!re->ok()) {
    *error = "invalid regular expression \"" + pattern + "\": " + re->error();
    return nullptr;
  }
  return re;
}

bool full_match(const RE2& re, std::string_view text) {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), re);
}

bool compile_strings(const auto& in, std::vector<CompiledStringMatch>& out, bool lower_names,
                     std::string* error) {
  for (const auto& m : in) {
    CompiledStringMatch c;
    c.name = m.name;
    if (lower_names) ascii_lower(c.name);
    c.type = m.type;
    c.value = m.value;
    if (m.type == config::StringMatchType::RegularExpression) {
      c.regex = compile_regex(m.value, error);
      if (!c.regex) return false;
    }
    out.push_back(std::move(c));
  }
  return true;
}

int path_rank(config::PathMatchType t) {
  switch (t) {
    case config::PathMatchType::Exact: return 0;
    case config::PathMatchType::RegularExpression: return 1;
    case config::PathMatchType::PathPrefix: return 2;
  }
  return 3;
}

}  // namespace

bool find_query_param(std::string_view query, std::string_view name, std::string_view* value) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      *value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      return true;
    }
  }
  return false;
}

bool CompiledStringMatch::matches(std::string_view text) const {
  if (type == config::StringMatchType::Exact) return text == value;
  return full_match(*regex, text);
}

bool path_prefix_matches(std::string_view prefix, std::string_view path) {
  if (prefix == "/") return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

bool CompiledMatch::matches(const RequestHead& head, std::string_view p) const {
  if (!method.empty() && head.method != method) return false;
  switch (path_type) {
    case config::PathMatchType::Exact:
      if (p != path) return false;
      break;
    case config::PathMatchType::PathPrefix:
      if (!path_prefix_matches(path, p)) return false;
      break;
    case config::PathMatchType::RegularExpression:
      if (!full_match(*path_regex, p)) return false;
      break;
  }
  for (const auto& h : headers) {
    size_t n = 0;
    const std::string* first = nullptr;
    for (const auto& e : head.headers) {
      if (e.name != h.name) continue;
      if (!first) first = &e.value;
      ++n;
    }
    if (!first) return false;
    if (n == 1) {
      if (!h.matches(*first)) return false;
      continue;
    }
    // Sent several times: Envoy matches the values joined with ",".
    std::string joined;
    for (const auto& e : head.headers) {
      if (e.name != h.name) continue;
      if (!joined.empty()) joined.push_back(',');
      joined.append(e.value);
    }
    if (!h.matches(joined)) return false;
  }
  if (!query_params.empty()) {
    const std::string_view q = head.query();
    for (const auto& qp : query_params) {
      std::string_view value;
      if (!find_query_param(q, qp.name, &value) || !qp.matches(value)) return false;
    }
  }
  return true;
}

std::unique_ptr<CompiledMatch> compile_match(const config::RouteMatch& m, std::string* error) {
  auto c = std::make_unique<CompiledMatch>();
  c->path_type = m.path.type;
  c->path = m.path.value;
  if (c->path_type == config::PathMatchType::PathPrefix) {
    // Gateway API: a trailing "/" in a prefix is ignored ("/v1/" == "/v1").
    while (c->path.size() > 1 && c->path.back() == '/') c->path.pop_back();
  } else if (c->path_type == config::PathMatchType::RegularExpression) {
    c->path_regex = compile_regex(c->path, error);
    if (!c->path_regex) return nullptr;
  }
  c->method = m.method;
  if (!compile_strings(m.headers, c->headers, true, error)) return nullptr;
  if (!compile_strings(m.query_params, c->query_params, false, error)) return nullptr;
  return c;
}

bool precedes(const CompiledMatch& a, const CompiledMatch& b) {
  // Smaller tuple = higher precedence; negated counts put "more" first.
  auto key = [](const CompiledMatch& m) {
    return std::make_tuple(path_rank(m.path_type), -static_cast<long>(m.path.size()),
                           m.method.empty() ? 1 : 0, -static_cast<long>(m.headers.size()),
                           -static_cast<long>(m.query_params.size()),
                           // No timestamp = not created yet in Kubernetes terms: the newest.
                           m.creation_timestamp.empty(), std::string_view(m.creation_timestamp),
                           std::string_view(m.route_key),
                           m.rule_index, m.match_index);
  };
  return key(a) < key(b);
}

}  // namespace infergate::routing::detail
