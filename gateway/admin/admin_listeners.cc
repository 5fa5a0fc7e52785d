// Starting the admin and stats listeners with their security (see docs/SECURITY.md, "Admin
// API"): the exposure rule (off loopback only with authentication), the gate and the audit
// trail around every admin request, TLS/mTLS for the admin listener, and the read-only stats
// listener that scrapers and probes use instead of admin.
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "config/admin_model.h"
#include "gateway/net/server.h"
#include "tls/server_context.h"

namespace infergate::gateway {

namespace {

// The paths a scraper or a probe needs; nothing there changes anything.
const std::vector<std::string> kStatsPaths = {"/stats/prometheus", "/metrics", "/ready", "/server_info"};
constexpr size_t kStatsBodyLimit = 1024;  // the stats listener takes no bodies

tls::PemSource read_pem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("spec.admin.tls: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return tls::PemSource{ss.str(), path};
}

std::shared_ptr<const tls::ServerContext> admin_tls(const config::AdminTlsConfig& cfg) {
  if (!cfg.enabled()) return nullptr;
  tls::ServerOptions o;
  o.credentials.push_back({read_pem(cfg.cert_file), read_pem(cfg.key_file), {}});
  if (!cfg.ca_file.empty()) {
    // Verified against caFile; a client without a certificate fails the handshake.
    o.client_auth = tls::ClientAuth::Required;
    o.ca = read_pem(cfg.ca_file);
  }
  o.alpn = {"http/1.1"};
  std::string error;
  auto ctx = tls::ServerContext::create(o, &error);
  if (!ctx) throw std::runtime_error("spec.admin.tls: " + error);
  return ctx;
}

}  // namespace

void Server::start_admin_listeners() {
  const config::AdminConfig& admin = initial_.gateway.admin;
  const std::string address = opts_.admin_address.value_or(admin.address);
  // The config rule again, for --admin-address.
  if (std::string why = config::admin_exposure_error(address, admin); !why.empty()) throw std::runtime_error(why);
  admin_gate_ = std::make_unique<AdminGate>(admin, config::is_loopback_address(address));
  std::string error;
  if (!admin_gate_->start(&error)) throw std::runtime_error(error);
  admin_audit_ = std::make_unique<AdminAudit>(*registry_, admin.audit_log,
                                              [this](const std::string& path) { return admin_.has(path); });
  if (!admin_audit_->open(&error)) throw std::runtime_error(error);
  admin_gate_->on_token_file_failure([this] { admin_audit_->token_file_failed(); });
  admin_.add("/csrf_token", "GET", "the token a browser sends as X-CSRF-Token with every change",
             [this](const AdminRequest&) {
               return AdminResponse::json(nlohmann::json{{"csrf_token", admin_gate_->csrf_token()}}.dump() + "\n");
             });
  AdminServer::Options o;
  o.tls = admin_tls(admin.tls);
  o.body_limit = [this](const std::string& path) { return admin_gate_->body_limit(path); };
  o.gate = [this](AdminRequest& req) { return admin_gate_->admit(req); };
  o.observer = [this](const AdminRequest& req, const AdminResponse& resp) {
    admin_audit_->record(req, resp, version_);
  };
  o.on_tls_failure = [this](const std::string& peer, const std::string& why) {
    admin_audit_->handshake_failed(peer, why);
  };
  const bool tls = o.tls != nullptr;
  admin_.set_options(std::move(o));
  admin_.listen(address, opts_.admin_port.value_or(admin.port));
  spdlog::info("admin on {}:{}{}{}", address, admin_.port(), tls ? " (TLS)" : "",
               admin.auth.configured() ? ", authentication required" : "");
  if (!tls && !admin.auth.token_file.empty() && !config::is_loopback_address(address))
    spdlog::warn("admin: bearer tokens travel in clear text on {}; add spec.admin.tls", address);

  if (const auto& stats = initial_.gateway.stats) {
    stats_listener_.add_read_only(admin_, kStatsPaths);
    AdminServer::Options so;
    so.body_limit = [](const std::string&) { return kStatsBodyLimit; };
    stats_listener_.set_options(std::move(so));
    stats_listener_.listen(stats->address, stats->port);
    spdlog::info("stats on {}:{} (read only: /stats/prometheus, /metrics, /ready, /server_info)", stats->address,
                 stats_listener_.port());
  }
}

}  // namespace infergate::gateway
