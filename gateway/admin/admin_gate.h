// Who may do what on the admin listener, decided before any handler runs: a loopback-only
// Host when nobody authenticates (no DNS rebinding), then bearer token and/or mTLS
// principal, then for changes: the rate limit, browser rules (cross-site Origin /
// Sec-Fetch-Site refused, X-CSRF-Token required of browsers), content type, body size and
// nesting depth. Every refusal is a JSON error with its status and sets req.refusal, which
// AdminAudit counts. The order puts authentication first, so an unauthenticated client can
// neither use up the change budget nor learn anything about the request checks.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/admin_model.h"
#include "gateway/admin/admin_auth.h"
#include "gateway/admin/admin_input.h"
#include "gateway/admin/admin_server.h"

namespace infergate::gateway {

class AdminGate {
 public:
  // `loopback`: the listener's address is loopback (requests nobody authenticates must then
  // name a loopback Host).
  AdminGate(const config::AdminConfig& cfg, bool loopback);

  // Reads the token file; false with *error (the process must not start) when it is
  // configured but missing or invalid.
  bool start(std::string* error);

  // nullopt: go on (req.token_name set when a token authenticated it); else the refusal.
  std::optional<AdminResponse> admit(AdminRequest& req);

  // The body a request to `path` may carry (spec.admin.limits).
  size_t body_limit(const std::string& path) const;

  // The per-process token browsers must send as X-CSRF-Token (GET /csrf_token).
  const std::string& csrf_token() const { return csrf_; }

  // Called once per failed token file re-read (for its counter).
  void on_token_file_failure(std::function<void()> f) { token_file_failure_ = std::move(f); }

 private:
  std::optional<AdminResponse> authenticate(AdminRequest& req);
  std::optional<AdminResponse> check_change(AdminRequest& req);

  config::AdminConfig cfg_;
  bool loopback_;
  std::unique_ptr<TokenFile> tokens_;
  TokenBucket bucket_;
  std::string csrf_;
  std::function<void()> token_file_failure_;
  uint64_t token_file_failures_seen_ = 0;
};

}  // namespace infergate::gateway
