#include "gateway/admin/admin_audit.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "config/config_store.h"
#include "config/manifests.h"
#include "gateway/admin/admin_input.h"

namespace infergate::gateway {

namespace {

using json = nlohmann::ordered_json;  // audit fields in the order documented

constexpr const char* kRefusals[] = {"unauthorized", "forbidden",      "host",     "cross_site", "csrf",
                                     "content_type", "body_too_large", "too_deep", "nul_byte",
                                     "rate_limited", "tls_handshake"};

// "/config/revert" -> "config_revert" (an Envoy stat name segment).
std::string stat_segment(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (std::isalnum(static_cast<unsigned char>(c))) out.push_back(c);
    else if (!out.empty() && out.back() != '_') out.push_back('_');
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "root" : out;
}

std::string query_param(const AdminRequest& req, const char* name) { return req.param(name); }

// What the call was about: the resources the answer lists, else those the query or the
// body names, and the weights the body asks for.
void describe_target(const AdminRequest& req, const AdminResponse& resp, json& line) {
  json resources = json::array();
  const json answer = resp.content_type == "application/json" ? json::parse(resp.body, nullptr, false) : json();
  for (const char* key : {"applied", "reverted"})
    if (answer.is_object() && answer.contains(key) && answer[key].is_array())
      for (const auto& r : answer[key]) resources.push_back(r);
  const json body = req.refusal.empty() && media_type(req.content_type) == "application/json"
                        ? json::parse(req.body, nullptr, false)
                        : json();
  if (resources.empty() && !query_param(req, "name").empty()) {
    json r = {{"name", query_param(req, "name")}};
    if (req.has_param("kind")) r["kind"] = query_param(req, "kind");
    r["namespace"] = req.has_param("namespace") ? query_param(req, "namespace") : "default";
    resources.push_back(std::move(r));
  }
  if (resources.empty() && body.is_object() && body.contains("name") && body["name"].is_string()) {
    json r = {{"name", body["name"]}, {"namespace", body.value("namespace", std::string("default"))}};
    if (body.contains("kind") && body["kind"].is_string()) r["kind"] = body["kind"];
    resources.push_back(std::move(r));
  }
  if (resources.empty() && req.refusal.empty() && req.path == "/config" && req.method == "POST")
    for (const auto& m : config::split_manifests("POST /config", req.body))
      if (!m.key.empty()) resources.push_back({{"kind", m.key.kind}, {"namespace", m.key.ns}, {"name", m.key.name}});
  if (!resources.empty()) line["resources"] = std::move(resources);
  if (body.is_object() && body.contains("weights") && body["weights"].is_object()) line["weights"] = body["weights"];
  if (body.is_object() && body.contains("rule")) line["rule"] = body["rule"];
}

// What a client wrote, bounded: an unauthenticated client chooses the path and query of a
// refused request, and its line must not grow with them.
std::string clipped(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "...(" + std::to_string(s.size()) + " bytes)";
}

}  // namespace

std::string_view audit_result(const AdminRequest& req, const AdminResponse& resp) {
  if (!req.refusal.empty()) return "refused";
  if (resp.status >= 500) return "error";
  if (resp.status >= 400) return "rejected";
  return "success";
}

std::string audit_line(const AdminRequest& req, const AdminResponse& resp, uint64_t config_version,
                       std::string_view time) {
  json line = {{"time", time}, {"audit", "admin"}, {"peer", req.peer}};
  if (!req.principal.empty()) line["principal"] = req.principal;
  if (!req.token_name.empty()) line["token"] = req.token_name;
  line["method"] = req.method;
  line["endpoint"] = clipped(req.path, 256);
  if (!req.query.empty()) line["query"] = clipped(req.query, 512);
  describe_target(req, resp, line);
  line["status"] = resp.status;
  line["result"] = audit_result(req, resp);
  if (!req.refusal.empty()) line["reason"] = req.refusal;
  if (resp.status >= 400) {
    const json answer = json::parse(resp.body, nullptr, false);
    if (answer.is_object() && answer.contains("error")) line["error"] = answer["error"];
  }
  line["config_version"] = config_version;
  return line.dump(-1, ' ', false, json::error_handler_t::replace);
}

AdminAudit::AdminAudit(metrics::Registry& registry, std::string file, std::function<bool(const std::string&)> known)
    : registry_(registry), path_(std::move(file)), known_(std::move(known)) {
  for (const char* reason : kRefusals)
    refused_[reason] = registry_.counter("infergate_admin_refused_total",
                                         "Admin requests refused before any handler, by reason", {{"reason", reason}},
                                         std::string("admin.refused.") + reason);
  lines_suppressed_ = registry_.counter("infergate_admin_audit_lines_suppressed_total",
                                        "Audit lines of refused admin requests left out by their rate limit", {},
                                        "admin.audit_lines_suppressed");
  token_file_failed_ = registry_.counter("infergate_admin_token_file_reload_failures_total",
                                         "Reads of spec.admin.auth.tokenFile that found it unreadable or invalid", {},
                                         "admin.token_file_reload_failed");
}

// Refusals are what a client without credentials can cause at will: their lines share a
// budget (counted when left out, and said once the budget is back), so a loop of bad requests
// cannot fill the log or the audit file. Every refusal is still counted.
bool AdminAudit::refusal_line_allowed() {
  if (refusal_lines_.try_take(TokenBucket::Clock::now())) return true;
  ++suppressed_;
  lines_suppressed_.inc();
  return false;
}

void AdminAudit::write(const std::string& line) {
  if (suppressed_ > 0) {
    spdlog::warn("admin audit: {} lines of refused requests were left out (more than {}/s)", suppressed_,
                 kRefusalLinesPerSecond);
    suppressed_ = 0;
  }
  spdlog::info("admin audit: {}", line);
  if (file_) {
    std::fputs((line + "\n").c_str(), file_);
    std::fflush(file_);
  }
}

void AdminAudit::handshake_failed(const std::string& peer, const std::string& why) {
  refused_["tls_handshake"].inc();
  if (refusal_line_allowed()) spdlog::info("admin: TLS handshake from {} refused: {}", peer, why);
}

AdminAudit::~AdminAudit() {
  if (file_) std::fclose(file_);
}

bool AdminAudit::open(std::string* error) {
  if (path_.empty()) return true;
  file_ = std::fopen(path_.c_str(), "ae");
  if (!file_) {
    *error = "admin audit log " + path_ + " cannot be opened: " + std::strerror(errno);
    return false;
  }
  return true;
}

metrics::Counter& AdminAudit::requests(const std::string& endpoint, std::string_view result) {
  auto key = std::make_pair(endpoint, std::string(result));
  auto it = requests_.find(key);
  if (it != requests_.end()) return it->second;
  metrics::Counter c = registry_.counter("infergate_admin_requests_total",
                                         "State-changing admin requests, by endpoint and result",
                                         {{"endpoint", endpoint}, {"result", std::string(result)}},
                                         "admin.requests." + stat_segment(endpoint) + "." + std::string(result));
  return requests_.emplace(std::move(key), c).first->second;
}

void AdminAudit::record(const AdminRequest& req, const AdminResponse& resp, uint64_t config_version) {
  if (!req.refusal.empty()) {
    auto it = refused_.find(req.refusal);
    if (it != refused_.end()) it->second.inc();
  }
  if (!req.state_changing() && req.refusal.empty()) return;
  const std::string endpoint = known_ && known_(req.path) ? req.path : "other";
  if (req.state_changing()) requests(endpoint, audit_result(req, resp)).inc();
  if (!req.refusal.empty() && !refusal_line_allowed()) return;
  write(audit_line(req, resp, config_version, config::rfc3339_now()));
}

}  // namespace infergate::gateway
