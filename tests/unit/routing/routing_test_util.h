#pragma once
// Builders for routing tests: configs written as C++ values, so each test shows exactly the
// HTTPRoute fields it depends on (the loader has tests of its own).

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "routing/route_table.h"

namespace infergate::routing::testing {

inline config::RouteMatch path_match(config::PathMatchType type, std::string value) {
  config::RouteMatch m;
  m.path.type = type;
  m.path.value = std::move(value);
  return m;
}
inline config::RouteMatch prefix(std::string v) {
  return path_match(config::PathMatchType::PathPrefix, std::move(v));
}
inline config::RouteMatch exact(std::string v) {
  return path_match(config::PathMatchType::Exact, std::move(v));
}
inline config::RouteMatch regex(std::string v) {
  return path_match(config::PathMatchType::RegularExpression, std::move(v));
}

inline config::RouteMatch with_method(config::RouteMatch m, std::string method) {
  m.method = std::move(method);
  return m;
}
template <class Match>
Match string_match(std::string name, std::string value, bool is_regex) {
  Match m;
  m.type = is_regex ? config::StringMatchType::RegularExpression : config::StringMatchType::Exact;
  m.name = std::move(name);
  m.value = std::move(value);
  return m;
}
inline config::RouteMatch with_header(config::RouteMatch m, std::string name, std::string value,
                                      bool is_regex = false) {
  m.headers.push_back(
      string_match<config::HeaderMatch>(std::move(name), std::move(value), is_regex));
  return m;
}
inline config::RouteMatch with_query(config::RouteMatch m, std::string name, std::string value,
                                     bool is_regex = false) {
  m.query_params.push_back(
      string_match<config::QueryParamMatch>(std::move(name), std::move(value), is_regex));
  return m;
}

inline config::BackendRef service(std::string name, uint32_t weight, uint16_t port = 80) {
  config::BackendRef b;
  b.name = std::move(name);
  b.ns = "default";
  b.port = port;
  b.weight = weight;
  return b;
}
inline config::BackendRef pool(std::string name, uint32_t weight) {
  config::BackendRef b;
  b.group = "inference.networking.k8s.io";
  b.kind = "InferencePool";
  b.name = std::move(name);
  b.ns = "default";
  b.weight = weight;
  return b;
}

inline config::HttpRouteRule rule(std::vector<config::RouteMatch> matches,
                                  std::vector<config::BackendRef> backends = {}) {
  config::HttpRouteRule r;
  r.matches = std::move(matches);
  r.backend_refs = std::move(backends);
  return r;
}

// An HTTPRoute attached to Gateway "default/gw" (every listener).
inline config::HttpRoute http_route(std::string name, std::vector<config::HttpRouteRule> rules,
                                    std::vector<std::string> hostnames = {},
                                    std::string ns = "default") {
  config::HttpRoute r;
  r.meta.name = std::move(name);
  r.meta.ns = std::move(ns);
  config::ParentRef parent;
  parent.name = "gw";
  parent.ns = "default";
  r.parent_refs.push_back(parent);
  r.hostnames = std::move(hostnames);
  r.rules = std::move(rules);
  return r;
}

inline config::Listener listener(std::string name, uint16_t port, std::string hostname = {}) {
  config::Listener l;
  l.gateway_ns = "default";
  l.gateway_name = "gw";
  l.name = std::move(name);
  l.port = port;
  l.hostname = std::move(hostname);
  return l;
}

inline RequestHead request(std::string method, std::string path,
                           std::string authority = "gw.example.com",
                           std::initializer_list<std::pair<std::string, std::string>> headers = {}) {
  RequestHead h;
  h.method = std::move(method);
  h.path = std::move(path);
  h.authority = std::move(authority);
  for (const auto& [n, v] : headers) h.headers.add(n, v);
  return h;
}

// Builds the table and fails the test on any build diagnostic.
inline std::shared_ptr<const RouteTable> build(const config::Config& c) {
  std::vector<config::Diagnostic> errors;
  auto table = RouteTable::build(c, &errors);
  for (const auto& e : errors) ADD_FAILURE() << e.to_string();
  return table;
}

inline config::Config with_routes(std::vector<config::HttpRoute> routes) {
  config::Config c;
  c.listeners.push_back(listener("http", 8080));
  c.routes = std::move(routes);
  return c;
}

// Name of the matched route rule ("<ns>/<route>/rule<i>"), "404" when none matches.
inline std::string matched(const RouteTable& t, const RequestHead& head,
                           std::string_view listener_name = "") {
  const Route* r = t.match(head, listener_name);
  return r ? r->name : "404";
}

}  // namespace infergate::routing::testing
