#include "config/validate.h"

#include "config/str_cat.h"
#include "config/validate_health_checks.h"
#include "config/validate_inference.h"
#include "config/validate_rollouts.h"
#include "config/validate_istio.h"
#include "config/validate_security.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>

namespace infergate::config::detail {

namespace {

class Reporter {
 public:
  Reporter(std::vector<Diagnostic>* errors, std::vector<Diagnostic>* warnings)
      : errors_(errors), warnings_(warnings) {}
  void error(const SourceLocation& at, std::string resource, std::string path, int line,
             std::string message) {
    errors_->push_back(make(at, std::move(resource), std::move(path), line, std::move(message)));
  }
  void warning(const SourceLocation& at, std::string resource, std::string path, int line,
               std::string message) {
    warnings_->push_back(make(at, std::move(resource), std::move(path), line, std::move(message)));
  }

 private:
  static Diagnostic make(const SourceLocation& at, std::string resource, std::string path,
                         int line, std::string message) {
    return Diagnostic{at.file, at.document, std::move(resource), std::move(path),
                      line > 0 ? line : at.line, std::move(message)};
  }
  std::vector<Diagnostic>* errors_;
  std::vector<Diagnostic>* warnings_;
};

std::string where(const SourceLocation& s) {
  return cat(s.file, ":", s.line);
}

// Reports every resource whose ns/name was already seen; `describe` gives kind and source.
template <typename T, typename Meta>
void check_duplicates(Reporter& r, const std::vector<T>& items, std::string_view kind,
                      Meta meta_of) {
  std::map<std::pair<std::string, std::string>, const ObjectMeta*> seen;
  for (const auto& item : items) {
    const ObjectMeta& m = meta_of(item);
    auto [it, inserted] = seen.emplace(std::make_pair(m.ns, m.name), &m);
    if (!inserted)
      r.error(m.source, cat(kind, "/", m.name), "metadata.name", m.source.line,
              cat("duplicate ", kind, " \"", m.ns, "/", m.name, "\" (first defined at ",
                           where(it->second->source), ")"));
  }
}

bool is_wildcard_address(const std::string& a) { return a == "0.0.0.0" || a == "::" || a == "[::]"; }

void check_gateways(Reporter& r, Collected& c) {
  std::map<std::pair<std::string, std::string>, const GatewayRecord*> seen;
  for (const auto& g : c.gateways) {
    auto [it, inserted] = seen.emplace(std::make_pair(g.ns, g.name), &g);
    if (!inserted)
      r.error(g.source, g.resource, "metadata.name", g.source.line,
              cat("duplicate Gateway \"", g.ns, "/", g.name, "\" (first defined at ",
                           where(it->second->source), ")"));
  }
  const auto& ls = c.config.listeners;
  for (size_t i = 0; i < ls.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const Listener& a = ls[j];
      const Listener& b = ls[i];
      const std::string resource = cat("Gateway/", b.gateway_name);
      if (a.gateway_ns == b.gateway_ns && a.gateway_name == b.gateway_name && a.name == b.name) {
        r.error(b.source, resource, "spec.listeners", b.source.line,
                cat("duplicate listener name \"", b.name, "\""));
        break;
      }
      if (a.port == b.port && (a.address == b.address || is_wildcard_address(a.address) ||
                               is_wildcard_address(b.address))) {
        // Gateway API: listeners may share a port when one socket can tell them apart, by
        // hostname (SNI and :authority), with one protocol and one address.
        const bool compatible = a.address == b.address && a.protocol == b.protocol && a.hostname != b.hostname;
        if (compatible) continue;
        r.error(b.source, resource, "spec.listeners", b.source.line,
                cat("port ", b.port, " is already used by listener \"", a.key(), "\" at ", where(a.source),
                    " (listeners share a port only with the same address and protocol and different hostnames)"));
        break;
      }
    }
  }
}

void check_endpoints(Reporter& r, const Collected& c) {
  std::map<std::string, const Endpoint*> names;
  std::map<std::pair<std::string, int>, const Endpoint*> addresses;
  for (const auto& ep : c.config.endpoints) {
    // Cluster endpoints are the API server's: their names are unique per namespace and two
    // pods sharing an address (hostNetwork) are the cluster's business, not a config error.
    if (!ep.ns.empty()) continue;
    const std::string resource = "GatewayConfig/" + c.config.gateway.meta.name;
    if (auto [it, ok] = names.emplace(ep.name, &ep); !ok)
      r.error(ep.source, resource, "spec.endpoints", ep.source.line,
              cat("duplicate endpoint name \"", ep.name, "\" (first at ",
                           where(it->second->source), ")"));
    if (auto [it, ok] = addresses.emplace(std::make_pair(ep.address, ep.port.value_or(0)), &ep); !ok)
      r.error(ep.source, resource, "spec.endpoints", ep.source.line,
              cat("endpoint \"", ep.name, "\" has the same address and port as \"",
                           it->second->name, "\""));
  }
}

void check_selectors(Reporter& r, const Collected& c) {
  auto selects_any = [&](const Labels& selector, const std::string& ns) {
    for (const auto& ep : c.config.endpoints)
      if (endpoint_selected(selector, ns, ep)) return true;
    return false;
  };
  for (const auto& s : c.config.services) {
    if (s.selector.empty()) continue;  // endpoints from its EndpointSlices, or none by design
    if (!selects_any(s.selector, s.meta.ns))
      r.warning(s.meta.source, "Service/" + s.meta.name, "spec.selector", s.meta.source.line,
                "selects no endpoint (no ready pod, nor GatewayConfig spec.endpoints entry, has these labels)");
  }
  for (const auto& p : c.config.pools) {
    if (!selects_any(p.selector, p.meta.ns))
      r.warning(p.meta.source, "InferencePool/" + p.meta.name, "spec.selector", p.meta.source.line,
                "selects no endpoint (no ready pod, nor GatewayConfig spec.endpoints entry, has these labels)");
  }
}

// The Gateway API accepts a route whose backendRef does not resolve (ResolvedRefs=False) and
// answers 500 to the share of requests that would have gone there; a mirror to nowhere is
// skipped. Both are warnings, naming the reference, so the operator sees them at once.
void check_backend(Reporter& r, const Config& config, const HttpRoute& route,
                   const std::string& path, int line, std::string_view kind,
                   const std::string& ns, const std::string& name,
                   const std::optional<uint16_t>& port, bool mirror) {
  const std::string resource = "HTTPRoute/" + route.meta.name;
  const std::string_view outcome = mirror ? "; the mirror is skipped"
                                          : "; requests routed to it get 500 (ResolvedRefs: False)";
  if (kind == "InferencePool") {
    if (!config.find_pool(ns, name))
      r.warning(route.meta.source, resource, path, line,
                cat("InferencePool \"", ns, "/", name, "\" is not defined", outcome));
    return;
  }
  const Service* svc = config.find_service(ns, name);
  if (!svc) {
    r.warning(route.meta.source, resource, path, line,
              cat("Service \"", ns, "/", name, "\" is not defined", outcome));
    return;
  }
  if (!port) return;  // reported by the parser
  for (const auto& p : svc->ports)
    if (p.port == *port) return;
  r.warning(route.meta.source, resource, path + ".port", line,
            cat("Service \"", ns, "/", name, "\" has no port ", *port, outcome));
}

void check_routes(Reporter& r, Collected& c) {
  for (auto& route : c.config.routes) {
    const std::string resource = "HTTPRoute/" + route.meta.name;
    if (route.parent_refs.empty())
      r.warning(route.meta.source, resource, "spec.parentRefs", route.meta.source.line,
                "no parentRefs: the route attaches to no listener");
    for (size_t i = 0; i < route.parent_refs.size(); ++i) {
      ParentRef& ref = route.parent_refs[i];
      const std::string path = cat("spec.parentRefs[", i, "]");
      const bool is_gateway = ref.kind == "Gateway" && ref.group == "gateway.networking.k8s.io";
      const bool defined = std::any_of(c.gateways.begin(), c.gateways.end(), [&](const auto& g) {
        return g.ns == ref.ns && g.name == ref.name;
      });
      if (!is_gateway) {
        ref.unresolved_foreign = true;
        r.warning(route.meta.source, resource, path, ref.line,
                  cat("parent ", ref.kind, " \"", ref.ns, "/", ref.name, "\" (group ",
                               ref.group, ") is not a Gateway defined here; the route attaches "
                               "to every listener",
                      defined ? " (a Gateway of that name exists: write kind Gateway, group "
                                "gateway.networking.k8s.io to attach to it alone)"
                              : ""));
        continue;
      }
      if (!defined) {
        r.error(route.meta.source, resource, path, ref.line,
                cat("Gateway \"", ref.ns, "/", ref.name, "\" is not defined"));
        continue;
      }
      bool any_listener = false;
      for (const auto& l : c.config.listeners) {
        if (l.gateway_ns != ref.ns || l.gateway_name != ref.name) continue;
        if (!ref.section_name.empty() && l.name != ref.section_name) continue;
        if (ref.port && l.port != *ref.port) continue;
        any_listener = true;
      }
      if (!any_listener)
        r.error(route.meta.source, resource, path, ref.line,
                cat("Gateway \"", ref.ns, "/", ref.name, "\" has no listener",
                             ref.section_name.empty() ? "" : " named \"" + ref.section_name + "\"",
                             ref.port ? cat(" on port ", *ref.port) : ""));
    }
    for (size_t ri = 0; ri < route.rules.size(); ++ri) {
      const auto& rule = route.rules[ri];
      const std::string rpath = cat("spec.rules[", ri, "]");
      for (size_t bi = 0; bi < rule.backend_refs.size(); ++bi) {
        const BackendRef& b = rule.backend_refs[bi];
        check_backend(r, c.config, route, cat(rpath, ".backendRefs[", bi, "]"), b.line,
                      b.kind, b.ns, b.name, b.port, false);
      }
      for (size_t fi = 0; fi < rule.filters.size(); ++fi) {
        const auto& f = rule.filters[fi];
        if (f.mirror)
          check_backend(r, c.config, route,
                        cat(rpath, ".filters[", fi, "].requestMirror.backendRef"),
                        f.line, f.mirror->kind, f.mirror->ns, f.mirror->name, f.mirror->port, true);
      }
    }
  }
}

}  // namespace

void validate(Collected& c, std::vector<Diagnostic>* errors, std::vector<Diagnostic>* warnings) {
  Reporter r(errors, warnings);
  for (size_t i = 1; i < c.gateway_config_sources.size(); ++i)
    r.error(c.gateway_config_sources[i], c.gateway_config_resources[i], "", 0,
            cat("only one GatewayConfig is allowed (first at ",
                         where(c.gateway_config_sources[0]), ")"));
  check_gateways(r, c);
  check_endpoints(r, c);
  auto meta = [](const auto& x) -> const ObjectMeta& { return x.meta; };
  check_duplicates(r, c.config.services, "Service", meta);
  check_duplicates(r, c.config.pools, "InferencePool", meta);
  check_duplicates(r, c.config.routes, "HTTPRoute", meta);
  check_duplicates(r, c.config.inference_models, "InferenceModel", meta);
  check_duplicates(r, c.config.inference_objectives, "InferenceObjective", meta);
  check_duplicates(r, c.config.model_rewrites, "InferenceModelRewrite", meta);
  check_duplicates(r, c.config.rollouts, "Rollout", meta);
  check_duplicates(r, c.config.health_check_policies, "HealthCheckPolicy", meta);
  check_selectors(r, c);
  check_routes(r, c);
  validate_istio(c, errors, warnings);
  validate_inference(c, errors, warnings);
  validate_health_checks(c, errors, warnings);
  validate_rollouts(c, errors, warnings);
  validate_security(c, errors, warnings);
}

}  // namespace infergate::config::detail
