// A Rollout must name a route rule (or an InferenceModel) that exists and whose backends
// include its stable and canary, and no two Rollouts may move one rule's weights.
#include "config/validate_rollouts.h"

#include <map>
#include <tuple>

#include "config/emit.h"
#include "config/str_cat.h"
#include "config/weights.h"

namespace infergate::config::detail {

namespace {

const char* kind_name(RolloutTargetKind k) {
  switch (k) {
    case RolloutTargetKind::HttpRoute: return "HTTPRoute";
    case RolloutTargetKind::VirtualService: return "VirtualService";
    case RolloutTargetKind::InferenceModel: return "InferenceModel";
  }
  return "?";
}

// The rule a target names among `rules` (one route's), or nullptr with *why.
const RuleWeights* find_rule(const std::vector<const RuleWeights*>& rules, const RolloutTarget& t, std::string* why) {
  if (t.rule) {
    for (const RuleWeights* w : rules)
      if (w->rule == *t.rule) return w;
    *why = cat("has no rule ", *t.rule, " with backends");
    return nullptr;
  }
  if (!t.rule_name.empty()) {
    for (const RuleWeights* w : rules)
      if (w->rule_name == t.rule_name) return w;
    *why = cat("has no rule named \"", t.rule_name, "\"");
    return nullptr;
  }
  if (rules.size() == 1) return rules.front();
  *why = cat("has ", rules.size(), " rules with backends: name one with targetRef.rule");
  return nullptr;
}

void check_route_target(Emit& e, const Config& c, const std::vector<RuleWeights>& weights, const Rollout& r) {
  const char* kind = kind_name(r.target.kind);
  std::vector<const RuleWeights*> rules;
  for (const RuleWeights& w : weights)
    if (w.kind == kind && w.ns == r.target.ns && w.name == r.target.name) rules.push_back(&w);
  if (rules.empty()) {
    e.error(r.meta, "Rollout", "spec.targetRef", r.target.line,
            cat(kind, " \"", r.target.ns, "/", r.target.name, "\" is not defined or routes to no backend"));
    return;
  }
  std::string why;
  const RuleWeights* rule = find_rule(rules, r.target, &why);
  if (!rule) {
    e.error(r.meta, "Rollout", "spec.targetRef.rule", r.target.line, cat(kind, " ", r.target.name, " ", why));
    return;
  }
  for (const auto& [field, backend] : {std::pair{"stable", &r.stable}, std::pair{"canary", &r.canary}}) {
    bool found = false;
    std::string names;
    for (const BackendWeight& b : rule->backends) {
      found |= b.name == *backend;
      names += (names.empty() ? "" : ", ") + b.name;
    }
    // A VirtualService rule gains a destination for a subset of its host (POST /weights does).
    if (!found && r.target.kind == RolloutTargetKind::VirtualService) {
      for (const auto& vs : c.virtual_services) {
        if (vs.meta.ns != r.target.ns || vs.meta.name != r.target.name || rule->rule >= vs.http.size()) continue;
        const auto& dests = vs.http[rule->rule].route;
        found = !dests.empty() &&
                c.find_subset(dests[0].destination.service_ns, dests[0].destination.service_name, *backend);
      }
    }
    if (!found)
      e.error(r.meta, "Rollout", cat("spec.", field), 0,
              cat("\"", *backend, "\" is not a backend of ", kind, " ", r.target.name, " rule ", rule->rule,
                  " (it has: ", names, ")"));
  }
}

// A target at weight 0 is not in the list (GIE weights start at 1): one of the two must be.
void check_model_target(Emit& e, const Config& c, const Rollout& r) {
  for (const InferenceModel& m : c.inference_models) {
    if (m.meta.ns != r.target.ns || m.meta.name != r.target.name) continue;
    bool found = false;
    for (const TargetModel& t : m.target_models) found |= t.name == r.stable || t.name == r.canary;
    if (!found)
      e.error(r.meta, "Rollout", "spec.stable", 0,
              cat("neither \"", r.stable, "\" nor \"", r.canary, "\" is in the targetModels of InferenceModel ",
                  m.meta.name));
    return;
  }
  e.error(r.meta, "Rollout", "spec.targetRef", r.target.line,
          cat("InferenceModel \"", r.target.ns, "/", r.target.name, "\" is not defined"));
}

}  // namespace

void validate_rollouts(Collected& collected, std::vector<Diagnostic>* errors, std::vector<Diagnostic>* warnings) {
  const Config& c = collected.config;
  if (c.rollouts.empty()) return;
  Emit e(errors, warnings);
  const std::vector<RuleWeights> weights = list_weights(c);
  std::map<std::tuple<int, std::string, std::string, size_t, std::string>, const Rollout*> owners;
  for (const Rollout& r : c.rollouts) {
    if (r.target.kind == RolloutTargetKind::InferenceModel) check_model_target(e, c, r);
    else check_route_target(e, c, weights, r);
    auto key = std::make_tuple(static_cast<int>(r.target.kind), r.target.ns, r.target.name, r.target.rule.value_or(~size_t{0}),
                               r.target.rule_name);
    auto [it, first] = owners.emplace(key, &r);
    if (!first)
      e.error(r.meta, "Rollout", "spec.targetRef", r.target.line,
              cat("Rollout ", it->second->meta.name, " already moves the weights of this target (",
                  where(it->second->meta.source), ")"));
  }
}

}  // namespace infergate::config::detail
