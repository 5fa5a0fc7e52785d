// GatewayConfig spec.tokenBudgets and spec.tokenBudgetStore. Our own kind: unknown fields are
// errors, and so are fields that would be silently meaningless (weights without cost: weighted,
// header without key: header). Names and request matches follow spec.localRateLimits.
#include "config/str_cat.h"

#include <charconv>

#include <absl/strings/ascii.h>

#include "config/named_list.h"
#include "config/parsers.h"

namespace infergate::config::detail {

namespace {

// A budget counts tokens of one process' keys; 1M keys is tens of MiB: beyond that a gateway
// budget is the wrong tool (as for local rate limits).
constexpr int64_t kMaxKeys = 1000000;
// Fixed windows: under a second the charge at response end lands in another window than the
// check more often than not; past 31 days a budget is a quota, not a rate.
constexpr std::chrono::milliseconds kMinWindow{1000};
constexpr std::chrono::milliseconds kMaxWindow{std::chrono::hours(24 * 31)};
// Exactly representable in a double and in a Redis integer whatever the weights.
constexpr int64_t kMaxLimit = int64_t{1} << 50;

std::optional<TokenBudget> parse_budget(ParseContext& ctx, const MapView& m) {
  m.allow({"name", "match", "key", "header", "missingKey", "cost", "weights", "window", "limit", "maxKeys",
           "responseHeaders", "enforce", "shared"});
  TokenBudget b;
  b.source = ctx.location(m.node());
  const size_t errors_before = ctx.error_count();
  if (auto n = m.string("name", true)) {
    if (!valid_policy_name(*n))
      ctx.error(*m.find("name"), m.path_of("name"),
                "must be 1 to 128 letters, digits, '-', '_' or '.' (counters are labelled by it)");
    b.name = *n;
  }
  if (auto mm = m.map("match")) parse_rate_limit_match(ctx, *mm, b.match);
  if (auto k = one_of(ctx, m, "key", {"none", "header", "principal", "apiKey", "fairnessId"})) {
    b.key = *k == "header"       ? BudgetKey::Header
            : *k == "principal"  ? BudgetKey::Principal
            : *k == "apiKey"     ? BudgetKey::ApiKey
            : *k == "fairnessId" ? BudgetKey::FairnessId
                                 : BudgetKey::None;
  }
  const bool keyed = b.key != BudgetKey::None;
  if (b.key == BudgetKey::Header) {
    if (auto h = m.string("header", true)) {
      if (!valid_token(*h))
        ctx.error(*m.find("header"), m.path_of("header"), cat("\"", *h, "\" is not a valid header name"));
      b.header = absl::AsciiStrToLower(*h);  // HeaderMap keeps names lower-case
    }
  } else if (m.has("header")) {
    ctx.error(*m.find("header"), m.path_of("header"), "only applies with key: header");
  }
  constexpr std::string_view kKeyed = "only applies with key: header, principal, apiKey or fairnessId";
  if (m.has("missingKey") && !keyed) {
    ctx.error(*m.find("missingKey"), m.path_of("missingKey"), std::string(kKeyed));
  } else if (auto mk = one_of(ctx, m, "missingKey", {"skip", "share", "deny"})) {
    b.missing_key = *mk == "share" ? MissingKey::Share : *mk == "deny" ? MissingKey::Deny : MissingKey::Skip;
  }
  if (m.has("maxKeys") && !keyed) {
    ctx.error(*m.find("maxKeys"), m.path_of("maxKeys"), std::string(kKeyed));
  } else if (auto v = m.integer("maxKeys", 1, kMaxKeys)) {
    b.max_keys = static_cast<uint32_t>(*v);
  }
  if (auto c = one_of(ctx, m, "cost", {"inputTokens", "outputTokens", "totalTokens", "weighted"})) {
    b.cost = *c == "inputTokens"    ? BudgetCost::InputTokens
             : *c == "outputTokens" ? BudgetCost::OutputTokens
             : *c == "weighted"     ? BudgetCost::Weighted
                                    : BudgetCost::TotalTokens;
  }
  if (b.cost == BudgetCost::Weighted) {
    if (auto w = m.map("weights", /*required=*/true)) {
      w->allow({"input", "output"});
      if (!w->has("input") && !w->has("output")) ctx.error(w->node(), w->path(), "needs input, output or both");
      if (auto v = number(ctx, *w, "input", 0, 1e6)) b.input_weight = *v;
      if (auto v = number(ctx, *w, "output", 0, 1e6)) b.output_weight = *v;
      if (b.input_weight == 0 && b.output_weight == 0)
        ctx.error(w->node(), w->path(), "input and output cannot both be 0 (nothing would ever be charged)");
    }
  } else if (m.has("weights")) {
    ctx.error(*m.find("weights"), m.path_of("weights"), "only applies with cost: weighted");
  }
  if (m.require("window")) {
    if (auto d = m.duration("window")) {
      if (*d < kMinWindow || *d > kMaxWindow) ctx.error(*m.find("window"), m.path_of("window"), "must be from 1s to 744h");
      else b.window = *d;
    }
  }
  if (auto v = m.integer("limit", 1, kMaxLimit, /*required=*/true)) b.limit = static_cast<uint64_t>(*v);
  if (auto v = m.boolean("responseHeaders")) b.response_headers = *v;
  if (auto v = m.boolean("enforce")) b.enforce = *v;
  if (auto v = m.boolean("shared")) b.shared = *v;
  if (ctx.error_count() != errors_before) return std::nullopt;
  return b;
}

// "host:port", "[v6]:port": the host as hiredis takes it (no brackets) and the port.
bool split_address(std::string_view a, std::string& host, uint16_t& port) {
  const size_t colon = a.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = a.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return false;  // a bare IPv6 address: the port would be ambiguous
  }
  const std::string_view digits = a.substr(colon + 1);
  uint32_t p = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (ec != std::errc() || end != digits.data() + digits.size() || p == 0 || p > 65535) return false;
  for (char c : h)
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':')) return false;
  host = std::string(h);
  port = static_cast<uint16_t>(p);
  return true;
}

void parse_store(ParseContext& ctx, const MapView& m, TokenBudgetStore& store) {
  m.allow({"redis"});
  store.source = ctx.location(m.node());
  auto r = m.map("redis", /*required=*/true);
  if (!r) return;
  r->allow({"address", "keyPrefix", "timeout", "failureMode"});
  if (auto a = r->string("address", true)) {
    if (!split_address(*a, store.redis_host, store.redis_port))
      ctx.error(*r->find("address"), r->path_of("address"), cat("\"", *a, "\" is not host:port"));
    else store.redis_address = *a;
  }
  if (auto p = r->string("keyPrefix")) {
    if (p->size() > 128) ctx.error(*r->find("keyPrefix"), r->path_of("keyPrefix"), "must be at most 128 characters");
    else store.key_prefix = *p;
  }
  if (auto t = r->duration("timeout")) {
    if (*t < std::chrono::milliseconds(1) || *t > std::chrono::seconds(10))
      ctx.error(*r->find("timeout"), r->path_of("timeout"), "must be from 1ms to 10s");
    else store.timeout = *t;
  }
  if (auto f = one_of(ctx, *r, "failureMode", {"FailOpen", "FailClose"})) store.fail_open = *f == "FailOpen";
}

}  // namespace

void parse_token_budgets(ParseContext& ctx, const MapView& spec, GatewayConfig& gc) {
  parse_named_list(ctx, spec, "tokenBudgets", kMaxTokenBudgets, "token budgets", parse_budget, gc.token_budgets);
  if (auto m = spec.map("tokenBudgetStore")) parse_store(ctx, *m, gc.token_budget_store);
}

}  // namespace infergate::config::detail
