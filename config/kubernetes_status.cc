// compute_statuses: what each object's status says, from the loaded Config, its warnings and
// the rejected cluster objects. Conventions in the header.
#include "config/kubernetes_status.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "config/json_fields.h"
#include "config/route_attachment.h"
#include "config/str_cat.h"

namespace infergate::config {

namespace {

using nlohmann::json;
using detail::cat;

constexpr const char* kGatewayGroup = "gateway.networking.k8s.io";

json condition(const char* type, bool ok, const char* reason, const std::string& message,
               int64_t generation, const std::string& now) {
  return json{{"type", type},
              {"status", ok ? "True" : "False"},
              {"reason", reason},
              {"message", message},
              {"observedGeneration", generation},
              {"lastTransitionTime", now}};
}

std::string join_messages(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) {
    if (!out.empty()) out += "; ";
    out += d.path.empty() ? d.message : d.path + ": " + d.message;
  }
  return out;
}

std::string group_of(const std::string& api_version) {
  auto slash = api_version.rfind('/');
  return slash == std::string::npos ? std::string() : api_version.substr(0, slash);
}

// A parentRef as cluster JSON gives it, resolved the way the loader resolves one.
struct RawParent {
  json written;  // echoed in status.parents[].parentRef
  std::string group = kGatewayGroup, kind = "Gateway", ns, name;
};

int64_t generation_of(const json& object) {
  auto m = object.find("metadata");
  if (m == object.end() || !m->is_object()) return 0;
  auto g = m->find("generation");
  return g != m->end() && g->is_number_integer() ? g->get<int64_t>() : 0;
}

const json& spec_of(const json& object) {
  static const json kEmpty = json::object();
  auto s = object.find("spec");
  return s != object.end() && s->is_object() ? *s : kEmpty;
}

std::vector<RawParent> raw_parents(const json& object, const std::string& route_ns) {
  std::vector<RawParent> out;
  auto refs = spec_of(object).find("parentRefs");
  if (refs == spec_of(object).end() || !refs->is_array()) return out;
  for (const auto& r : *refs) {
    if (!r.is_object()) continue;
    RawParent p;
    p.written = r;
    p.group = json_string(r, "group", kGatewayGroup);
    p.kind = json_string(r, "kind", "Gateway");
    p.ns = json_string(r, "namespace", route_ns);
    p.name = json_string(r, "name");
    out.push_back(std::move(p));
  }
  return out;
}

json written_parent_ref(const ParentRef& ref) {
  json j{{"group", ref.group}, {"kind", ref.kind}, {"name", ref.name}};
  if (ref.ns_written) j["namespace"] = ref.ns;
  if (!ref.section_name.empty()) j["sectionName"] = ref.section_name;
  if (ref.port) j["port"] = *ref.port;
  return j;
}

json gateway_parent_ref(const std::pair<std::string, std::string>& gw) {
  return json{{"group", kGatewayGroup}, {"kind", "Gateway"}, {"name", gw.second}, {"namespace", gw.first}};
}

// A diagnostic path on a backendRef's kind or group ("spec.rules[0].backendRefs[2].kind").
bool backend_kind_path(std::string_view path) {
  for (std::string_view field : {".kind", ".group"}) {
    if (!path.ends_with(field)) continue;
    std::string_view head = path.substr(0, path.size() - field.size());
    if (!head.ends_with("]")) continue;
    const size_t open = head.rfind('[');
    if (open == std::string_view::npos) continue;
    const std::string_view digits = head.substr(open + 1, head.size() - open - 2);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) continue;
    if (head.substr(0, open).ends_with(".backendRefs")) return true;
  }
  return false;
}

bool backend_missing(const Config& c, const std::string& kind, const std::string& ns, const std::string& name,
                     const std::optional<uint16_t>& port) {
  if (kind == "InferencePool") return c.find_pool(ns, name) == nullptr;
  const Service* s = c.find_service(ns, name);
  if (!s) return true;
  if (!port) return false;
  return std::none_of(s->ports.begin(), s->ports.end(), [&](const ServicePort& p) { return p.port == *port; });
}

class Computer {
 public:
  explicit Computer(const StatusInput& in) : in_(in), c_(*in.config) {
    out_.controller_name = in.controller_name;
    for (const auto& gc : in.gateway_classes) classes_.insert(gc.name);
  }

  DesiredStatuses run() {
    gateway_classes();
    for (const auto& g : c_.gateways)
      if (classes_.count(g.class_name)) out_.gateways.emplace(g.meta.ns, g.meta.name);
    for (const auto& r : in_.rejected)
      if (r.key.kind == "Gateway" && classes_.count(json_string(spec_of(r.object), "gatewayClassName")))
        out_.gateways.emplace(r.key.ns, r.key.name);
    gateways();
    routes();
    rejected_routes();
    pools();
    return std::move(out_);
  }

 private:
  bool ours(const std::string& group, const std::string& kind, const std::string& ns, const std::string& name) const {
    return group == kGatewayGroup && kind == "Gateway" && out_.gateways.count({ns, name}) > 0;
  }

  void gateway_classes() {
    for (const auto& gc : in_.gateway_classes)
      out_.status[ResourceKey{kGatewayGroup, "GatewayClass", "", gc.name}] = json{
          {"conditions", json::array({condition("Accepted", true, "Accepted",
                                                cat("accepted by ", in_.controller_name), gc.generation, in_.now)})}};
  }

  void gateways() {
    for (const auto& g : c_.gateways) {
      if (!classes_.count(g.class_name)) continue;
      const int64_t gen = g.meta.generation;
      json listeners = json::array();
      bool all_open = true;
      for (const auto& l : c_.listeners) {
        if (l.gateway_ns != g.meta.ns || l.gateway_name != g.meta.name) continue;
        int attached = 0;
        for (const auto& r : c_.routes) attached += route_attaches(r, l) ? 1 : 0;
        const bool open = in_.open_ports.empty() || in_.open_ports.count(l.port) > 0;
        all_open = all_open && open;
        listeners.push_back(json{
            {"name", l.name},
            {"supportedKinds", json::array({json{{"group", kGatewayGroup}, {"kind", "HTTPRoute"}}})},
            {"attachedRoutes", attached},
            {"conditions",
             json::array({condition("Accepted", true, "Accepted", "listener accepted", gen, in_.now),
                          open ? condition("Programmed", true, "Programmed", "listener programmed", gen, in_.now)
                               : condition("Programmed", false, "Pending",
                                           "listeners are opened at start: this port opens after a restart", gen,
                                           in_.now),
                          condition("ResolvedRefs", true, "ResolvedRefs", "references resolved", gen, in_.now)})}});
      }
      json addresses = json::array();
      for (const auto& a : g.addresses.empty() ? in_.default_addresses : g.addresses)
        addresses.push_back(json{{"type", a.type}, {"value", a.value}});
      json status{{"conditions", json::array({condition("Accepted", true, "Accepted", "gateway accepted", gen, in_.now),
                                              all_open ? condition("Programmed", true, "Programmed",
                                                                   "gateway programmed", gen, in_.now)
                                                       : condition("Programmed", false, "Pending",
                                                                   "a listener opens after a restart", gen, in_.now)})},
                  {"listeners", std::move(listeners)}};
      if (!addresses.empty()) status["addresses"] = std::move(addresses);
      out_.status[ResourceKey{kGatewayGroup, "Gateway", g.meta.ns, g.meta.name}] = std::move(status);
    }
    for (const auto& r : in_.rejected) {
      if (r.key.kind != "Gateway" || !out_.gateways.count({r.key.ns, r.key.name})) continue;
      const int64_t gen = generation_of(r.object);
      const std::string why = join_messages(r.errors);
      out_.status[r.key] = json{{"conditions", json::array({condition("Accepted", false, "Invalid", why, gen, in_.now),
                                                            condition("Programmed", false, "Invalid", why, gen, in_.now)})},
                                {"listeners", json::array()}};
    }
  }

  // The warnings of `route` whose path starts with `path` ("spec.rules[0].backendRefs[1]").
  std::vector<Diagnostic> warnings_at(const HttpRoute& route, const std::string& path) const {
    std::vector<Diagnostic> out;
    for (const auto& w : in_.warnings)
      if (w.resource == "HTTPRoute/" + route.meta.name && w.file == route.meta.source.file &&
          w.document == route.meta.source.document && w.path.starts_with(path))
        out.push_back(w);
    return out;
  }

  json resolved_refs(const HttpRoute& route) const {
    std::vector<Diagnostic> missing;
    for (size_t ri = 0; ri < route.rules.size(); ++ri) {
      const auto& rule = route.rules[ri];
      auto note = [&](const std::string& path, const std::string& kind, const std::string& ns,
                      const std::string& name, const std::optional<uint16_t>& port) {
        if (!backend_missing(c_, kind, ns, name, port)) return;
        auto ws = warnings_at(route, path);
        if (ws.empty()) {
          Diagnostic d;
          d.path = path;
          d.message = cat(kind, " \"", ns, "/", name, "\" not found");
          ws.push_back(std::move(d));
        }
        missing.insert(missing.end(), ws.begin(), ws.end());
      };
      for (size_t bi = 0; bi < rule.backend_refs.size(); ++bi) {
        const auto& b = rule.backend_refs[bi];
        note(cat("spec.rules[", ri, "].backendRefs[", bi, "]"), b.kind, b.ns, b.name, b.port);
      }
      for (size_t fi = 0; fi < rule.filters.size(); ++fi)
        if (const auto& m = rule.filters[fi].mirror)
          note(cat("spec.rules[", ri, "].filters[", fi, "].requestMirror.backendRef"), m->kind, m->ns, m->name, m->port);
    }
    if (missing.empty())
      return condition("ResolvedRefs", true, "ResolvedRefs", "all references resolved", route.meta.generation, in_.now);
    return condition("ResolvedRefs", false, "BackendNotFound", join_messages(missing), route.meta.generation, in_.now);
  }

  void routes() {
    for (const auto& route : c_.routes) {
      json parents = json::array();
      for (const auto& ref : route.parent_refs) {
        if (!ours(ref.group, ref.kind, ref.ns, ref.name)) continue;
        parents.push_back(json{
            {"parentRef", written_parent_ref(ref)},
            {"controllerName", in_.controller_name},
            {"conditions", json::array({condition("Accepted", true, "Accepted", "route accepted", route.meta.generation,
                                                  in_.now),
                                        resolved_refs(route)})}});
        for (const auto& rule : route.rules)
          for (const auto& b : rule.backend_refs)
            if (b.is_inference_pool() && c_.find_pool(b.ns, b.name))
              pool_parents_[{b.ns, b.name}][{ref.ns, ref.name}] = true;
      }
      if (!parents.empty())
        out_.status[ResourceKey{kGatewayGroup, "HTTPRoute", route.meta.ns, route.meta.name}] =
            json{{"parents", std::move(parents)}};
    }
  }

  void rejected_routes() {
    for (const auto& r : in_.rejected) {
      if (r.key.kind != "HTTPRoute") continue;
      const int64_t gen = generation_of(r.object);
      const std::string why = join_messages(r.errors);
      std::vector<Diagnostic> kind_errors;
      for (const auto& e : r.errors)
        if (backend_kind_path(e.path)) kind_errors.push_back(e);
      const bool invalid_kind = !kind_errors.empty();
      json parents = json::array();
      const auto refs = raw_parents(r.object, r.key.ns);
      for (size_t i = 0; i < refs.size(); ++i) {
        const RawParent& p = refs[i];
        if (!ours(p.group, p.kind, p.ns, p.name)) continue;
        const char* reason = "UnsupportedValue";
        const std::string parent_path = cat("spec.parentRefs[", i, "]");
        for (const auto& e : r.errors)
          if (e.path.starts_with(parent_path)) reason = "NoMatchingParent";
        json conditions = json::array({condition("Accepted", false, reason, why, gen, in_.now)});
        if (invalid_kind)
          conditions.push_back(condition("ResolvedRefs", false, "InvalidKind", join_messages(kind_errors), gen, in_.now));
        parents.push_back(json{{"parentRef", p.written}, {"controllerName", in_.controller_name},
                               {"conditions", std::move(conditions)}});
        rejected_pool_refs(r, p);
      }
      if (!parents.empty()) out_.status[r.key] = json{{"parents", std::move(parents)}};
    }
  }

  // The pools a rejected route of ours names: their parent is then not accepted (unless an
  // accepted route leads there too).
  void rejected_pool_refs(const RejectedObject& r, const RawParent& parent) {
    auto rules = spec_of(r.object).find("rules");
    if (rules == spec_of(r.object).end() || !rules->is_array()) return;
    for (const auto& rule : *rules) {
      auto refs = rule.is_object() ? rule.find("backendRefs") : rule.end();
      if (!rule.is_object() || refs == rule.end() || !refs->is_array()) continue;
      for (const auto& b : *refs) {
        if (!b.is_object() || json_string(b, "kind") != "InferencePool") continue;
        const std::string ns = json_string(b, "namespace", r.key.ns), name = json_string(b, "name");
        if (!c_.find_pool(ns, name)) continue;
        pool_parents_[{ns, name}].emplace(std::make_pair(parent.ns, parent.name), false);
      }
    }
  }

  void pools() {
    for (const auto& [pool_id, parents] : pool_parents_) {
      const InferencePool* pool = c_.find_pool(pool_id.first, pool_id.second);
      const int64_t gen = pool->meta.generation;
      json resolved = condition("ResolvedRefs", true, "ResolvedRefs", "all references resolved", gen, in_.now);
      if (pool->endpoint_picker && !c_.find_service(pool->meta.ns, pool->endpoint_picker->name))
        resolved = condition("ResolvedRefs", false, "InvalidExtensionRef",
                             cat("endpointPickerRef Service \"", pool->meta.ns, "/", pool->endpoint_picker->name,
                                 "\" is not defined"),
                             gen, in_.now);
      json entries = json::array();
      for (const auto& [gw, accepted] : parents) {
        json accepted_condition =
            accepted ? condition("Accepted", true, "Accepted", "referenced by an accepted HTTPRoute", gen, in_.now)
                     : condition("Accepted", false, "HTTPRouteNotAccepted",
                                 "referenced only by HTTPRoutes that are not accepted", gen, in_.now);
        entries.push_back(json{{"parentRef", gateway_parent_ref(gw)},
                               {"conditions", json::array({std::move(accepted_condition), resolved})}});
      }
      const bool v1 = pool->api_version.ends_with("/v1");
      std::string group = group_of(pool->api_version);
      if (group.empty()) group = "inference.networking.k8s.io";
      out_.status[ResourceKey{group, "InferencePool", pool->meta.ns, pool->meta.name}] =
          json{{v1 ? "parents" : "parent", std::move(entries)}};
    }
  }

  const StatusInput& in_;
  const Config& c_;
  std::set<std::string> classes_;
  DesiredStatuses out_;
  // pool (ns, name) -> our Gateway (ns, name) -> reached through an accepted route
  std::map<std::pair<std::string, std::string>, std::map<std::pair<std::string, std::string>, bool>> pool_parents_;
};

}  // namespace

DesiredStatuses compute_statuses(const StatusInput& in) { return Computer(in).run(); }

}  // namespace infergate::config
