// The API resources the gateway reads and writes, and how their URLs are made. One table, so
// the informers, the status writer and leader election agree on group, version and plural.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace infergate::gateway::kube {

struct ApiResource {
  std::string_view group;    // "" = core
  std::string_view version;  // the version the gateway lists and watches
  std::string_view plural;   // URL segment ("httproutes")
  std::string_view kind;     // "HTTPRoute"
  bool namespaced = true;
  bool has_status = false;   // a /status subresource the gateway may write
};

// Every resource the gateway lists and watches (Secrets are fetched one by one, Leases are
// leader election's), in the order their objects are loaded.
std::span<const ApiResource> watched_resources();
const ApiResource& lease_resource();
const ApiResource& secret_resource();
// The watched resource of `group` + `kind` (any version); nullptr when not watched.
const ApiResource* find_resource(std::string_view group, std::string_view kind);

// "/apis/gateway.networking.k8s.io/v1" or "/api/v1".
std::string group_version_path(const ApiResource& r);
// The collection: in namespace `ns`, or across all namespaces when `ns` is empty (or the
// resource is cluster-scoped).
std::string collection_path(const ApiResource& r, std::string_view ns);
// One object; `subresource` "" or "status".
std::string object_path(const ApiResource& r, std::string_view ns, std::string_view name,
                        std::string_view subresource = "");

}  // namespace infergate::gateway::kube
