// Gateway API HTTPRoute. A foreign kind: unknown fields are warnings, wrong values errors.
#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include "config/str_cat.h"
#include <re2/re2.h>

#include "config/parsers.h"

namespace infergate::config::detail {

bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  if (h.starts_with("*.")) h.remove_prefix(2);
  for (char c : h) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'))
      return false;
  }
  return !h.empty() && h.front() != '.' && h.back() != '.';
}

namespace {

void check_regex(ParseContext& ctx, const YAML::Node& at, const std::string& path,
                 const std::string& pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  RE2 re(pattern, opts);
  if (!re.ok()) ctx.error(at, path, cat("invalid regular expression: ", re.error()));
}

std::optional<uint16_t> optional_port(const MapView& m) {
  if (auto p = m.integer("port", 1, 65535)) return static_cast<uint16_t>(*p);
  return std::nullopt;
}

std::optional<ParentRef> parse_parent_ref(ParseContext& ctx, const ObjectMeta& route,
                                          const std::string& path, const YAML::Node& node) {
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"group", "kind", "namespace", "name", "sectionName", "port"});
  ParentRef ref;
  ref.line = ctx.line(node);
  auto name = m.string("name", true);
  if (!name) return std::nullopt;
  ref.name = *name;
  if (auto g = m.string("group")) ref.group = *g;
  if (auto k = m.string("kind")) ref.kind = *k;
  auto ns = m.string("namespace");
  ref.ns = ns.value_or(route.ns);
  ref.ns_written = ns.has_value();
  if (auto s = m.string("sectionName")) ref.section_name = *s;
  ref.port = optional_port(m);
  return ref;
}

template <typename Match>
std::vector<Match> parse_string_matches(ParseContext& ctx, const MapView& parent,
                                        std::string_view key, bool case_insensitive_names) {
  std::vector<Match> out;
  for (const auto& [path, node] : parent.list(key)) {
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    m.allow({"type", "name", "value"});
    Match match;
    auto type = one_of(ctx, m, "type", {"Exact", "RegularExpression"});
    if (type && *type == "RegularExpression") match.type = StringMatchType::RegularExpression;
    auto name = m.string("name", true);
    auto value = m.string("value", true);
    if (!name || !value) continue;
    match.name = *name;
    match.value = *value;
    if (match.type == StringMatchType::RegularExpression)
      check_regex(ctx, node, m.path_of("value"), match.value);
    bool duplicate = false;
    for (const auto& other : out) {
      duplicate = duplicate || (case_insensitive_names ? absl::EqualsIgnoreCase(to_absl(other.name), to_absl(match.name))
                                                       : other.name == match.name);
    }
    if (duplicate) {
      // Gateway API: only the first entry with an equivalent name is considered.
      ctx.warning(node, m.path_of("name"), "repeats an earlier name; only the first counts");
      continue;
    }
    out.push_back(std::move(match));
  }
  return out;
}

std::optional<RouteMatch> parse_match(ParseContext& ctx, const std::string& path,
                                      const YAML::Node& node) {
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"path", "headers", "queryParams", "method"});
  RouteMatch match;
  match.line = ctx.line(node);
  if (auto p = m.map("path")) {
    p->allow({"type", "value"});
    auto type = one_of(ctx, *p, "type", {"Exact", "PathPrefix", "RegularExpression"});
    if (type && *type == "Exact") match.path.type = PathMatchType::Exact;
    if (type && *type == "RegularExpression") match.path.type = PathMatchType::RegularExpression;
    if (auto v = p->string("value")) match.path.value = *v;
    const YAML::Node& at = p->find("value") ? *p->find("value") : p->node();
    if (match.path.type == PathMatchType::RegularExpression) {
      check_regex(ctx, at, p->path_of("value"), match.path.value);
    } else if (match.path.value.empty() || match.path.value.front() != '/') {
      ctx.error(at, p->path_of("value"), "must start with \"/\"");
    } else if (match.path.value.find("//") != std::string::npos ||
               match.path.value.find('?') != std::string::npos ||
               match.path.value.find('#') != std::string::npos) {
      ctx.error(at, p->path_of("value"), "must not contain \"//\", \"?\" or \"#\"");
    }
  }
  match.headers = parse_string_matches<HeaderMatch>(ctx, m, "headers", true);
  match.query_params = parse_string_matches<QueryParamMatch>(ctx, m, "queryParams", false);
  if (auto method = one_of(ctx, m, "method",
                           {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                            "TRACE", "PATCH"}))
    match.method = *method;
  return match;
}

void parse_header_modifier(ParseContext& ctx, const MapView& m, HeaderModifier& out) {
  m.allow({"set", "add", "remove"});
  auto values = [&](std::string_view key, std::vector<HeaderValue>& into) {
    for (const auto& [path, node] : m.list(key)) {
      MapView h(ctx, node, path);
      if (!h.valid()) continue;
      h.allow({"name", "value"});
      auto name = h.string("name", true);
      auto value = h.string("value", true);
      if (name && value) into.push_back(HeaderValue{*name, *value});
    }
  };
  values("set", out.set);
  values("add", out.add);
  out.remove = m.string_list("remove");
}

std::optional<PathRewrite> parse_path_rewrite(ParseContext& ctx, const MapView& m) {
  auto p = m.map("path");
  if (!p) return std::nullopt;
  p->allow({"type", "replaceFullPath", "replacePrefixMatch"});
  auto type = one_of(ctx, *p, "type", {"ReplaceFullPath", "ReplacePrefixMatch"}, true);
  if (!type) return std::nullopt;
  PathRewrite rw;
  if (*type == "ReplaceFullPath") {
    rw.type = PathRewriteType::ReplaceFullPath;
    if (auto v = p->string("replaceFullPath", true)) rw.value = *v;
  } else {
    rw.type = PathRewriteType::ReplacePrefixMatch;
    if (auto v = p->string("replacePrefixMatch", true)) rw.value = *v;
  }
  return rw;
}

std::optional<HttpRouteFilter> parse_filter(ParseContext& ctx, const ObjectMeta& route,
                                            const std::string& path, const YAML::Node& node) {
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"type", "requestHeaderModifier", "responseHeaderModifier", "requestMirror",
           "requestRedirect", "urlRewrite", "extensionRef"});
  auto type = one_of(ctx, m, "type",
                     {"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror",
                      "RequestRedirect", "URLRewrite", "ExtensionRef"},
                     true);
  if (!type) return std::nullopt;
  HttpRouteFilter f;
  f.line = ctx.line(node);
  // Gateway API: the field named after the type is required.
  auto section = [&](std::string_view key) { return m.map(key, true); };
  if (*type == "RequestHeaderModifier" || *type == "ResponseHeaderModifier") {
    f.type = *type == "RequestHeaderModifier" ? FilterType::RequestHeaderModifier
                                              : FilterType::ResponseHeaderModifier;
    auto s = section(*type == "RequestHeaderModifier" ? "requestHeaderModifier"
                                                      : "responseHeaderModifier");
    if (!s) return std::nullopt;
    parse_header_modifier(ctx, *s, f.header_modifier);
  } else if (*type == "RequestMirror") {
    f.type = FilterType::RequestMirror;
    auto s = section("requestMirror");
    if (!s) return std::nullopt;
    s->allow({"backendRef", "percent", "fraction"});
    RequestMirror mirror;
    if (auto b = s->map("backendRef", true)) {
      b->allow({"group", "kind", "name", "namespace", "port"});
      if (auto g = b->string("group")) mirror.group = *g;
      if (auto k = b->string("kind")) mirror.kind = *k;
      if (auto n = b->string("name", true)) mirror.name = *n;
      mirror.ns = b->string("namespace").value_or(route.ns);
      mirror.port = optional_port(*b);
    }
    if (auto p = s->integer("percent", 0, 100)) mirror.percent = static_cast<uint32_t>(*p);
    if (auto fr = s->map("fraction")) {
      fr->allow({"numerator", "denominator"});
      auto num = fr->integer("numerator", 0, 1000000, true);
      auto den = fr->integer("denominator", 1, 1000000).value_or(100);
      if (num && *num <= den) mirror.percent = static_cast<uint32_t>(*num * 100 / den);
      else if (num) ctx.error(fr->node(), fr->path(), "numerator must not exceed denominator");
    }
    f.mirror = std::move(mirror);
  } else if (*type == "RequestRedirect") {
    f.type = FilterType::RequestRedirect;
    auto s = section("requestRedirect");
    if (!s) return std::nullopt;
    s->allow({"scheme", "hostname", "path", "port", "statusCode"});
    RequestRedirect r;
    if (auto v = one_of(ctx, *s, "scheme", {"http", "https"})) r.scheme = *v;
    if (auto v = s->string("hostname")) r.hostname = *v;
    r.port = optional_port(*s);
    r.path = parse_path_rewrite(ctx, *s);
    if (auto v = s->integer("statusCode", 300, 399)) {
      if (*v != 301 && *v != 302 && *v != 303 && *v != 307 && *v != 308)
        ctx.error(*s->find("statusCode"), s->path_of("statusCode"),
                  "must be one of 301, 302, 303, 307, 308");
      r.status_code = static_cast<uint16_t>(*v);
    }
    f.redirect = std::move(r);
  } else if (*type == "URLRewrite") {
    f.type = FilterType::URLRewrite;
    auto s = section("urlRewrite");
    if (!s) return std::nullopt;
    s->allow({"hostname", "path"});
    UrlRewrite rw;
    if (auto v = s->string("hostname")) rw.hostname = *v;
    rw.path = parse_path_rewrite(ctx, *s);
    f.url_rewrite = std::move(rw);
  } else {
    f.type = FilterType::ExtensionRef;
    auto s = section("extensionRef");
    if (!s) return std::nullopt;
    s->allow({"group", "kind", "name"});
    auto g = s->string("group", true);
    auto k = s->string("kind", true);
    auto n = s->string("name", true);
    if (g && k && n) f.extension_ref = cat(*g, "/", *k, "/", *n);
    ctx.warning(node, path, "ExtensionRef filters are not acted on yet");
  }
  return f;
}

std::vector<HttpRouteFilter> parse_filters(ParseContext& ctx, const ObjectMeta& route,
                                           const MapView& parent) {
  std::vector<HttpRouteFilter> out;
  for (const auto& [path, node] : parent.list("filters")) {
    if (auto f = parse_filter(ctx, route, path, node)) out.push_back(std::move(*f));
  }
  return out;
}

std::optional<BackendRef> parse_backend_ref(ParseContext& ctx, const ObjectMeta& route,
                                            const std::string& path, const YAML::Node& node) {
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"group", "kind", "name", "namespace", "port", "weight", "filters"});
  BackendRef ref;
  ref.line = ctx.line(node);
  auto name = m.string("name", true);
  if (auto g = m.string("group")) ref.group = *g;
  if (auto k = one_of(ctx, m, "kind", {"Service", "InferencePool"})) ref.kind = *k;
  ref.ns = m.string("namespace").value_or(route.ns);
  ref.port = optional_port(m);
  auto weight = m.integer("weight", 0, 1000000);
  if (weight) ref.weight = static_cast<uint32_t>(*weight);
  ref.filters = parse_filters(ctx, route, m);
  if (!name) return std::nullopt;
  ref.name = *name;
  if (ref.is_inference_pool() && ref.group != "inference.networking.k8s.io" &&
      ref.group != "inference.networking.x-k8s.io")
    ctx.error(node, m.path_of("group"),
              "an InferencePool backendRef needs group inference.networking.k8s.io");
  if (!ref.is_inference_pool() && !ref.group.empty())
    ctx.error(node, m.path_of("group"), "a Service backendRef has group \"\" (core)");
  if (!ref.is_inference_pool() && !ref.port)
    ctx.error(node, m.path_of("port"), "is required for a Service backend");
  return ref;
}

SessionPersistence parse_session_persistence(ParseContext& ctx, const MapView& m) {
  m.allow({"sessionName", "type", "absoluteTimeout", "idleTimeout", "cookieConfig"});
  SessionPersistence sp;
  sp.line = m.line();
  if (auto t = one_of(ctx, m, "type", {"Cookie", "Header"}))
    sp.type = *t == "Header" ? SessionPersistence::Type::Header : SessionPersistence::Type::Cookie;
  if (auto n = m.string("sessionName")) {
    if (n->empty() || n->size() > 128) ctx.error(m.node(), m.path_of("sessionName"), "must be 1 to 128 characters");
    else sp.session_name = *n;
  }
  sp.absolute_timeout = m.duration("absoluteTimeout");
  sp.idle_timeout = m.duration("idleTimeout");
  if (sp.idle_timeout)
    ctx.warning_at_line(m.key_line("idleTimeout"), m.path_of("idleTimeout"),
                        "idle sessions are not tracked: a session lasts as long as its cookie or header");
  if (auto c = m.map("cookieConfig")) {
    c->allow({"lifetimeType"});
    if (auto l = one_of(ctx, *c, "lifetimeType", {"Session", "Permanent"})) sp.permanent = *l == "Permanent";
  }
  if (sp.permanent && !sp.absolute_timeout)
    ctx.error(m.node(), m.path_of("absoluteTimeout"), "is required when cookieConfig.lifetimeType is Permanent");
  if (sp.type == SessionPersistence::Type::Header && m.has("cookieConfig"))
    ctx.error(m.node(), m.path_of("cookieConfig"), "applies to type Cookie only");
  return sp;
}

std::optional<HttpRouteRule> parse_rule(ParseContext& ctx, const ObjectMeta& route,
                                        const std::string& path, const YAML::Node& node) {
  MapView m(ctx, node, path);
  if (!m.valid()) return std::nullopt;
  m.allow({"name", "matches", "filters", "backendRefs", "timeouts", "retry",
           "sessionPersistence"});
  HttpRouteRule rule;
  rule.line = ctx.line(node);
  if (auto n = m.string("name")) rule.name = *n;
  for (const auto& [mpath, mnode] : m.list("matches")) {
    if (auto match = parse_match(ctx, mpath, mnode)) rule.matches.push_back(std::move(*match));
  }
  if (rule.matches.empty()) {
    // Gateway API: no matches (absent, null or []) means PathPrefix "/". Matches that failed
    // to parse left an error, which rejects the route anyway.
    RouteMatch any;
    any.line = rule.line;
    rule.matches.push_back(std::move(any));
  }
  rule.filters = parse_filters(ctx, route, m);
  for (const auto& [bpath, bnode] : m.list("backendRefs")) {
    if (auto ref = parse_backend_ref(ctx, route, bpath, bnode))
      rule.backend_refs.push_back(std::move(*ref));
  }
  if (auto t = m.map("timeouts")) {
    t->allow({"request", "backendRequest"});
    rule.timeouts.request = t->duration("request");
    rule.timeouts.backend_request = t->duration("backendRequest");
    if (rule.timeouts.request && rule.timeouts.backend_request &&
        rule.timeouts.request->count() != 0 &&
        (rule.timeouts.backend_request->count() == 0 ||
         *rule.timeouts.backend_request > *rule.timeouts.request))
      ctx.error(*t->find("backendRequest"), t->path_of("backendRequest"),
                "must not be longer than timeouts.request");
  }
  if (auto r = m.map("retry")) {
    r->allow({"codes", "attempts", "backoff"});
    RetryPolicy retry;
    for (const auto& [cpath, cnode] : r->list("codes")) {
      if (auto c = scalar_integer(ctx, cnode, cpath, 400, 599))
        retry.codes.push_back(static_cast<uint16_t>(*c));
    }
    if (auto a = r->integer("attempts", 0, 100)) retry.attempts = static_cast<uint32_t>(*a);
    retry.backoff = r->duration("backoff");
    rule.retry = std::move(retry);
  }
  if (auto sp = m.map("sessionPersistence")) rule.session_persistence = parse_session_persistence(ctx, *sp);
  return rule;
}

}  // namespace

std::optional<HttpRoute> parse_http_route(ParseContext& ctx, const MapView& doc) {
  HttpRoute route;
  auto spec = parse_object(ctx, doc, &route.meta);
  if (!spec) return std::nullopt;
  const size_t errors_before = ctx.error_count();
  spec->allow({"parentRefs", "hostnames", "rules"});

  for (const auto& [path, node] : spec->list("parentRefs")) {
    if (auto ref = parse_parent_ref(ctx, route.meta, path, node))
      route.parent_refs.push_back(std::move(*ref));
  }
  auto hostnames = spec->list("hostnames");
  for (const auto& [path, node] : hostnames) {
    auto h = scalar_string(ctx, node, path);
    if (!h) continue;
    if (!valid_hostname(*h)) {
      ctx.error(node, path, cat("\"", *h, "\" is not a valid hostname"));
      continue;
    }
    route.hostnames.push_back(absl::AsciiStrToLower(*h));
  }

  if (const YAML::Node* rules = spec->find("rules")) {
    if (rules->IsMap()) {
      // Seed quirk (GKE rollout guide): `rules:` written as one rule object, not a list.
      ctx.warning_at_line(spec->key_line("rules"), spec->path_of("rules"),
                  "is a mapping, not a list; read as a single rule (write \"- backendRefs: ...\")");
      if (auto r = parse_rule(ctx, route.meta, index_path(spec->path_of("rules"), 0), *rules))
        route.rules.push_back(std::move(*r));
    } else {
      for (const auto& [path, node] : spec->list("rules")) {
        if (auto r = parse_rule(ctx, route.meta, path, node)) route.rules.push_back(std::move(*r));
      }
    }
  }
  if (route.rules.empty() && !spec->has("rules")) {
    // Gateway API default: one rule matching PathPrefix "/" with no backends.
    HttpRouteRule rule;
    rule.line = spec->line();
    rule.matches.emplace_back();
    rule.matches.back().line = rule.line;
    route.rules.push_back(std::move(rule));
  }
  if (ctx.error_count() != errors_before) return std::nullopt;
  return route;
}

}  // namespace infergate::config::detail
