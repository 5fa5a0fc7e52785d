// The admin API's audit trail: every state-changing call (and every refused request) as one
// JSON line: who (peer address, mTLS principal, token name), what (endpoint, query,
// resources, weights), the answer (status, result, refusal reason, error) and the config
// version serving after it. Lines go to the log (stderr, prefixed "admin audit: ") and, with
// spec.admin.auditLog, are appended to that file as bare JSON lines. Also counted:
//   infergate_admin_requests_total{endpoint,result}  (admin.requests.<endpoint>.<result>)
//   infergate_admin_refused_total{reason}            (admin.refused.<reason>)
//   infergate_admin_token_file_reload_failures_total (admin.token_file_reload_failed)
//   infergate_admin_audit_lines_suppressed_total     (admin.audit_lines_suppressed: lines of
//     refused requests beyond 20/s, burst 100, left out; every refusal is still counted)
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "gateway/admin/admin_input.h"
#include "gateway/admin/admin_server.h"
#include "metrics/registry.h"

namespace infergate::gateway {

// success (2xx), refused (the gate said no), rejected (the handler said 4xx), error (5xx).
std::string_view audit_result(const AdminRequest& req, const AdminResponse& resp);

// The audit line for one request (no newline). `time` is RFC 3339.
std::string audit_line(const AdminRequest& req, const AdminResponse& resp, uint64_t config_version,
                       std::string_view time);

class AdminAudit {
 public:
  // `known`: whether a path is a registered endpoint (others are counted as "other").
  AdminAudit(metrics::Registry& registry, std::string file, std::function<bool(const std::string&)> known);
  ~AdminAudit();
  AdminAudit(const AdminAudit&) = delete;
  AdminAudit& operator=(const AdminAudit&) = delete;

  // Opens the audit file (when configured); false with *error when it cannot be.
  bool open(std::string* error);
  void record(const AdminRequest& req, const AdminResponse& resp, uint64_t config_version);
  // A client refused at the TLS handshake (admin.refused.tls_handshake), logged with its peer.
  void handshake_failed(const std::string& peer, const std::string& why);
  // The token file was found unreadable or invalid (admin.token_file_reload_failed).
  void token_file_failed() { token_file_failed_.inc(); }

 private:
  metrics::Counter& requests(const std::string& endpoint, std::string_view result);
  bool refusal_line_allowed();
  void write(const std::string& line);

  static constexpr double kRefusalLinesPerSecond = 20, kRefusalLineBurst = 100;

  metrics::Registry& registry_;
  std::string path_;
  std::FILE* file_ = nullptr;
  std::function<bool(const std::string&)> known_;
  std::map<std::pair<std::string, std::string>, metrics::Counter> requests_;
  std::map<std::string, metrics::Counter> refused_;
  metrics::Counter token_file_failed_, lines_suppressed_;
  TokenBucket refusal_lines_{kRefusalLinesPerSecond, kRefusalLineBurst, TokenBucket::Clock::now()};
  uint64_t suppressed_ = 0;
};

}  // namespace infergate::gateway
