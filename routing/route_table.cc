#include "routing/route_table.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "config/cluster_names.h"
#include "config/route_attachment.h"
#include "routing/host_match.h"
#include "routing/istio_match.h"
#include "routing/request_match.h"
#include "routing/virtual_service_routes.h"

namespace infergate::routing {

namespace {

using detail::CompiledMatch;
using detail::CompiledVsMatch;
constexpr size_t kNoRoute = static_cast<size_t>(-1);

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Matches sharing one effective hostname: VirtualService routes in Istio order, then
// HTTPRoute matches in Gateway API precedence order.
struct HostGroup {
  std::vector<const CompiledVsMatch*> istio;
  std::vector<const CompiledMatch*> matches;
  std::vector<size_t> closed_vs;  // build time: VirtualServices whose catch-all is in `istio`

  // Index into RouteTable::routes() of the first match (kNoRoute when none) and, for an
  // HTTPRoute PathPrefix match, the prefix it matched on.
  struct Hit {
    size_t route = kNoRoute;
    std::string_view path_prefix;
  };
  Hit first_match(const RequestHead& head) const {
    const std::string_view path = head.path_only();
    for (const CompiledVsMatch* m : istio)
      if (m->matches(head, path)) return {m->route_index, {}};
    for (const CompiledMatch* m : matches)
      if (m->matches(head, path))
        return {m->route_index,
                m->path_type == config::PathMatchType::PathPrefix ? std::string_view(m->path) : std::string_view()};
    return {};
  }

  void add_istio(const CompiledVsMatch* m) {
    // Istio stops a VirtualService's routes at its first catch-all: later ones are unreachable
    // (and must not come back when catch-alls move to the end below).
    if (std::find(closed_vs.begin(), closed_vs.end(), m->vs_index) != closed_vs.end()) return;
    if (std::find(istio.begin(), istio.end(), m) != istio.end()) return;
    istio.push_back(m);
    if (m->catch_all()) closed_vs.push_back(m->vs_index);
  }

  void finish_istio() {
    // Several VirtualServices merged into one host: their catch-all routes go last, in order
    // (Istio's SortVHostRoutes), so that one VirtualService cannot shadow another entirely.
    bool merged = false;
    for (const CompiledVsMatch* m : istio) merged = merged || m->vs_index != istio[0]->vs_index;
    if (merged)
      std::stable_partition(istio.begin(), istio.end(),
                            [](const CompiledVsMatch* m) { return !m->catch_all(); });
    closed_vs.clear();
    closed_vs.shrink_to_fit();
  }
};

// All routes attached to one listener, grouped like Envoy virtual hosts.
struct ListenerRoutes {
  std::unordered_map<std::string, HostGroup, StringHash, std::equal_to<>> exact;
  std::vector<std::pair<std::string, HostGroup>> wildcards;  // ".example.com", longest first
  HostGroup any;

  HostGroup& group(const std::string& hostname) {
    if (hostname.empty()) return any;
    if (hostname.starts_with("*.")) {
      std::string suffix = hostname.substr(1);
      auto it = std::find_if(wildcards.begin(), wildcards.end(),
                             [&](const auto& w) { return w.first == suffix; });
      if (it == wildcards.end()) {
        wildcards.emplace_back(suffix, HostGroup{});
        it = std::prev(wildcards.end());
      }
      return it->second;
    }
    return exact[hostname];
  }
  void add(const std::string& hostname, const CompiledMatch* m) { group(hostname).matches.push_back(m); }
  void add_istio(const std::string& hostname, const CompiledVsMatch* m) {
    group(hostname).add_istio(m);
  }

  void finish() {
    auto sort_group = [](HostGroup& g) {
      std::stable_sort(g.matches.begin(), g.matches.end(),
                       [](const CompiledMatch* a, const CompiledMatch* b) {
                         return detail::precedes(*a, *b);
                       });
      g.matches.erase(std::unique(g.matches.begin(), g.matches.end()), g.matches.end());
    };
    for (auto& [_, g] : exact) sort_group(g);
    for (auto& [_, g] : wildcards) sort_group(g);
    sort_group(any);
    for (auto& [_, g] : exact) g.finish_istio();
    for (auto& [_, g] : wildcards) g.finish_istio();
    any.finish_istio();
    std::stable_sort(wildcards.begin(), wildcards.end(), [](const auto& a, const auto& b) {
      return a.first.size() > b.first.size();
    });
  }

  HostGroup::Hit match(const RequestHead& head) const {
    std::array<char, 256> buf;
    const std::string_view host = detail::normalize_authority(head.authority, buf);
    if (!host.empty()) {
      if (auto it = exact.find(host); it != exact.end())
        if (auto hit = it->second.first_match(head); hit.route != kNoRoute) return hit;
      for (const auto& [suffix, group] : wildcards) {
        if (host.size() > suffix.size() && host.ends_with(suffix))
          if (auto hit = group.first_match(head); hit.route != kNoRoute) return hit;
      }
    }
    return any.first_match(head);
  }
};

std::string cluster_for(const config::BackendRef& b) {
  if (b.is_inference_pool()) return config::inference_pool_cluster_name(b.ns, b.name);
  return config::service_cluster_name(b.ns, b.name, b.port.value_or(0));
}

Route make_route(const config::Config& config, const config::HttpRoute& hr, size_t rule_index) {
  const config::HttpRouteRule& rule = hr.rules[rule_index];
  Route r;
  r.route_ns = hr.meta.ns;
  r.route_name = hr.meta.name;
  r.rule_index = rule_index;
  r.name = hr.meta.ns + "/" + hr.meta.name + "/" +
           (rule.name.empty() ? "rule" + std::to_string(rule_index) : rule.name);
  for (const auto& b : rule.backend_refs) {
    r.backends.push_back(BackendRef{cluster_for(b), b.weight, b.filters});
    r.total_weight += b.weight;
    r.cumulative_weights.push_back(r.total_weight);
  }
  r.request_timeout = rule.timeouts.request.value_or(config.gateway.timeouts.request);
  r.per_try_timeout = rule.timeouts.backend_request.value_or(config.gateway.timeouts.per_try);
  r.filters = rule.filters;
  for (const auto& f : rule.filters) {
    if (!f.mirror) continue;
    const config::RequestMirror& m = *f.mirror;
    std::string cluster = m.kind == "InferencePool"
                              ? config::inference_pool_cluster_name(m.ns, m.name)
                              : config::service_cluster_name(m.ns, m.name, m.port.value_or(0));
    const uint32_t percent = m.percent.value_or(100);
    if (percent > 0) r.mirrors.push_back(Mirror{std::move(cluster), percent * 10000u});
  }
  r.retry = rule.retry;
  if (const auto& sp = rule.session_persistence) {
    SessionAffinity a;
    a.key = sp->type == config::SessionPersistence::Type::Header ? SessionAffinity::Key::Header
                                                                 : SessionAffinity::Key::Cookie;
    a.name = sp->session_name.empty() ? "infergate-session" : sp->session_name;
    if (a.key == SessionAffinity::Key::Header) ascii_lower(a.name);
    if (sp->permanent && sp->absolute_timeout)
      a.max_age = std::chrono::duration_cast<std::chrono::seconds>(*sp->absolute_timeout);
    r.session = std::move(a);
  }
  r.source = hr.meta.source;
  if (rule.line > 0) r.source.line = rule.line;
  return r;
}

}  // namespace

struct RouteTable::Impl {
  std::vector<std::unique_ptr<CompiledMatch>> matches;  // owned; groups point into them
  std::vector<std::unique_ptr<CompiledVsMatch>> vs_matches;
  std::unordered_map<std::string, ListenerRoutes, StringHash, std::equal_to<>> by_listener;
  ListenerRoutes all_listeners;
};

RouteTable::RouteTable() : impl_(std::make_unique<Impl>()) {}
RouteTable::~RouteTable() = default;

std::shared_ptr<const RouteTable> RouteTable::build(const config::Config& config,
                                                    std::vector<config::Diagnostic>* errors) {
  std::shared_ptr<RouteTable> table(new RouteTable());
  Impl& impl = *table->impl_;

  struct Compiled {
    const config::HttpRoute* route;
    std::vector<const CompiledMatch*> matches;
  };
  std::vector<Compiled> compiled;

  for (const auto& hr : config.routes) {
    Compiled c{&hr, {}};
    for (size_t ri = 0; ri < hr.rules.size(); ++ri) {
      const auto& rule = hr.rules[ri];
      std::vector<std::unique_ptr<CompiledMatch>> rule_matches;
      bool ok = true;
      for (size_t mi = 0; mi < rule.matches.size(); ++mi) {
        std::string error;
        auto m = detail::compile_match(rule.matches[mi], &error);
        if (!m) {
          if (errors)
            errors->push_back(config::Diagnostic{
                hr.meta.source.file, hr.meta.source.document, "HTTPRoute/" + hr.meta.name,
                "spec.rules[" + std::to_string(ri) + "].matches[" + std::to_string(mi) + "]",
                rule.matches[mi].line, error});
          ok = false;
          break;
        }
        m->route_index = table->routes_.size();
        m->creation_timestamp = hr.meta.creation_timestamp;
        m->route_key = hr.meta.ns + "/" + hr.meta.name;
        m->rule_index = ri;
        m->match_index = mi;
        rule_matches.push_back(std::move(m));
      }
      if (!ok) continue;
      table->routes_.push_back(make_route(config, hr, ri));
      for (auto& m : rule_matches) {
        c.matches.push_back(m.get());
        impl.matches.push_back(std::move(m));
      }
    }
    compiled.push_back(std::move(c));
  }

  for (const auto& c : compiled) {
    for (const CompiledMatch* m : c.matches) {
      if (c.route->hostnames.empty()) {
        impl.all_listeners.add("", m);
      } else {
        for (const auto& h : c.route->hostnames) impl.all_listeners.add(h, m);
      }
    }
    for (const auto& l : config.listeners) {
      if (!config::route_attaches(*c.route, l)) continue;
      ListenerRoutes& lr = impl.by_listener[l.key()];
      std::vector<std::string> effective;
      if (c.route->hostnames.empty()) {
        effective.push_back(l.hostname);
      } else {
        for (const auto& h : c.route->hostnames)
          if (auto i = detail::intersect_hostnames(l.hostname, h)) effective.push_back(*i);
      }
      for (const auto& h : effective)
        for (const CompiledMatch* m : c.matches) lr.add(h, m);
    }
  }
  add_virtual_services(config, *table, errors);
  add_header_canaries(config, *table);
  impl.all_listeners.finish();
  for (auto& [_, lr] : impl.by_listener) lr.finish();
  return table;
}

// The backend a Rollout's `canary` names: an HTTPRoute backendRef's object, or a
// VirtualService destination's subset (its host's Service when it has none).
static bool is_canary_backend(const config::Rollout& r, const BackendRef& b) {
  if (r.target.kind == config::RolloutTargetKind::HttpRoute) return config::cluster_object_name(b.cluster) == r.canary;
  const std::string_view c = b.cluster;  // outbound|<port>|<subset>|<fqdn>
  const size_t a = c.find('|'), bb = a == std::string_view::npos ? a : c.find('|', a + 1),
               cc = bb == std::string_view::npos ? bb : c.find('|', bb + 1);
  if (cc == std::string_view::npos) return false;
  const std::string_view subset = c.substr(bb + 1, cc - bb - 1);
  return subset.empty() ? config::cluster_object_name(b.cluster) == r.canary.substr(0, r.canary.find('.'))
                        : subset == r.canary;
}

void RouteTable::add_header_canaries(const config::Config& config, RouteTable& table) {
  for (const config::Rollout& r : config.rollouts) {
    if (!r.canary_header || r.target.kind == config::RolloutTargetKind::InferenceModel) continue;
    const RouteKind kind =
        r.target.kind == config::RolloutTargetKind::HttpRoute ? RouteKind::HttpRoute : RouteKind::VirtualService;
    for (Route& route : table.routes_) {
      if (route.kind != kind || route.route_ns != r.target.ns || route.route_name != r.target.name) continue;
      if (r.target.rule && route.rule_index != *r.target.rule) continue;
      for (size_t i = 0; i < route.backends.size(); ++i)
        if (is_canary_backend(r, route.backends[i]))
          route.header_canary = Route::HeaderCanary{r.canary_header->name, r.canary_header->value, i};
    }
  }
}

void RouteTable::add_virtual_services(const config::Config& config, RouteTable& table,
                                      std::vector<config::Diagnostic>* errors) {
  Impl& impl = *table.impl_;
  for (size_t vi = 0; vi < config.virtual_services.size(); ++vi) {
    std::vector<detail::VsRouteEntry> entries;
    detail::build_virtual_service_routes(config, vi, &table.routes_, &entries, errors);
    const std::vector<std::string> hostnames =
        detail::virtual_service_hostnames(config, config.virtual_services[vi]);
    for (auto& e : entries) {
      const CompiledVsMatch* m = e.match.get();
      impl.vs_matches.push_back(std::move(e.match));
      for (const auto& h : hostnames) impl.all_listeners.add_istio(h, m);
      for (const config::Listener* l : e.listeners) {
        ListenerRoutes& lr = impl.by_listener[l->key()];
        for (const auto& h : hostnames)
          if (auto i = detail::intersect_hostnames(l->hostname, h)) lr.add_istio(*i, m);
      }
    }
  }
}

RouteMatch RouteTable::match_detail(const RequestHead& head, std::string_view listener_name) const {
  const ListenerRoutes* lr = &impl_->all_listeners;
  if (!listener_name.empty()) {
    auto it = impl_->by_listener.find(listener_name);
    if (it == impl_->by_listener.end()) return {};
    lr = &it->second;
  }
  const auto hit = lr->match(head);
  if (hit.route == kNoRoute) return {};
  return {&routes_[hit.route], hit.path_prefix};
}

}  // namespace infergate::routing
