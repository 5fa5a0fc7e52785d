#include "routing/route_table.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "config/cluster_names.h"
#include "routing/host_match.h"
#include "routing/request_match.h"

namespace infergate::routing {

namespace {

using detail::CompiledMatch;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Matches sharing one effective hostname, in precedence order.
struct HostGroup {
  std::vector<const CompiledMatch*> matches;

  const CompiledMatch* first_match(const RequestHead& head) const {
    for (const CompiledMatch* m : matches)
      if (m->matches(head)) return m;
    return nullptr;
  }
};

// All routes attached to one listener, grouped like Envoy virtual hosts.
struct ListenerRoutes {
  std::unordered_map<std::string, HostGroup, StringHash, std::equal_to<>> exact;
  std::vector<std::pair<std::string, HostGroup>> wildcards;  // ".example.com", longest first
  HostGroup any;

  void add(const std::string& hostname, const CompiledMatch* m) {
    if (hostname.empty()) {
      any.matches.push_back(m);
    } else if (hostname.starts_with("*.")) {
      std::string suffix = hostname.substr(1);
      auto it = std::find_if(wildcards.begin(), wildcards.end(),
                             [&](const auto& w) { return w.first == suffix; });
      if (it == wildcards.end()) {
        wildcards.emplace_back(suffix, HostGroup{});
        it = std::prev(wildcards.end());
      }
      it->second.matches.push_back(m);
    } else {
      exact[hostname].matches.push_back(m);
    }
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
    std::stable_sort(wildcards.begin(), wildcards.end(), [](const auto& a, const auto& b) {
      return a.first.size() > b.first.size();
    });
  }

  const CompiledMatch* match(const RequestHead& head) const {
    std::array<char, 256> buf;
    const std::string_view host = detail::normalize_authority(head.authority, buf);
    if (!host.empty()) {
      if (auto it = exact.find(host); it != exact.end())
        if (const CompiledMatch* m = it->second.first_match(head)) return m;
      for (const auto& [suffix, group] : wildcards) {
        if (host.size() > suffix.size() && host.ends_with(suffix))
          if (const CompiledMatch* m = group.first_match(head)) return m;
      }
    }
    return any.first_match(head);
  }
};

bool attaches(const config::HttpRoute& route, const config::Listener& l) {
  for (const auto& ref : route.parent_refs) {
    if (ref.unresolved_foreign) return true;
    if (ref.ns != l.gateway_ns || ref.name != l.gateway_name) continue;
    if (!ref.section_name.empty() && ref.section_name != l.name) continue;
    if (ref.port && *ref.port != l.port) continue;
    return true;
  }
  return false;
}

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
  r.retry = rule.retry;
  r.source = hr.meta.source;
  if (rule.line > 0) r.source.line = rule.line;
  return r;
}

}  // namespace

struct RouteTable::Impl {
  std::vector<std::unique_ptr<CompiledMatch>> matches;  // owned; groups point into them
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
      if (!attaches(*c.route, l)) continue;
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
  impl.all_listeners.finish();
  for (auto& [_, lr] : impl.by_listener) lr.finish();
  return table;
}

const Route* RouteTable::match(const RequestHead& head, std::string_view listener_name) const {
  const ListenerRoutes* lr = &impl_->all_listeners;
  if (!listener_name.empty()) {
    auto it = impl_->by_listener.find(listener_name);
    if (it == impl_->by_listener.end()) return nullptr;
    lr = &it->second;
  }
  const CompiledMatch* m = lr->match(head);
  return m ? &routes_[m->route_index] : nullptr;
}

}  // namespace infergate::routing
