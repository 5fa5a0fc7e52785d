#pragma once
// A configuration as the documents it is written in, each with the identity Kubernetes gives
// it (group, kind, namespace, name). The loader parses manifests; the ConfigStore
// (config/config_store.h) layers run-time changes over the files by these identities, the way
// `kubectl apply` replaces an object in a cluster without touching the others.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"

namespace infergate::config {

struct ResourceKey {
  std::string group;  // API group without the version; "" = core
  std::string kind;
  std::string ns = "default";
  std::string name;

  bool empty() const { return kind.empty() || name.empty(); }
  // "HTTPRoute default/llm-route" (the group only where the kind alone is ambiguous is not
  // worth it: kinds we load never share a name across groups, except Istio's Gateway, which
  // is then written "Gateway.networking.istio.io").
  std::string to_string() const;
  auto operator<=>(const ResourceKey&) const = default;
};

struct Manifest {
  std::string file;      // what diagnostics call its source ("gateway.yaml", "POST /config")
  int document = 0;      // 1-based number in `file` of the (first) YAML document in `text`
  int line_offset = 0;   // lines of `file` before `text`
  std::string text;
  // Empty when `text` is not a readable resource (a YAML syntax error, no kind or name):
  // such a manifest is still loaded, so it reports its problem, but never replaces another.
  ResourceKey key;
  int documents = 1;     // YAML documents in `text` ("..." end markers can put several in one)
  // Where the document came from. The Kubernetes source (list+watch) marks its objects so that
  // the admin API refuses to change them behind the cluster's back (kubernetes_ownership.h).
  enum class Origin : uint8_t { Files, Kubernetes } origin = Origin::Files;
  bool operator==(const Manifest&) const = default;
};

// Splits a multi-document YAML text on its "---" lines, skipping blank documents, and reads
// each document's identity. Never throws.
std::vector<Manifest> split_manifests(std::string_view file, std::string_view text);

// Every *.yaml / *.yml directly in a directory (sorted by name), or the one file `path`,
// split into manifests. Files that cannot be read are reported in *errors.
std::vector<Manifest> read_manifests(const std::string& path, std::vector<Diagnostic>* errors);

}  // namespace infergate::config
