// GIE model kinds: InferenceModel, InferenceObjective, InferenceModelRewrite. Field names and
// limits are GIE's (apix/v1alpha2 *_types.go); what its CRD schema or CEL rules reject is an
// error here too, so a manifest that a cluster accepts loads and one it refuses does not.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "config/parsers.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

constexpr int64_t kMaxWeight = 1'000'000;  // GIE targetModels[].weight / targets[].weight

// A required spec.poolRef; the pool itself is looked up by validate_inference.
std::optional<PoolRef> parse_pool_ref(ParseContext& ctx, const MapView& spec,
                                      const ObjectMeta& meta) {
  auto m = spec.map("poolRef", true);
  if (!m) return std::nullopt;
  m->allow({"group", "kind", "name"});
  PoolRef ref;
  ref.ns = meta.ns;  // GIE: the pool must be in the referring resource's namespace
  ref.line = m->key_line("name");
  auto name = m->string("name", true);
  if (name && name->empty()) ctx.error(*m->find("name"), m->path_of("name"), "must not be empty");
  if (auto g = m->string("group")) {
    ref.group = *g;
    if (*g != "inference.networking.k8s.io" && *g != "inference.networking.x-k8s.io")
      ctx.error(*m->find("group"), m->path_of("group"),
                cat("\"", *g, "\" is not an InferencePool group (inference.networking.k8s.io or "
                              "inference.networking.x-k8s.io)"));
  }
  if (auto k = m->string("kind")) {
    ref.kind = *k;
    if (*k != "InferencePool")
      ctx.error(*m->find("kind"), m->path_of("kind"),
                cat("\"", *k, "\" is not supported; only InferencePool"));
  }
  if (!name || name->empty()) return std::nullopt;
  ref.name = *name;
  return ref;
}

// A required, non-empty string; `max_size` 0 = GIE sets no maximum.
std::optional<std::string> non_empty(ParseContext& ctx, const MapView& m, std::string_view key,
                                     size_t max_size) {
  auto v = m.string(key, true);
  if (!v) return std::nullopt;
  if (v->empty() || (max_size != 0 && v->size() > max_size)) {
    ctx.error(*m.find(key), m.path_of(key),
              max_size != 0 ? cat("must be 1 to ", max_size, " characters")
                            : std::string("must not be empty"));
    return std::nullopt;
  }
  return v;
}

void parse_target_models(ParseContext& ctx, const MapView& spec, InferenceModel& model) {
  const auto items = spec.list("targetModels");
  const int list_line = spec.key_line("targetModels");
  if (items.size() > 10)  // GIE MaxItems
    ctx.error_at_line(list_line, spec.path_of("targetModels"), "must have at most 10 entries");
  size_t weighted = 0;
  for (const auto& [path, node] : items) {
    MapView t(ctx, node, path);
    if (!t.valid()) continue;
    t.allow({"name", "weight"});
    TargetModel target;
    target.line = ctx.line(node);
    if (auto n = non_empty(ctx, t, "name", 253)) target.name = *n;
    if (t.has("weight")) {
      ++weighted;
      if (auto w = t.integer("weight", 1, kMaxWeight)) target.weight = static_cast<uint32_t>(*w);
    }
    model.target_models.push_back(std::move(target));
  }
  // GIE's CEL rule: all or none, so that an unweighted entry never silently gets a share.
  if (weighted != 0 && weighted != items.size())
    ctx.error_at_line(list_line, spec.path_of("targetModels"),
                      cat("weights should be set for all models, or none of the models (GIE); ",
                          weighted, " of ", items.size(), " have one"));
}

// spec.rules[].matches: the exact model values; an empty or absent list is a generic rule.
void parse_matches(ParseContext& ctx, const MapView& rule, ModelRewriteRule& out) {
  for (const auto& [path, node] : rule.list("matches")) {
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    m.allow({"model"});
    auto model = m.map("model", true);
    if (!model) continue;
    model->allow({"type", "value"});
    one_of(ctx, *model, "type", {"Exact"});
    if (auto v = model->string("value", true)) {
      if (v->empty())
        ctx.error(*model->find("value"), model->path_of("value"), "must not be empty");
      else
        out.exact_models.push_back(*v);
    }
  }
}

void parse_targets(ParseContext& ctx, const MapView& rule, ModelRewriteRule& out) {
  const auto items = rule.list("targets");
  // GIE leaves targets optional but requires one when given; a rule without any could only
  // drop the request's model, so none is an error either way.
  if (const YAML::Node* n = rule.find("targets"); !n)
    ctx.error(rule.node(), rule.path_of("targets"), "is required (at least one target)");
  else if (n->IsSequence() && items.empty())
    ctx.error_at_line(rule.key_line("targets"), rule.path_of("targets"),
                      "must have at least one target");
  size_t weighted = 0;
  for (const auto& [path, node] : items) {
    MapView t(ctx, node, path);
    if (!t.valid()) continue;
    t.allow({"modelRewrite", "weight"});
    ModelRewriteTarget target;
    target.line = ctx.line(node);
    if (auto m = non_empty(ctx, t, "modelRewrite", 0)) target.model_rewrite = *m;
    if (t.has("weight")) {
      ++weighted;
      if (auto w = t.integer("weight", 1, kMaxWeight)) target.weight = static_cast<uint32_t>(*w);
    }
    out.targets.push_back(std::move(target));
  }
  if (weighted != 0 && weighted != items.size())
    ctx.warning_at_line(rule.key_line("targets"), rule.path_of("targets"),
                        "weights are set on some targets only; each target without one "
                        "counts as 1");
}

// Within one resource the first rule for a model wins; a later one is never reached.
void warn_shadowed_rules(ParseContext& ctx, const MapView& spec,
                         const std::vector<ModelRewriteRule>& rules) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string path = cat(spec.path_of("rules"), "[", i, "]");
    if (rules[i].exact_models.empty()) {
      for (size_t j = 0; j < i; ++j)
        if (rules[j].exact_models.empty()) {
          ctx.warning_at_line(rules[i].line, path + ".matches",
                              cat("a generic rule (no matches) after spec.rules[", j,
                                  "] is never used"));
          break;
        }
      continue;
    }
    for (const std::string& model : rules[i].exact_models) {
      for (size_t j = 0; j < i; ++j) {
        const auto& earlier = rules[j].exact_models;
        if (std::find(earlier.begin(), earlier.end(), model) == earlier.end()) continue;
        ctx.warning_at_line(rules[i].line, path + ".matches",
                            cat("model \"", model, "\" is already matched by spec.rules[", j,
                                "], which wins"));
        break;
      }
    }
  }
}

}  // namespace

std::optional<InferenceModel> parse_inference_model(ParseContext& ctx, const MapView& doc,
                                                    const std::string& api_version) {
  InferenceModel model;
  model.api_version = api_version;
  auto spec = parse_object(ctx, doc, &model.meta);
  if (!spec) return std::nullopt;
  const size_t errors_before = ctx.error_count();
  spec->allow({"modelName", "criticality", "targetModels", "poolRef"});
  if (auto n = non_empty(ctx, *spec, "modelName", 256)) model.model_name = *n;
  if (auto c = one_of(ctx, *spec, "criticality", {"Critical", "Standard", "Sheddable"})) {
    model.criticality = *c == "Critical"    ? Criticality::Critical
                        : *c == "Sheddable" ? Criticality::Sheddable
                                            : Criticality::Standard;
    model.criticality_written = true;
  }
  parse_target_models(ctx, *spec, model);
  if (auto ref = parse_pool_ref(ctx, *spec, model.meta)) model.pool_ref = std::move(*ref);
  if (ctx.error_count() != errors_before) return std::nullopt;
  return model;
}

std::optional<InferenceObjective> parse_inference_objective(ParseContext& ctx,
                                                            const MapView& doc,
                                                            const std::string& api_version) {
  InferenceObjective objective;
  objective.api_version = api_version;
  auto spec = parse_object(ctx, doc, &objective.meta);
  if (!spec) return std::nullopt;
  const size_t errors_before = ctx.error_count();
  spec->allow({"priority", "poolRef"});
  if (auto p = spec->integer("priority", std::numeric_limits<int32_t>::min(),
                                std::numeric_limits<int32_t>::max()))
    objective.priority = static_cast<int32_t>(*p);
  if (auto ref = parse_pool_ref(ctx, *spec, objective.meta)) objective.pool_ref = std::move(*ref);
  if (ctx.error_count() != errors_before) return std::nullopt;
  return objective;
}

std::optional<InferenceModelRewrite> parse_model_rewrite(ParseContext& ctx, const MapView& doc,
                                                         const std::string& api_version) {
  InferenceModelRewrite rewrite;
  rewrite.api_version = api_version;
  auto spec = parse_object(ctx, doc, &rewrite.meta);
  if (!spec) return std::nullopt;
  const size_t errors_before = ctx.error_count();
  spec->allow({"poolRef", "rules"});
  if (auto ref = parse_pool_ref(ctx, *spec, rewrite.meta)) rewrite.pool_ref = std::move(*ref);
  const auto rules = spec->list("rules", true);
  if (spec->has("rules") && rules.empty() && spec->find("rules")->IsSequence())
    ctx.warning_at_line(spec->key_line("rules"), spec->path_of("rules"),
                        "no rules: rewrites nothing");
  for (const auto& [path, node] : rules) {
    MapView r(ctx, node, path);
    if (!r.valid()) continue;
    r.allow({"matches", "targets"});
    ModelRewriteRule rule;
    rule.line = ctx.line(node);
    parse_matches(ctx, r, rule);
    parse_targets(ctx, r, rule);
    rewrite.rules.push_back(std::move(rule));
  }
  if (ctx.error_count() != errors_before) return std::nullopt;
  warn_shadowed_rules(ctx, *spec, rewrite.rules);
  return rewrite;
}

}  // namespace infergate::config::detail
