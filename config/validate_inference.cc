// Cross-resource checks for GIE model kinds. Errors are what leaves a resource without its
// pool; warnings are what GIE accepts but resolves by age (a modelName or a rewritten model
// claimed twice on one pool: the oldest wins and the other is never used).
#include "config/validate_inference.h"

#include <map>
#include <string>
#include <tuple>

#include "config/emit.h"
#include "config/object_age.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

std::string pool_name(const PoolRef& ref) { return cat("\"", ref.ns, "/", ref.name, "\""); }

// Kind and group were checked by the parser; what is left is whether the pool exists.
template <typename T>
void check_pool_refs(Emit& e, const Config& c, const std::vector<T>& items,
                     std::string_view kind) {
  for (const auto& item : items) {
    if (!c.find_pool(item.pool_ref.ns, item.pool_ref.name))
      e.error(item.meta, kind, "spec.poolRef.name", item.pool_ref.line,
              cat("InferencePool ", pool_name(item.pool_ref),
                  " is not defined (a poolRef names a pool in the resource's own namespace)"));
  }
}

using PoolModel = std::tuple<std::string, std::string, std::string>;  // pool ns, pool, model

// GIE: a modelName is unique per pool; the oldest InferenceModel keeps it.
void check_model_names(Emit& e, const Config& c) {
  std::map<PoolModel, const InferenceModel*> owner;
  for (const auto& m : c.inference_models) {  // oldest first
    auto [it, first] = owner.emplace(
        PoolModel{m.pool_ref.ns, m.pool_ref.name, m.model_name}, &m);
    if (first) continue;
    const InferenceModel& older = *it->second;
    e.warning(m.meta, "InferenceModel", "spec.modelName", m.meta.source.line,
              cat("modelName \"", m.model_name, "\" on InferencePool ", pool_name(m.pool_ref),
                  " is also claimed by InferenceModel/", older.meta.name, " (",
                  where(older.meta.source), "); the oldest one, InferenceModel/",
                  older.meta.name, ", is used and InferenceModel/", m.meta.name, " is not"));
  }
}

// GIE: a model is matched by one rule across every rewrite on a pool, the oldest resource's;
// the same holds for the generic rule, which matches everything left.
void check_rewrite_overlaps(Emit& e, const Config& c) {
  std::map<PoolModel, const InferenceModelRewrite*> owner;
  std::map<std::pair<std::string, std::string>, const InferenceModelRewrite*> generic_owner;
  for (const auto& rw : c.model_rewrites) {  // oldest first
    for (size_t i = 0; i < rw.rules.size(); ++i) {
      const ModelRewriteRule& rule = rw.rules[i];
      const std::string path = cat("spec.rules[", i, "].matches");
      if (rule.exact_models.empty()) {
        auto [it, first] = generic_owner.emplace(
            std::make_pair(rw.pool_ref.ns, rw.pool_ref.name), &rw);
        if (!first && it->second != &rw)
          e.warning(rw.meta, "InferenceModelRewrite", path, rule.line,
                    cat("InferenceModelRewrite/", it->second->meta.name, " (",
                        where(it->second->meta.source), ") already has a generic rule on "
                        "InferencePool ", pool_name(rw.pool_ref),
                        "; the oldest one is used and this one never is"));
        continue;
      }
      for (const std::string& model : rule.exact_models) {
        auto [it, first] =
            owner.emplace(PoolModel{rw.pool_ref.ns, rw.pool_ref.name, model}, &rw);
        if (!first && it->second != &rw)  // repeats inside one resource: the parser's warning
          e.warning(rw.meta, "InferenceModelRewrite", path, rule.line,
                    cat("model \"", model, "\" on InferencePool ", pool_name(rw.pool_ref),
                        " is already matched by InferenceModelRewrite/", it->second->meta.name,
                        " (", where(it->second->meta.source), "), which is older and wins"));
      }
    }
  }
}

// GatewayConfig spec.endpointPicker.pools[] refines pools that exist.
void check_picker_pools(Emit& e, const Config& c) {
  for (const PoolPickerSettings& p : c.gateway.endpoint_picker.pools) {
    if (!c.find_pool(p.ns, p.name))
      e.error(c.gateway.meta, "GatewayConfig", cat(p.field_path, ".name"), p.settings.source.line,
              cat("InferencePool \"", p.ns, "/", p.name, "\" is not defined"));
  }
}

// An endpointPickerRef names a Service in the pool's namespace; outside a cluster it needs
// one with a static endpoint, else it is looked up as a DNS name.
void check_picker_services(Emit& e, const Config& c) {
  for (const InferencePool& pool : c.pools) {
    if (!pool.endpoint_picker) continue;
    const std::string& name = pool.endpoint_picker->name;
    const char* field = pool.api_version.find("x-k8s.io") != std::string::npos ? "spec.extensionRef.name"
                                                                                : "spec.endpointPickerRef.name";
    if (!c.find_service(pool.meta.ns, name))
      e.warning(pool.meta, "InferencePool", field, 0,
                cat("Service \"", pool.meta.ns, "/", name, "\" is not defined here: the endpoint picker is reached as ",
                    name, ".", pool.meta.ns, ":", pool.endpoint_picker->port,
                    " (DNS); when it cannot be reached, failureMode decides"));
  }
}

}  // namespace

void validate_inference(Collected& col, std::vector<Diagnostic>* errors,
                        std::vector<Diagnostic>* warnings) {
  Emit e(errors, warnings);
  Config& c = col.config;
  sort_oldest_first(c.inference_models);
  sort_oldest_first(c.model_rewrites);
  check_pool_refs(e, c, c.inference_models, "InferenceModel");
  check_pool_refs(e, c, c.inference_objectives, "InferenceObjective");
  check_pool_refs(e, c, c.model_rewrites, "InferenceModelRewrite");
  check_model_names(e, c);
  check_rewrite_overlaps(e, c);
  check_picker_pools(e, c);
  check_picker_services(e, c);
}

}  // namespace infergate::config::detail
