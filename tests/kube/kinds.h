// The built-in kinds the test API server serves. One entry per group and resource; an object
// is stored once per group+resource and served at every version of its group.
#pragma once

#include <string>
#include <vector>

namespace infergate::testing::kube {

struct ResourceKind {
  std::string group;  // "" for the core group
  std::vector<std::string> versions;  // the first is the preferred one
  std::string resource;  // plural, the URL segment
  std::string singular;
  std::string kind;
  bool namespaced = true;
  bool status_subresource = false;
  std::vector<std::string> short_names;
};

const std::vector<ResourceKind>& resource_kinds();
// Null when the group does not serve that resource at that version.
const ResourceKind* find_kind(const std::string& group, const std::string& version,
                              const std::string& resource);
// By group and resource at any version.
const ResourceKind* find_kind(const std::string& group, const std::string& resource);
// By an object's apiVersion ("v1", "gateway.networking.k8s.io/v1") and kind.
const ResourceKind* find_kind_of(const std::string& api_version, const std::string& kind);

struct GroupVersions {
  std::string group;
  std::vector<std::string> versions;
};
// Every group but the core one, in a stable order.
std::vector<GroupVersions> api_groups();

}  // namespace infergate::testing::kube
