// The admin API's configuration changes: POST /config (manifests, applied like
// `kubectl apply`), DELETE /config (like `kubectl delete`), POST /config/revert (back to
// the files), GET and POST /weights (one route rule's backend weights). Every change goes
// through Server::commit: validated whole, then published, or rejected with the old
// configuration still serving. Answers are JSON; errors are {"error": ..., "errors": [...]}.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "config/kubernetes_ownership.h"
#include "config/weights.h"
#include "gateway/admin/weights_request.h"
#include "gateway/net/server.h"

namespace infergate::gateway {

namespace {

using nlohmann::json;

json diagnostics_json(const std::vector<config::Diagnostic>& ds) {
  json a = json::array();
  for (const auto& d : ds) a.push_back(d.to_string());
  return a;
}

json key_json(const config::ResourceKey& k) {
  json j = {{"kind", k.kind}, {"namespace", k.ns}, {"name", k.name}};
  if (!k.group.empty()) j["group"] = k.group;
  return j;
}

AdminResponse rejected(const ChangeResult& r, const std::string& what) {
  json j = {{"error", what + " rejected: " + (r.errors.empty() ? std::string("unknown error") : r.errors[0].to_string())},
            {"errors", diagnostics_json(r.errors)},
            {"warnings", diagnostics_json(r.warnings)},
            {"version", r.version}};
  return AdminResponse::json(j.dump(2) + "\n", 400);
}

json outcome_json(const ChangeResult& r, bool dry_run) {
  json j = {{"version", r.version}, {"warnings", diagnostics_json(r.warnings)}};
  if (dry_run) j["dry_run"] = true;
  if (!r.notes.empty()) j["notes"] = r.notes;
  return j;
}

bool truthy(const std::string& v) { return v == "1" || v == "true" || v == "yes"; }

// kind/name/namespace (and group, when the kind alone is ambiguous) from the query.
std::optional<config::ResourceKey> key_from_query(const AdminRequest& req, const config::ConfigStore& store,
                                                  std::string* error) {
  config::ResourceKey key;
  key.kind = req.param("kind");
  key.name = req.param("name");
  if (req.has_param("namespace")) key.ns = req.param("namespace");
  if (key.kind.empty() || key.name.empty()) {
    *error = "needs ?kind=KIND&name=NAME (and &namespace=NS when not \"default\")";
    return std::nullopt;
  }
  if (req.has_param("group")) {
    key.group = req.param("group");
    return key;
  }
  // Every resource the store knows is in the files or in the overlay (deleted ones too, so
  // that a deletion can be reverted by name).
  std::vector<config::ResourceKey> found;
  auto consider = [&](const config::ResourceKey& k) {
    if (k.kind == key.kind && k.ns == key.ns && k.name == key.name &&
        std::find(found.begin(), found.end(), k) == found.end())
      found.push_back(k);
  };
  for (const auto& m : store.base()) consider(m.key);
  for (const auto& c : store.overlay()) consider(c.key);
  if (found.size() > 1) {
    *error = "several groups have a " + key.kind + " " + key.ns + "/" + key.name + ": add &group=";
    return std::nullopt;
  }
  if (found.empty()) {
    *error = "no " + key.kind + " " + key.ns + "/" + key.name;
    return std::nullopt;
  }
  return found[0];
}

json weights_json(const config::RuleWeights& w) {
  uint64_t total = 0;
  for (const auto& b : w.backends) total += b.effective;
  json backends = json::array();
  for (const auto& b : w.backends) {
    json bj = {{"name", b.name}, {"kind", b.kind}, {"weight", b.weight}, {"effective_weight", b.effective}};
    if (!b.host.empty()) bj["host"] = b.host;
    bj["percent"] = total ? std::round(10000.0 * b.effective / static_cast<double>(total)) / 100.0 : 0.0;
    backends.push_back(std::move(bj));
  }
  json j = {{"kind", w.kind}, {"namespace", w.ns}, {"name", w.name}, {"rule", w.rule}, {"backends", backends}};
  if (!w.rule_name.empty()) j["rule_name"] = w.rule_name;
  j["source"] = w.source.file + ":" + std::to_string(w.source.line);
  return j;
}

}  // namespace

void Server::register_config_admin() {
  admin_.add("/config", "POST,DELETE",
             "POST: apply YAML manifests like kubectl apply (?dry_run=true validates only); "
             "DELETE ?kind=&name=[&namespace=]: remove a resource",
             [this](const AdminRequest& req) {
               const bool dry_run = truthy(req.param("dry_run"));
               config::ConfigStore candidate = store_;
               json applied = json::array();
               if (req.method == "DELETE") {
                 std::string error;
                 auto key = key_from_query(req, store_, &error);
                 if (!key) return AdminResponse::error(404, error);
                 if (std::string why = config::kubernetes_change_refusal(store_, *key, true); !why.empty())
                   return AdminResponse::error(409, why);
                 if (!candidate.remove(*key, "DELETE /config", config::rfc3339_now()))
                   return AdminResponse::error(404, "no " + key->to_string() + " in the running configuration");
                 applied.push_back(key_json(*key));
                 applied.back()["action"] = "deleted";
               } else {
                 std::vector<config::Manifest> docs = config::split_manifests("POST /config", req.body);
                 if (docs.empty()) return AdminResponse::error(400, "the body holds no YAML documents");
                 for (auto& m : docs) {
                   if (m.key.empty()) {
                     // Loaded alone, it says what is wrong with it (syntax, kind, name).
                     config::LoadResult alone = config::load_manifests({m});
                     ChangeResult r;
                     r.version = version_;
                     r.errors = alone.errors;
                     if (r.errors.empty())
                       r.errors.push_back(config::Diagnostic{m.file, m.document, "", "", m.line_offset + 1,
                                                             "needs apiVersion, kind and metadata.name"});
                     reload_failed_.inc();
                     return rejected(r, "configuration");
                   }
                   if (std::string why = config::kubernetes_change_refusal(store_, m.key, false); !why.empty())
                     return AdminResponse::error(409, why);
                   const config::Manifest* before = store_.find(m.key);
                   std::string action = !before ? "created" : before->text == m.text ? "unchanged" : "configured";
                   applied.push_back(key_json(m.key));
                   applied.back()["action"] = action;
                   if (action != "unchanged") candidate.apply(std::move(m), "POST /config", config::rfc3339_now());
                 }
               }
               ChangeResult r = commit(std::move(candidate), "admin", dry_run);
               if (!r.ok) return rejected(r, "configuration");
               json j = outcome_json(r, dry_run);
               j["applied"] = applied;
               if (!dry_run) spdlog::info("admin: {} {} -> version {}", req.method, "/config", r.version);
               return AdminResponse::json(j.dump(2) + "\n");
             });
  admin_.add("/config/revert", "POST",
             "drop run-time changes and serve the files again: ?kind=&name=[&namespace=] for one resource, or ?all=true",
             [this](const AdminRequest& req) {
               config::ConfigStore candidate = store_;
               json reverted = json::array();
               if (truthy(req.param("all"))) {
                 for (const auto& c : store_.overlay()) reverted.push_back(key_json(c.key));
                 candidate.revert_all();
               } else {
                 std::string error;
                 auto key = key_from_query(req, store_, &error);
                 if (!key) return AdminResponse::error(404, error + " (or ?all=true)");
                 if (!candidate.revert(*key))
                   return AdminResponse::error(404, key->to_string() + " has no run-time change; it is as the files say");
                 reverted.push_back(key_json(*key));
               }
               ChangeResult r = commit(std::move(candidate), "admin", false);
               if (!r.ok) return rejected(r, "revert");
               json j = outcome_json(r, false);
               j["reverted"] = reverted;
               return AdminResponse::json(j.dump(2) + "\n");
             });
  admin_.add("/weights", "GET,POST",
             "GET: backend weights of every route rule; POST {\"name\",\"namespace\",\"rule\",\"weights\":{..}}: set them",
             [this](const AdminRequest& req) {
               if (!current_) return AdminResponse::error(503, "no config yet");
               if (req.method == "GET") {
                 json rules = json::array();
                 for (const auto& w : config::list_weights(*current_->config)) rules.push_back(weights_json(w));
                 return AdminResponse::json(json{{"version", version_}, {"rules", rules}}.dump(2) + "\n");
               }
               std::string error;
               auto change = parse_weights_request(req.body, &error);
               if (!change) return AdminResponse::error(400, error);
               auto doc = config::patch_weights(*current_->config, store_, *change, &error);
               if (!doc) return AdminResponse::error(400, error);
               const config::ResourceKey key = doc->key;
               if (std::string why = config::kubernetes_weights_refusal(store_, *current_->config, key, *change);
                   !why.empty())
                 return AdminResponse::error(409, why);
               config::ConfigStore candidate = store_;
               candidate.apply(std::move(*doc), "POST /weights", config::rfc3339_now());
               ChangeResult r = commit(std::move(candidate), "admin", truthy(req.param("dry_run")));
               if (!r.ok) return rejected(r, "weights");
               json j = outcome_json(r, truthy(req.param("dry_run")));
               const config::Config& cfg = *current_->config;
               for (const auto& w : config::list_weights(cfg))
                 if (w.kind == key.kind && w.ns == key.ns && w.name == key.name) j["rules"].push_back(weights_json(w));
               spdlog::info("admin: weights of {} set -> version {}", key.to_string(), r.version);
               return AdminResponse::json(j.dump(2) + "\n");
             });
}

}  // namespace infergate::gateway
