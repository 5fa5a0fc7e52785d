// VirtualService -> Routes, after Istio's pilot route.go (translateRoute and friends).
#include "routing/virtual_service_routes.h"

#include <algorithm>

#include "config/istio_refs.h"

namespace infergate::routing::detail {

namespace {

// Istio's default retry policy (pilot retry.go DefaultPolicy).
config::RetryPolicy default_retry() {
  config::RetryPolicy p;
  p.attempts = 2;
  p.retry_on = {"connect-failure", "refused-stream", "unavailable", "cancelled",
                "retriable-status-codes"};
  p.codes = {503};
  return p;
}

void add_header_filters(const config::IstioHeaderOperations& h,
                        std::vector<config::HttpRouteFilter>* out) {
  auto nonempty = [](const config::HeaderModifier& m) {
    return !m.set.empty() || !m.add.empty() || !m.remove.empty();
  };
  if (nonempty(h.request)) {
    config::HttpRouteFilter f;
    f.type = config::FilterType::RequestHeaderModifier;
    f.header_modifier = h.request;
    out->push_back(std::move(f));
  }
  if (nonempty(h.response)) {
    config::HttpRouteFilter f;
    f.type = config::FilterType::ResponseHeaderModifier;
    f.header_modifier = h.response;
    out->push_back(std::move(f));
  }
}

void add_authority_filter(const std::string& authority, std::vector<config::HttpRouteFilter>* out) {
  if (authority.empty()) return;
  config::HttpRouteFilter f;
  f.type = config::FilterType::URLRewrite;
  f.url_rewrite = config::UrlRewrite{authority, std::nullopt};
  out->push_back(std::move(f));
}

std::optional<PathRewrite> path_rewrite(const config::IstioRewrite& rw, const config::VsMatch* m,
                                        std::string* error) {
  if (!rw.uri_regex_match.empty()) {
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_shared<RE2>(rw.uri_regex_match, opts);
    if (!re->ok()) {
      *error = "invalid regular expression \"" + rw.uri_regex_match + "\": " + re->error();
      return std::nullopt;
    }
    PathRewrite p;
    p.kind = PathRewrite::Kind::Regex;
    p.regex = std::move(re);
    p.replacement = rw.uri_regex_rewrite;
    return p;
  }
  if (rw.uri.empty()) return std::nullopt;
  // Envoy prefix_rewrite replaces what the route matched: the prefix of a prefix match, the
  // whole path of an exact or regex match, "/" when there is no uri condition.
  PathRewrite p;
  p.replacement = rw.uri;
  const auto& uri = m ? m->uri : std::nullopt;
  if (!uri || uri->type == config::IstioMatchType::Present) {
    p.prefix_length = 1;
  } else if (uri->type == config::IstioMatchType::Prefix) {
    p.prefix_length = uri->value.size();
  } else {
    p.whole_path = true;
  }
  return p;
}

Redirect redirect(const config::IstioRedirect& r) {
  Redirect out;
  out.scheme = r.scheme;
  out.host = r.authority;
  out.port = r.port;
  out.port_from_request = r.derive_port_from_request;
  out.path = r.uri;
  out.code = r.code;
  return out;
}

FaultPolicy fault(const config::IstioFault& f) {
  FaultPolicy out;
  if (f.delay) {
    out.delay = f.delay->fixed_delay;
    out.delay_per_million = f.delay->per_million;
  }
  if (f.abort) {
    out.abort_http_status = f.abort->http_status;
    out.abort_grpc_status = f.abort->grpc_status;
    out.abort_per_million = f.abort->per_million;
  }
  return out;
}

// Listeners an entry applies to: the gateways named (by the match, else the VirtualService);
// none named, "mesh" or a gateway not defined here = every listener. match.port narrows.
std::vector<const config::Listener*> attached_listeners(const config::Config& config,
                                                        const config::VirtualService& vs,
                                                        const config::VsMatch* m) {
  const auto& gateways = m && !m->gateways.empty() ? m->gateways : vs.gateways;
  bool every = gateways.empty();
  std::vector<const config::Listener*> out;
  for (const auto& g : gateways) {
    config::GatewayRef ref = config::istio_gateway_ref(g, vs.meta.ns);
    bool found = false;
    for (const auto& l : config.listeners) {
      if (ref.mesh || l.gateway_ns != ref.ns || l.gateway_name != ref.name) continue;
      found = true;
      if (std::find(out.begin(), out.end(), &l) == out.end()) out.push_back(&l);
    }
    every = every || ref.mesh || !found;
  }
  if (every) {
    out.clear();
    for (const auto& l : config.listeners) out.push_back(&l);
  }
  if (m && m->port)
    std::erase_if(out, [&](const config::Listener* l) { return l->port != *m->port; });
  return out;
}

config::Diagnostic diagnostic(const config::VirtualService& vs, std::string path, int line,
                              std::string message) {
  return config::Diagnostic{vs.meta.source.file, vs.meta.source.document,
                            "VirtualService/" + vs.meta.name, std::move(path),
                            line > 0 ? line : vs.meta.source.line, std::move(message)};
}

Route make_route(const config::Config& config, const config::VirtualService& vs, size_t hi,
                 const config::VsMatch* m, size_t mi, std::vector<config::Diagnostic>* errors,
                 bool* ok) {
  const config::VsHttpRoute& h = vs.http[hi];
  const std::string hpath = "spec.http[" + std::to_string(hi) + "]";
  Route r;
  r.kind = RouteKind::VirtualService;
  r.route_ns = vs.meta.ns;
  r.route_name = vs.meta.name;
  r.rule_index = hi;
  r.match_index = mi;
  r.name = vs.meta.ns + "/" + vs.meta.name + "/" +
           (h.name.empty() ? "http" + std::to_string(hi) : h.name);
  if (m && !m->name.empty()) r.name += "." + m->name;
  for (size_t di = 0; di < h.route.size(); ++di) {
    const config::VsRouteDestination& d = h.route[di];
    if (d.destination.service_port == 0 && errors)
      errors->push_back(diagnostic(vs, hpath + ".route[" + std::to_string(di) + "].destination",
                                   d.line, "destination is not resolved to a Service port"));
    BackendRef b;
    b.cluster = config::istio_cluster_name(d.destination);
    b.weight = d.effective_weight;
    add_header_filters(d.headers, &b.filters);
    add_authority_filter(d.headers.authority, &b.filters);
    b.hash_policy = istio_hash_policy(config, d.destination);
    r.total_weight += b.weight;
    r.cumulative_weights.push_back(r.total_weight);
    r.backends.push_back(std::move(b));
  }
  r.request_timeout = h.timeout.value_or(config.gateway.timeouts.request);
  r.retry = istio_retry_policy(h.retries);
  r.per_try_timeout = config.gateway.timeouts.per_try;
  if (r.retry && h.retries && h.retries->per_try_timeout)
    r.per_try_timeout = *h.retries->per_try_timeout;
  add_header_filters(h.headers, &r.filters);
  add_authority_filter(h.rewrite && !h.rewrite->authority.empty() ? h.rewrite->authority
                                                                  : h.headers.authority,
                       &r.filters);
  for (const auto& mirror : h.mirrors) {
    if (mirror.per_million == 0) continue;  // Istio: an explicit 0 % mirrors nothing
    r.mirrors.push_back(Mirror{config::istio_cluster_name(mirror.destination), mirror.per_million});
  }
  if (h.fault) r.fault = fault(*h.fault);
  if (h.rewrite) {
    std::string error;
    r.path_rewrite = path_rewrite(*h.rewrite, m, &error);
    if (!error.empty()) {
      if (errors) errors->push_back(diagnostic(vs, hpath + ".rewrite", h.line, error));
      *ok = false;
    }
  }
  if (h.redirect) r.redirect = redirect(*h.redirect);
  if (h.direct_response)
    r.direct_response = DirectResponse{h.direct_response->status, h.direct_response->body};
  r.source = vs.meta.source;
  r.source.line = m && m->line > 0 ? m->line : (h.line > 0 ? h.line : r.source.line);
  return r;
}

}  // namespace

std::optional<config::RetryPolicy> istio_retry_policy(const std::optional<config::IstioRetry>& r) {
  config::RetryPolicy p = default_retry();
  if (!r) return p;
  if (r->attempts == 0) return std::nullopt;  // Istio: attempts 0 disables retries
  p.attempts = r->attempts;
  if (r->retry_on_written) {
    p.retry_on = r->retry_on;
    p.codes = r->retry_on_codes;
    if (!p.codes.empty() && std::find(p.retry_on.begin(), p.retry_on.end(),
                                      "retriable-status-codes") == p.retry_on.end())
      p.retry_on.push_back("retriable-status-codes");
  }
  p.backoff = r->backoff;
  return p;
}

std::optional<HashPolicy> istio_hash_policy(const config::Config& config,
                                            const config::IstioDestination& d) {
  const config::DestinationRule* rule = nullptr;
  const config::DestinationRuleSubset* subset = nullptr;
  if (!d.subset.empty()) subset = config.find_subset(d.service_ns, d.service_name, d.subset, &rule);
  if (!rule) rule = config.find_destination_rule(d.service_ns, d.service_name);
  if (!rule) return std::nullopt;
  const config::IstioTrafficPolicy tp = config::merged_traffic_policy(*rule, subset);
  if (!tp.load_balancer || !tp.load_balancer->consistent_hash) return std::nullopt;
  const config::IstioConsistentHash& ch = *tp.load_balancer->consistent_hash;
  HashPolicy out;
  out.name = ch.name;
  switch (ch.key) {
    case config::IstioConsistentHash::Key::Header: out.key = HashPolicy::Key::Header; break;
    case config::IstioConsistentHash::Key::Cookie: out.key = HashPolicy::Key::Cookie; break;
    case config::IstioConsistentHash::Key::QueryParameter:
      out.key = HashPolicy::Key::QueryParameter;
      break;
    case config::IstioConsistentHash::Key::SourceIp: out.key = HashPolicy::Key::SourceIp; break;
  }
  return out;
}

std::vector<std::string> virtual_service_hostnames(const config::Config& config,
                                                   const config::VirtualService& vs) {
  std::vector<std::string> out;
  auto add = [&](std::string h) {
    if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(std::move(h));
  };
  for (const auto& h : vs.hosts) {
    if (h == "*") {
      add("");
    } else if (const config::Service* s = config::resolve_istio_host(config, h, vs.meta.ns)) {
      for (auto& name : config::istio_service_hostnames(s->meta.ns, s->meta.name, vs.meta.ns))
        add(std::move(name));
    } else {
      add(h);
    }
  }
  return out;
}

void build_virtual_service_routes(const config::Config& config, size_t vs_index,
                                  std::vector<Route>* routes, std::vector<VsRouteEntry>* entries,
                                  std::vector<config::Diagnostic>* errors) {
  const config::VirtualService& vs = config.virtual_services[vs_index];
  for (size_t hi = 0; hi < vs.http.size(); ++hi) {
    const config::VsHttpRoute& h = vs.http[hi];
    const size_t n = h.matches.empty() ? 1 : h.matches.size();
    for (size_t mi = 0; mi < n; ++mi) {
      const config::VsMatch* m = h.matches.empty() ? nullptr : &h.matches[mi];
      if (m && m->source_restricted) continue;  // reported by the loader; never taken
      std::string error;
      auto compiled = compile_vs_match(m, &error);
      if (!compiled) {
        if (errors)
          errors->push_back(diagnostic(
              vs, "spec.http[" + std::to_string(hi) + "].match[" + std::to_string(mi) + "]",
              m ? m->line : h.line, error));
        continue;
      }
      bool ok = true;
      Route r = make_route(config, vs, hi, m, mi, errors, &ok);
      if (!ok) continue;
      compiled->route_index = routes->size();
      compiled->vs_index = vs_index;
      routes->push_back(std::move(r));
      entries->push_back(VsRouteEntry{std::move(compiled), attached_listeners(config, vs, m)});
    }
  }
}

}  // namespace infergate::routing::detail
