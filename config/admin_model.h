#pragma once
// GatewayConfig spec.admin and spec.stats: who may reach the admin API and how, and the
// read-only listener scrapers and probes use instead. See docs/SECURITY.md, "Admin API".
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace infergate::config {

// spec.admin.auth. Either kind alone is enough; both together are both required.
struct AdminAuthConfig {
  // Bearer tokens, one per line: "name:token" or a bare token (named "line N"); '#' starts a
  // comment. Re-read whenever the file changes, so a token rotates without a restart.
  std::string token_file;
  // Istio principals ("<trust domain>/ns/<ns>/sa/<sa>") allowed over mTLS (needs spec.admin.tls
  // with caFile): a client certificate is then required at the handshake.
  std::vector<std::string> allowed_principals;
  // false: GET/HEAD (stats, config_dump, ...) stay open, only changes need authentication.
  bool require_for_read_only = true;
  bool configured() const { return !token_file.empty() || !allowed_principals.empty(); }
  bool operator==(const AdminAuthConfig&) const = default;
};

// spec.admin.tls: the admin listener speaks TLS with this certificate. caFile verifies
// client certificates (required when allowedPrincipals is set).
struct AdminTlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  bool enabled() const { return !cert_file.empty(); }
  bool operator==(const AdminTlsConfig&) const = default;
};

// spec.admin.limits: what one admin request may carry.
struct AdminLimits {
  uint64_t max_body_bytes = 64 * 1024;               // every endpoint but POST /config
  uint64_t max_config_body_bytes = 8 * 1024 * 1024;  // POST /config (manifests)
  uint32_t max_nesting_depth = 32;                   // JSON/YAML bodies: nested mappings/lists
  // Token bucket shared by every state-changing request (POST, DELETE).
  double requests_per_second = 5;
  uint32_t burst = 20;
  bool operator==(const AdminLimits&) const = default;
};

struct AdminConfig {
  std::string address = "127.0.0.1";  // Envoy's admin default is localhost-only as well
  uint16_t port = 9901;
  AdminAuthConfig auth;
  AdminTlsConfig tls;
  AdminLimits limits;
  // Audit lines (JSON, one per state-changing call) are also appended here; "" = the log only.
  std::string audit_log;
  bool operator==(const AdminConfig&) const = default;
};

// spec.stats: a GET-only listener for /stats/prometheus, /metrics, /ready, /server_info
// (Istio's 15090). Absent = no such listener; the admin listener serves those paths too.
struct StatsListenerConfig {
  std::string address = "0.0.0.0";
  uint16_t port = 15090;
  bool operator==(const StatsListenerConfig&) const = default;
};

// True for 127.0.0.0/8 and ::1 (also ::ffff:127.x); false for anything else, hostnames included.
bool is_loopback_address(const std::string& address);

// "" when an admin listener on `address` with `admin`'s settings may start; otherwise the
// refusal, naming the settings to add (off loopback, authentication is required).
std::string admin_exposure_error(const std::string& address, const AdminConfig& admin);

}  // namespace infergate::config
