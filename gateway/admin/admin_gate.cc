#include "gateway/admin/admin_gate.h"

#include "gateway/admin/console_assets.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace infergate::gateway {

namespace {

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("no randomness for the admin CSRF token");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

AdminResponse refuse(AdminRequest& req, std::string reason, int status, std::string_view message) {
  req.refusal = std::move(reason);
  return AdminResponse::error(status, message);
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

AdminGate::AdminGate(const config::AdminConfig& cfg, bool loopback)
    : cfg_(cfg),
      loopback_(loopback),
      bucket_(cfg.limits.requests_per_second, cfg.limits.burst, TokenBucket::Clock::now()),
      csrf_(random_hex(32)) {
  if (!cfg_.auth.token_file.empty()) tokens_ = std::make_unique<TokenFile>(cfg_.auth.token_file);
}

bool AdminGate::start(std::string* error) { return !tokens_ || tokens_->load(error); }

size_t AdminGate::body_limit(const std::string& path) const {
  return static_cast<size_t>(path == "/config" ? cfg_.limits.max_config_body_bytes : cfg_.limits.max_body_bytes);
}

std::optional<AdminResponse> AdminGate::authenticate(AdminRequest& req) {
  if (!cfg_.auth.allowed_principals.empty() && !principal_allowed(cfg_.auth.allowed_principals, req.principal))
    return refuse(req, "forbidden", 403,
                  req.principal.empty() ? "a client certificate with an allowed SPIFFE principal is required"
                                        : "principal " + req.principal + " is not in spec.admin.auth.allowedPrincipals");
  if (!tokens_) return std::nullopt;
  auto presented = bearer_token(req.authorization);
  std::optional<std::string> name = presented ? tokens_->check(*presented) : std::nullopt;
  for (; token_file_failures_seen_ < tokens_->failed_reloads(); ++token_file_failures_seen_)
    if (token_file_failure_) token_file_failure_();
  if (!name) {
    AdminResponse r = refuse(req, "unauthorized", 401,
                             presented ? "the bearer token is not valid (rotated or mistyped?)"
                                       : "authentication required: send Authorization: Bearer TOKEN "
                                         "(a token of spec.admin.auth.tokenFile)");
    r.headers.emplace_back("WWW-Authenticate", presented ? "Bearer realm=\"infergate-admin\", error=\"invalid_token\""
                                                         : "Bearer realm=\"infergate-admin\"");
    return r;
  }
  req.token_name = *name;
  return std::nullopt;
}

std::optional<AdminResponse> AdminGate::check_change(AdminRequest& req) {
  if (std::string why = cross_site_refusal({req.host, req.origin, req.sec_fetch_site, req.any_sec_fetch}); !why.empty())
    return refuse(req, "cross_site", 403, why);
  // A browser (it sends Origin or Sec-Fetch-*) must also prove it read GET /csrf_token,
  // which only a same-origin page can.
  if ((!req.origin.empty() || req.any_sec_fetch) && !same_secret(req.csrf_token, csrf_))
    return refuse(req, "csrf", 403, "browser requests must carry X-CSRF-Token (GET /csrf_token)");
  if (std::string why = content_type_refusal(req.content_type, req.body.size(), req.path == "/config"); !why.empty())
    return refuse(req, "content_type", 415, why);
  // Only requests that could be a change take from the budget: a cross-site page looping
  // refused requests must not use it up.
  if (!bucket_.try_take(TokenBucket::Clock::now())) {
    const long after = bucket_.retry_after_s(TokenBucket::Clock::now());
    AdminResponse r = refuse(req, "rate_limited", 429,
                             "too many admin changes (spec.admin.limits: " +
                                 std::to_string(cfg_.limits.requests_per_second) + "/s, burst " +
                                 std::to_string(cfg_.limits.burst) + "); retry after " + std::to_string(after) + "s");
    r.headers.emplace_back("Retry-After", std::to_string(after));
    return r;
  }
  if (req.body.size() > body_limit(req.path))  // chunked bodies: the length was not declared
    return refuse(req, "body_too_large", 413,
                  "request body too large: " + req.path + " takes at most " + std::to_string(body_limit(req.path)) +
                      " bytes");
  // Admin bodies are text. nlohmann takes a NUL as the end of the input, so a change followed
  // by "\0anything" would be applied with its tail unread; yaml-cpp reads on and garbles it.
  if (const size_t nul = req.body.find('\0'); nul != std::string::npos)
    return refuse(req, "nul_byte", 400,
                  "request body has a NUL byte at offset " + std::to_string(nul) +
                      ": admin bodies are JSON or YAML text");
  if (!req.body.empty()) {
    const size_t limit = cfg_.limits.max_nesting_depth;
    // /config is always parsed by yaml-cpp, whatever its Content-Type says: measure it as YAML.
    const bool json = req.path != "/config" && media_type(req.content_type) == "application/json";
    const size_t depth = json ? json_nesting_depth(req.body, limit) : yaml_nesting_depth(req.body, limit);
    if (depth > limit)
      return refuse(req, "too_deep", 400,
                    "request body nested deeper than " + std::to_string(limit) +
                        " levels (spec.admin.limits.maxNestingDepth)");
  }
  return std::nullopt;
}

std::optional<AdminResponse> AdminGate::admit(AdminRequest& req) {
  const bool authenticates =
      cfg_.auth.configured() &&
      (req.state_changing() || (cfg_.auth.require_for_read_only && !is_console_asset(req.path)));
  if (authenticates) {
    if (auto r = authenticate(req)) return r;
  } else if (loopback_ && !loopback_host(req.host)) {
    // Unauthenticated on loopback: only a loopback Host, else a page whose DNS name rebinds
    // to 127.0.0.1 could use the admin API as its own origin.
    return refuse(req, "host", 403,
                  "Host \"" + req.host + "\" refused: unauthenticated, the admin API answers "
                  "localhost / 127.0.0.1 / [::1] only");
  }
  if (!req.state_changing()) return std::nullopt;
  return check_change(req);
}

}  // namespace infergate::gateway
