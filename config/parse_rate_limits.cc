// GatewayConfig spec.localRateLimits and spec.connectionLimits. Our own kind: unknown fields
// are errors, and so are fields that would be silently meaningless (missingKey without a key).
// The policy name and the request match are shared with spec.tokenBudgets (parse_token_budgets.cc).
#include "config/str_cat.h"

#include <absl/strings/ascii.h>

#include "config/named_list.h"
#include "config/parsers.h"

namespace infergate::config::detail {

namespace {

constexpr int64_t kU32 = 0xFFFFFFFFll;
// Envoy rejects a local_ratelimit fill_interval under 50ms.
constexpr std::chrono::milliseconds kMinFillInterval{50};
// 1M keys is ~32 MiB of buckets for one policy: beyond that a local limit is the wrong tool.
constexpr int64_t kMaxKeys = 1000000;

// "<ns>/<name>" or "<ns>/<name>/<rule>[.<match>]": non-empty parts separated by '/'.
bool valid_route_ref(std::string_view r) {
  size_t parts = 0;
  while (true) {
    const size_t slash = r.find('/');
    if (r.substr(0, slash).empty()) return false;
    ++parts;
    if (slash == std::string_view::npos) break;
    r.remove_prefix(slash + 1);
  }
  return parts == 2 || parts == 3;
}

// A list of strings, each checked by `valid` ("<what>" names it in the error). When written it
// must hold at least one entry: `routes: []` could mean "none" or "any", so neither is guessed.
template <typename Valid>
std::vector<std::string> string_list(ParseContext& ctx, const MapView& m, std::string_view key, Valid valid,
                                     std::string_view what) {
  std::vector<std::string> out;
  if (const YAML::Node* n = m.find(key); n && n->IsSequence() && n->size() == 0)
    ctx.error(*n, m.path_of(key), "must not be empty (leave the field out to match every request)");
  for (const auto& [path, node] : m.list(key)) {
    auto s = scalar_string(ctx, node, path);
    if (!s) continue;
    if (!valid(*s)) ctx.error(node, path, cat("\"", *s, "\" is not ", what));
    out.push_back(std::move(*s));
  }
  return out;
}

void parse_token_bucket(ParseContext& ctx, const MapView& m, TokenBucketSpec& tb) {
  m.allow({"maxTokens", "tokensPerFill", "fillInterval"});
  if (auto v = m.integer("maxTokens", 1, kU32, /*required=*/true)) tb.max_tokens = static_cast<uint32_t>(*v);
  if (auto v = m.integer("tokensPerFill", 1, kU32)) tb.tokens_per_fill = static_cast<uint32_t>(*v);
  if (!m.require("fillInterval")) return;
  if (auto d = m.duration("fillInterval")) {
    if (*d < kMinFillInterval) ctx.error(*m.find("fillInterval"), m.path_of("fillInterval"), "must be at least 50ms");
    else tb.fill_interval = *d;
  }
}

std::optional<LocalRateLimit> parse_policy(ParseContext& ctx, const MapView& m) {
  m.allow({"name", "match", "key", "header", "missingKey", "tokenBucket", "maxKeys", "responseHeaders", "enforce"});
  LocalRateLimit rl;
  rl.source = ctx.location(m.node());
  const size_t errors_before = ctx.error_count();
  if (auto n = m.string("name", true)) {
    if (!valid_policy_name(*n))
      ctx.error(*m.find("name"), m.path_of("name"),
                "must be 1 to 128 letters, digits, '-', '_' or '.' (counters are labelled by it)");
    rl.name = *n;
  }
  if (auto mm = m.map("match")) parse_rate_limit_match(ctx, *mm, rl.match);
  if (auto k = one_of(ctx, m, "key", {"none", "principal", "sourceIp", "header"})) {
    rl.key = *k == "principal" ? RateLimitKey::Principal
             : *k == "sourceIp" ? RateLimitKey::SourceIp
             : *k == "header"   ? RateLimitKey::Header
                                : RateLimitKey::None;
  }
  const bool keyed = rl.key != RateLimitKey::None;
  if (rl.key == RateLimitKey::Header) {
    if (auto h = m.string("header", true)) {
      if (!valid_token(*h))
        ctx.error(*m.find("header"), m.path_of("header"), cat("\"", *h, "\" is not a valid header name"));
      rl.header = absl::AsciiStrToLower(*h);  // HeaderMap keeps names lower-case
    }
  } else if (m.has("header")) {
    ctx.error(*m.find("header"), m.path_of("header"), "only applies with key: header");
  }
  if (m.has("missingKey") && !keyed) {
    ctx.error(*m.find("missingKey"), m.path_of("missingKey"), "only applies with key: principal, sourceIp or header");
  } else if (auto mk = one_of(ctx, m, "missingKey", {"skip", "share", "deny"})) {
    rl.missing_key = *mk == "share" ? MissingKey::Share : *mk == "deny" ? MissingKey::Deny : MissingKey::Skip;
  }
  if (m.has("maxKeys") && !keyed) {
    ctx.error(*m.find("maxKeys"), m.path_of("maxKeys"), "only applies with key: principal, sourceIp or header");
  } else if (auto v = m.integer("maxKeys", 1, kMaxKeys)) {
    rl.max_keys = static_cast<uint32_t>(*v);
  }
  if (auto tb = m.map("tokenBucket", /*required=*/true)) parse_token_bucket(ctx, *tb, rl.token_bucket);
  if (auto b = m.boolean("responseHeaders")) rl.response_headers = *b;
  if (auto b = m.boolean("enforce")) rl.enforce = *b;
  if (ctx.error_count() != errors_before) return std::nullopt;
  return rl;
}

void parse_connection_limits(const MapView& m, ConnectionLimits& cl) {
  m.allow({"perListener", "perSourceIp"});
  if (auto v = m.integer("perListener", 0, kU32)) cl.per_listener = static_cast<uint32_t>(*v);
  if (auto v = m.integer("perSourceIp", 0, kU32)) cl.per_source_ip = static_cast<uint32_t>(*v);
}

}  // namespace

// Counters are labelled by the name, so keep it to characters no exposition format mangles.
bool valid_policy_name(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  for (char c : n)
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

// RFC 9110 token characters: what a header name or a method may consist of.
bool valid_token(std::string_view t) {
  if (t.empty()) return false;
  for (char c : t) {
    const auto u = static_cast<unsigned char>(c);
    if (!(absl::ascii_isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos))
      return false;
  }
  return true;
}

void parse_rate_limit_match(ParseContext& ctx, const MapView& m, RateLimitMatch& match) {
  m.allow({"routes", "hosts", "pathPrefix", "methods"});
  match.routes = string_list(ctx, m, "routes", valid_route_ref,
                             "\"<namespace>/<name>\" or \"<namespace>/<name>/<rule>\"");
  match.hosts = string_list(ctx, m, "hosts", valid_hostname, "a valid host");
  for (std::string& h : match.hosts) absl::AsciiStrToLower(&h);  // :authority is compared lower-cased
  if (auto p = m.string("pathPrefix")) {
    if (p->empty() || (*p)[0] != '/') ctx.error(*m.find("pathPrefix"), m.path_of("pathPrefix"), "must start with \"/\"");
    else match.path_prefix = *p;
  }
  match.methods = string_list(ctx, m, "methods", valid_token, "a valid HTTP method");
}

void parse_rate_limits(ParseContext& ctx, const MapView& spec, GatewayConfig& gc) {
  parse_named_list(ctx, spec, "localRateLimits", kMaxLocalRateLimits, "local rate limits", parse_policy,
                   gc.local_rate_limits);
  if (auto m = spec.map("connectionLimits")) parse_connection_limits(*m, gc.connection_limits);
}

}  // namespace infergate::config::detail
