// Cross-resource checks for Istio kinds. Errors are what would leave a route without a
// destination (istioctl analyze's ReferencedResourceNotFound); warnings are what Istio accepts
// but a reader should know (gateways that are not here, rules that merge, subsets that select
// no endpoint).
#include "config/validate_istio.h"

#include <algorithm>
#include <map>

#include "config/emit.h"
#include "config/istio_refs.h"
#include "config/object_age.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

template <typename T>
void check_duplicates(Emit& e, const std::vector<T>& items, std::string_view kind) {
  std::map<std::pair<std::string, std::string>, const ObjectMeta*> seen;
  for (const auto& item : items) {
    auto [it, inserted] = seen.emplace(std::make_pair(item.meta.ns, item.meta.name), &item.meta);
    if (!inserted)
      e.error(item.meta, kind, "metadata.name", item.meta.source.line,
              cat("duplicate ", kind, " \"", item.meta.ns, "/", item.meta.name,
                  "\" (first defined at ", where(it->second->source), ")"));
  }
}

// Endpoints of `svc` that also carry every label of `subset_labels`.
bool subset_selects_any(const Config& c, const Service& svc, const Labels& subset_labels) {
  for (const auto& ep : c.endpoints) {
    if (!endpoint_selected(svc.selector, svc.meta.ns, ep) && !endpoint_of_service(svc.meta.ns, svc.meta.name, ep)) continue;
    bool all = true;
    for (const auto& [k, v] : subset_labels) {
      auto it = ep.labels.find(k);
      all = all && it != ep.labels.end() && it->second == v;
    }
    if (all) return true;
  }
  return false;
}

void check_destination_rules(Emit& e, Config& c) {
  std::map<std::pair<std::string, std::string>, const DestinationRule*> first_for_service;
  std::map<std::tuple<std::string, std::string, std::string>, const DestinationRule*> subsets;
  for (auto& dr : c.destination_rules) {
    const Service* svc = resolve_istio_host(c, dr.host, dr.meta.ns);
    if (!svc) {
      e.warning(dr.meta, "DestinationRule", "spec.host", dr.meta.source.line,
                cat("host \"", dr.host, "\" names no Service defined here; the rule applies to "
                    "nothing"));
      continue;
    }
    dr.service_ns = svc->meta.ns;
    dr.service_name = svc->meta.name;
    auto [it, first] = first_for_service.emplace(std::make_pair(svc->meta.ns, svc->meta.name), &dr);
    if (!first)
      e.warning(dr.meta, "DestinationRule", "spec.host", dr.meta.source.line,
                cat("Service \"", svc->meta.ns, "/", svc->meta.name,
                    "\" is also the host of DestinationRule/", it->second->meta.name, " (",
                    where(it->second->meta.source),
                    "); Istio merges them: subsets combine (an earlier subset of the same name "
                    "wins) and the older rule's traffic policy applies"));
    for (size_t i = 0; i < dr.subsets.size(); ++i) {
      const auto& s = dr.subsets[i];
      const std::string path = cat("spec.subsets[", i, "]");
      auto [sit, new_subset] =
          subsets.emplace(std::make_tuple(svc->meta.ns, svc->meta.name, s.name), &dr);
      if (!new_subset && sit->second != &dr)
        e.warning(dr.meta, "DestinationRule", path + ".name", s.line,
                  cat("subset \"", s.name, "\" is already defined by DestinationRule/",
                      sit->second->meta.name, "; that definition is used"));
      if (!subset_selects_any(c, *svc, s.labels))
        e.warning(dr.meta, "DestinationRule", path + ".labels", s.line,
                  cat("subset \"", s.name, "\" selects no endpoint of Service \"", svc->meta.ns,
                      "/", svc->meta.name, "\" (GatewayConfig spec.endpoints labels)"));
    }
  }
}

// Resolves `d` (see IstioDestination); `path` names the destination mapping.
void resolve_destination(Emit& e, const Config& c, const VirtualService& vs, IstioDestination& d,
                         const std::string& path) {
  const Service* svc = resolve_istio_host(c, d.host, vs.meta.ns);
  if (!svc) {
    e.error(vs.meta, "VirtualService", path + ".host", d.line,
            cat("host \"", d.host, "\" names no Service defined here (a short name is read in "
                "namespace \"", vs.meta.ns, "\")"));
    return;
  }
  d.service_ns = svc->meta.ns;
  d.service_name = svc->meta.name;
  const std::string svc_name = cat("\"", svc->meta.ns, "/", svc->meta.name, "\"");
  if (d.port) {
    const bool known = std::any_of(svc->ports.begin(), svc->ports.end(),
                                   [&](const ServicePort& p) { return p.port == *d.port; });
    if (!known) {
      e.error(vs.meta, "VirtualService", path + ".port.number", d.line,
              cat("Service ", svc_name, " has no port ", *d.port));
      return;
    }
    d.service_port = *d.port;
  } else if (svc->ports.size() == 1) {
    d.service_port = svc->ports[0].port;  // Istio: a Service's only port needs no naming
  } else {
    e.error(vs.meta, "VirtualService", path + ".port", d.line,
            cat("is required: Service ", svc_name, " has ", svc->ports.size(), " ports"));
    return;
  }
  if (!d.subset.empty() && !c.find_subset(svc->meta.ns, svc->meta.name, d.subset))
    e.error(vs.meta, "VirtualService", path + ".subset", d.line,
            cat("subset \"", d.subset, "\" of Service ", svc_name,
                " is not defined by any DestinationRule"));
}

void check_gateways(Emit& e, const Collected& col, const VirtualService& vs,
                    const std::vector<std::string>& gateways, const std::string& path,
                    int line) {
  for (size_t i = 0; i < gateways.size(); ++i) {
    GatewayRef ref = istio_gateway_ref(gateways[i], vs.meta.ns);
    if (ref.mesh) continue;
    const bool defined = std::any_of(col.gateways.begin(), col.gateways.end(),
                                     [&](const GatewayRecord& g) {
                                       return g.ns == ref.ns && g.name == ref.name;
                                     });
    if (!defined)
      e.warning(vs.meta, "VirtualService", cat(path, "[", i, "]"), line,
                cat("gateway \"", ref.ns, "/", ref.name,
                    "\" is not a Gateway defined here (Istio Gateways are not supported); the "
                    "VirtualService attaches to every listener"));
  }
}

// The name two VirtualServices share a virtual host under: the Service a host names, or the
// host itself.
std::string host_key(const Config& c, const std::string& host, const std::string& ns) {
  if (const Service* s = resolve_istio_host(c, host, ns))
    return cat("service:", s->meta.ns, "/", s->meta.name);
  return host;
}

void check_virtual_services(Emit& e, Collected& col) {
  Config& c = col.config;
  std::map<std::string, const VirtualService*> host_owner;
  for (auto& vs : c.virtual_services) {
    check_gateways(e, col, vs, vs.gateways, "spec.gateways", vs.gateways_line);
    for (const auto& h : vs.hosts) {
      auto [it, first] = host_owner.emplace(host_key(c, h, vs.meta.ns), &vs);
      if (!first && it->second != &vs)
        e.warning(vs.meta, "VirtualService", "spec.hosts", vs.meta.source.line,
                  cat("host \"", h, "\" is also served by VirtualService/", it->second->meta.name,
                      " (", where(it->second->meta.source),
                      "); their http routes are merged, older VirtualService first and "
                      "catch-all routes last (Istio's gateway merge)"));
    }
    for (size_t i = 0; i < vs.http.size(); ++i) {
      VsHttpRoute& h = vs.http[i];
      const std::string hpath = cat("spec.http[", i, "]");
      for (size_t m = 0; m < h.matches.size(); ++m)
        check_gateways(e, col, vs, h.matches[m].gateways, cat(hpath, ".match[", m, "].gateways"),
                       h.matches[m].line);
      for (size_t r = 0; r < h.route.size(); ++r)
        resolve_destination(e, c, vs, h.route[r].destination,
                            cat(hpath, ".route[", r, "].destination"));
      for (auto& mirror : h.mirrors)
        resolve_destination(e, c, vs, mirror.destination,
                            mirror.list_index < 0
                                ? cat(hpath, ".mirror")
                                : cat(hpath, ".mirrors[", mirror.list_index, "].destination"));
    }
  }
}

}  // namespace

void validate_istio(Collected& col, std::vector<Diagnostic>* errors,
                    std::vector<Diagnostic>* warnings) {
  Emit e(errors, warnings);
  Config& c = col.config;
  check_duplicates(e, c.virtual_services, "VirtualService");
  check_duplicates(e, c.destination_rules, "DestinationRule");
  sort_oldest_first(c.destination_rules);  // Istio's merge order
  sort_oldest_first(c.virtual_services);
  check_destination_rules(e, c);  // first: destinations look their subsets up
  check_virtual_services(e, col);
}

}  // namespace infergate::config::detail
