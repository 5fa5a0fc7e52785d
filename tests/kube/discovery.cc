#include <algorithm>

#include "tests/kube/handler.h"
#include "tests/kube/kinds.h"

namespace infergate::testing::kube {
namespace {

using nlohmann::json;

json group_json(const GroupVersions& g) {
  json versions = json::array();
  for (const auto& v : g.versions) versions.push_back({{"groupVersion", g.group + "/" + v}, {"version", v}});
  return {{"name", g.group}, {"versions", versions}, {"preferredVersion", versions[0]}};
}

json resource_list(const std::string& group, const std::string& version) {
  json resources = json::array();
  for (const auto& k : resource_kinds()) {
    if (k.group != group || std::find(k.versions.begin(), k.versions.end(), version) == k.versions.end()) continue;
    json r = {{"name", k.resource},
              {"singularName", k.singular},
              {"namespaced", k.namespaced},
              {"kind", k.kind},
              {"verbs", {"create", "delete", "get", "list", "patch", "update", "watch"}}};
    if (!k.short_names.empty()) r["shortNames"] = k.short_names;
    resources.push_back(r);
    if (k.status_subresource) {
      resources.push_back({{"name", k.resource + "/status"}, {"singularName", ""}, {"namespaced", k.namespaced},
                           {"kind", k.kind}, {"verbs", {"get", "patch", "update"}}});
    }
  }
  if (resources.empty()) return nullptr;
  return {{"kind", "APIResourceList"}, {"apiVersion", "v1"},
          {"groupVersion", group.empty() ? version : group + "/" + version}, {"resources", resources}};
}

std::string gv_path(const std::string& group, const std::string& version) {
  return group.empty() ? "api/" + version : "apis/" + group + "/" + version;
}

// kubectl (1.27+) validates manifests on the server when the OpenAPI v3 document of the
// object's group-version lists a PATCH operation for its kind that takes the fieldValidation
// query parameter; then it neither fetches /openapi/v2 nor validates by itself. That is all
// these documents say: no schemas, so `kubectl explain` has nothing to show.
json openapi_root() {
  json paths = json::object();
  std::vector<std::string> seen;
  for (const auto& k : resource_kinds()) {
    for (const auto& v : k.versions) {
      const std::string p = gv_path(k.group, v);
      if (std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
      seen.push_back(p);
      paths[p] = {{"serverRelativeURL", "/openapi/v3/" + p + "?hash=infergate-test-1"}};
    }
  }
  return {{"paths", paths}};
}

json openapi_gv(const std::string& gv) {
  json paths = json::object();
  for (const auto& k : resource_kinds()) {
    for (const auto& v : k.versions) {
      if (gv_path(k.group, v) != gv) continue;
      const std::string base = "/" + gv + (k.namespaced ? "/namespaces/{namespace}/" : "/") + k.resource + "/{name}";
      const json op = {{"x-kubernetes-group-version-kind", {{"group", k.group}, {"version", v}, {"kind", k.kind}}},
                       {"parameters", {{{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}}}},
                       {"responses", {{"200", {{"description", "OK"}}}}}};
      paths[base] = {{"patch", op}};
      if (k.status_subresource) paths[base + "/status"] = {{"patch", op}};
    }
  }
  if (paths.empty()) return nullptr;
  return {{"openapi", "3.0.0"}, {"info", {{"title", "infergate test API server"}, {"version", "v1.32.0"}}},
          {"paths", paths}, {"components", {{"schemas", json::object()}}}};
}

}  // namespace

HttpResponse json_response(int code, const json& body) { return {code, "application/json", body.dump()}; }

std::optional<HttpResponse> discovery(const HttpRequest& req, const std::string& host_port) {
  const std::string& p = req.path.size() > 1 && req.path.back() == '/' ? req.path.substr(0, req.path.size() - 1) : req.path;
  if (p == "/version") {
    return json_response(200, {{"major", "1"}, {"minor", "32"}, {"gitVersion", "v1.32.0-infergate-test"},
                               {"gitCommit", "0000000000000000000000000000000000000000"}, {"gitTreeState", "clean"},
                               {"buildDate", "2026-01-01T00:00:00Z"}, {"goVersion", "go1.23.0"}, {"compiler", "gc"},
                               {"platform", "linux/amd64"}});
  }
  if (p == "/healthz" || p == "/readyz" || p == "/livez") return HttpResponse{200, "text/plain", "ok"};
  // Answering the aggregated-discovery Accept with a plain APIVersions/APIGroupList (and
  // Content-Type application/json) is what an older server does; clients fall back to the
  // per-group documents.
  if (p == "/api") {
    return json_response(200, {{"kind", "APIVersions"}, {"versions", {"v1"}},
                               {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", host_port}}}}});
  }
  if (p == "/apis") {
    json groups = json::array();
    for (const auto& g : api_groups()) groups.push_back(group_json(g));
    return json_response(200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}});
  }
  if (p == "/openapi/v3") return json_response(200, openapi_root());
  if (p.rfind("/openapi/v3/", 0) == 0) {
    json doc = openapi_gv(p.substr(12));
    if (!doc.is_null()) return json_response(200, doc);
    return std::nullopt;
  }
  if (p == "/api/v1") return json_response(200, resource_list("", "v1"));
  if (p.rfind("/apis/", 0) == 0) {
    const std::string rest = p.substr(6);
    const auto slash = rest.find('/');
    const std::string group = rest.substr(0, slash);
    if (slash == std::string::npos) {
      for (const auto& g : api_groups()) {
        if (g.group == group) {
          json body = group_json(g);
          body["kind"] = "APIGroup";
          body["apiVersion"] = "v1";
          return json_response(200, body);
        }
      }
      return std::nullopt;
    }
    const std::string version = rest.substr(slash + 1);
    if (version.find('/') != std::string::npos) return std::nullopt;
    json list = resource_list(group, version);
    if (list.is_null()) return std::nullopt;
    return json_response(200, list);
  }
  return std::nullopt;
}

}  // namespace infergate::testing::kube
