#include "config/validate_health_checks.h"

#include <map>
#include <string>
#include <tuple>

#include "config/emit.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

void validate_health_checks(Collected& collected, std::vector<Diagnostic>* errors,
                            std::vector<Diagnostic>* warnings) {
  Emit e(errors, warnings);
  const Config& c = collected.config;
  std::map<std::tuple<std::string, std::string, std::string>, const HealthCheckPolicy*> by_target;
  for (const auto& p : c.health_check_policies) {
    const std::string target = cat(p.target_kind, " \"", p.meta.ns, "/", p.target_name, "\"");
    auto [it, first] = by_target.emplace(std::tuple{p.target_kind, p.meta.ns, p.target_name}, &p);
    if (!first) {
      e.error(p.meta, "HealthCheckPolicy", "spec.targetRef", p.target_line,
              cat(target, " already has HealthCheckPolicy/", it->second->meta.name, " (",
                  where(it->second->meta.source), "); one policy per target"));
      continue;
    }
    const bool defined = p.target_kind == "InferencePool" ? c.find_pool(p.meta.ns, p.target_name) != nullptr
                                                          : c.find_service(p.meta.ns, p.target_name) != nullptr;
    if (!defined)
      e.warning(p.meta, "HealthCheckPolicy", "spec.targetRef.name", p.target_line,
                cat(target, " is not defined; the policy checks nothing until it is"));
  }
}

}  // namespace infergate::config::detail
