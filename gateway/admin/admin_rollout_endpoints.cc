// Rollouts in the admin API: GET /rollouts (every rollout's phase, step, weight, last verdict
// and events) and POST /rollouts/{promote,abort,pause,resume,retry}; and how a rollout's
// weight reaches its route: the same versioned document change as POST /weights.
#include <nlohmann/json.hpp>

#include "config/weights.h"
#include "gateway/net/server.h"

namespace infergate::gateway {

namespace {

using nlohmann::json;

// name / namespace / reason from the query string or a JSON body.
struct Target {
  std::string ns = "default", name, reason;
};

std::optional<Target> target_of(const AdminRequest& req, std::string* error) {
  Target t;
  if (!req.body.empty()) {
    auto j = json::parse(req.body, nullptr, false);
    if (!j.is_object()) {
      *error = "body must be a JSON object: {\"name\": ROLLOUT, \"namespace\": NS, \"reason\": TEXT}";
      return std::nullopt;
    }
    t.name = j.value("name", "");
    t.ns = j.value("namespace", "default");
    t.reason = j.value("reason", "");
  }
  if (!req.param("name").empty()) t.name = req.param("name");
  if (!req.param("namespace").empty()) t.ns = req.param("namespace");
  if (!req.param("reason").empty()) t.reason = req.param("reason");
  if (t.name.empty()) {
    *error = "which rollout? give ?name=NAME (and &namespace=NS) or {\"name\": NAME}";
    return std::nullopt;
  }
  return t;
}

}  // namespace

std::string Server::apply_rollout_weight(const config::Rollout& r, uint32_t canary_weight) {
  if (!current_) return "no config yet";
  if (std::string why; rollout_target_in_cluster(r, canary_weight, &why)) return why;
  const std::vector<std::pair<std::string, uint32_t>> weights = {{r.stable, 100 - canary_weight},
                                                                 {r.canary, canary_weight}};
  std::string error;
  std::optional<config::Manifest> doc;
  if (r.target.kind == config::RolloutTargetKind::InferenceModel) {
    doc = config::patch_target_models(*current_->config, store_, r.target.ns, r.target.name, weights, &error);
  } else {
    config::WeightsChange c;
    c.kind = r.target.kind == config::RolloutTargetKind::HttpRoute ? "HTTPRoute" : "VirtualService";
    c.ns = r.target.ns;
    c.name = r.target.name;
    c.rule = r.target.rule;
    c.rule_name = r.target.rule_name;
    c.weights = weights;
    doc = config::patch_weights(*current_->config, store_, c, &error);
  }
  if (!doc) return error;
  config::ConfigStore candidate = store_;
  candidate.apply(std::move(*doc), "Rollout " + r.meta.ns + "/" + r.meta.name, config::rfc3339_now());
  ChangeResult result = commit(std::move(candidate), "rollout " + r.meta.name);
  if (result.ok) return {};
  std::string why;
  for (const auto& e : result.errors) why += (why.empty() ? "" : "; ") + e.to_string();
  return why.empty() ? "rejected" : why;
}

void Server::register_rollout_admin() {
  admin_.add("/rollouts", "GET", "every Rollout: phase, step, canary weight, last analysis and events; ?name=&namespace=",
             [this](const AdminRequest& req) {
               const std::string ns = req.param("namespace").empty() ? "default" : req.param("namespace");
               json list = rollouts_->status_json(ns, req.param("name"));
               if (!req.param("name").empty() && list.empty())
                 return AdminResponse::error(404, "no rollout \"" + ns + "/" + req.param("name") + "\"");
               return AdminResponse::json(json{{"version", version_}, {"rollouts", list}}.dump(2) + "\n");
             });
  for (const char* action : {"promote", "abort", "pause", "resume", "retry"}) {
    const std::string name = action;
    admin_.add("/rollouts/" + name, "POST", name + " a rollout: ?name=NAME&namespace=NS&reason=TEXT or a JSON body",
               [this, name](const AdminRequest& req) {
                 std::string error;
                 auto t = target_of(req, &error);
                 if (!t) return AdminResponse::error(400, error);
                 error = rollouts_->act(t->ns, t->name, *rollout::action_from_name(name), t->reason);
                 if (!error.empty())
                   return AdminResponse::error(error.rfind("no rollout", 0) == 0 ? 404 : 409, name + ": " + error);
                 return AdminResponse::json(
                     json{{"version", version_}, {"rollouts", rollouts_->status_json(t->ns, t->name)}}.dump(2) + "\n");
               });
  }
}

}  // namespace infergate::gateway
