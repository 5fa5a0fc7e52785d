// The run-time layer over the config files: kubectl-apply merging by identity, deletion,
// revert, "later writer wins" against file edits, and the saved overlay.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/config_store.h"
#include "config/loader.h"
#include "tests/unit/config/test_util.h"

namespace infergate::config {
namespace {

constexpr const char* kFiles = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: g}
spec:
  endpoints:
  - {name: a, address: 127.0.0.1, port: 9001, labels: {app: a}}
  - {name: b, address: 127.0.0.1, port: 9002, labels: {app: b}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: svc-a}
spec:
  selector: {app: a}
  ports: [{port: 80, targetPort: 8000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: svc-a, port: 80}]
)";

constexpr const char* kServiceB = R"(apiVersion: v1
kind: Service
metadata: {name: svc-b}
spec:
  selector: {app: b}
  ports: [{port: 80, targetPort: 8000}]
)";

ResourceKey key(std::string group, std::string kind, std::string name) {
  ResourceKey k;
  k.group = std::move(group);
  k.kind = std::move(kind);
  k.name = std::move(name);
  return k;
}

Manifest posted(const std::string& text) {
  auto ms = split_manifests("POST /config", text);
  EXPECT_EQ(ms.size(), 1u);
  return ms.at(0);
}

std::string route_text(const std::string& service) {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n"
         "  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: " + service + ", port: 80}]\n";
}

TEST(Manifests, SplitKeepsIdentityDocumentNumbersAndLines) {
  auto ms = split_manifests("f.yaml", std::string("# comment\n---\n") + kFiles);
  ASSERT_EQ(ms.size(), 4u);
  EXPECT_EQ(ms[0].key.kind, "GatewayConfig");
  EXPECT_EQ(ms[3].key, key("gateway.networking.k8s.io", "HTTPRoute", "r"));
  EXPECT_EQ(ms[3].key.ns, "default");
  EXPECT_EQ(ms[3].document, 4);
  EXPECT_EQ(ms[2].key.group, "");
  EXPECT_EQ(ms[1].line_offset, 9);  // the "---" line before the Gateway
  auto bad = split_manifests("b.yaml", "kind: [\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\n");
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_TRUE(bad[0].key.empty());
  EXPECT_EQ(bad[1].key.ns, "x");
  EXPECT_EQ(bad[1].document, 2);
}

TEST(ConfigStore, ApplyReplacesInPlaceAndAddsNewOnes) {
  ConfigStore s;
  s.set_base(split_manifests("files.yaml", kFiles));
  s.apply(posted(kServiceB), "POST /config", "t1");
  s.apply(posted(route_text("svc-b")), "POST /config", "t2");
  auto eff = s.effective();
  ASSERT_EQ(eff.size(), 5u);
  EXPECT_EQ(eff[3].file, "POST /config");  // the route, in its file position
  EXPECT_NE(eff[3].text.find("svc-b"), std::string::npos);
  EXPECT_EQ(eff[4].key.name, "svc-b");     // added last
  LoadResult r = load_manifests(eff);
  ASSERT_TRUE(r.ok()) << testing::render(r.errors);
  EXPECT_EQ(r.config->routes[0].rules[0].backend_refs[0].name, "svc-b");
  EXPECT_EQ(r.config->services.size(), 2u);
}

TEST(ConfigStore, DiagnosticsOfAppliedDocumentsNameWhereTheyCameFrom) {
  ConfigStore s;
  s.set_base(split_manifests("files.yaml", kFiles));
  s.apply(posted(route_text("nope")), "POST /config", "t");
  LoadResult r = load_manifests(s.effective());
  EXPECT_NE(testing::render(r.warnings).find("POST /config:7: document 1 (HTTPRoute/r): spec.rules[0].backendRefs[0]"),
            std::string::npos)
      << testing::render(r.warnings);
  std::string bad_port = kServiceB;
  bad_port.replace(bad_port.find("port: 80"), 8, "port: 0");
  s.apply(posted(bad_port), "POST /config", "t");
  r = load_manifests(s.effective());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(testing::render(r.errors).find("POST /config:6: document 1 (Service/svc-b): spec.ports[0].port"),
            std::string::npos)
      << testing::render(r.errors);
}

TEST(ConfigStore, RemoveHidesAndRevertRestores) {
  ConfigStore s;
  s.set_base(split_manifests("files.yaml", kFiles));
  const ResourceKey route = key("gateway.networking.k8s.io", "HTTPRoute", "r");
  EXPECT_TRUE(s.remove(route, "DELETE /config", "t"));
  EXPECT_EQ(s.find(route), nullptr);
  EXPECT_EQ(s.effective().size(), 3u);
  EXPECT_FALSE(s.remove(route, "DELETE /config", "t"));  // already gone
  EXPECT_TRUE(s.revert(route));
  EXPECT_NE(s.find(route), nullptr);
  EXPECT_FALSE(s.revert(route));
  // A resource only the overlay has is simply forgotten.
  s.apply(posted(kServiceB), "POST /config", "t");
  EXPECT_TRUE(s.remove(key("", "Service", "svc-b"), "DELETE /config", "t"));
  EXPECT_TRUE(s.overlay().empty());
}

TEST(ConfigStore, TheLaterWriterWins) {
  ConfigStore s;
  s.set_base(split_manifests("files.yaml", kFiles));
  s.apply(posted(kServiceB), "POST /config", "t");
  s.apply(posted(route_text("svc-b")), "POST /weights", "t");
  // Files read again unchanged: the run-time changes stay.
  EXPECT_TRUE(s.set_base(split_manifests("files.yaml", kFiles)).empty());
  EXPECT_EQ(s.overlay().size(), 2u);
  // The file's route changes: it is newer than the run-time one, which is dropped. The
  // added Service is untouched (the files still have none).
  std::string edited = kFiles;
  edited.replace(edited.find("port: 80}]\n"), 11, "port: 80, weight: 3}]\n");
  auto dropped = s.set_base(split_manifests("files.yaml", edited));
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].key.kind, "HTTPRoute");
  EXPECT_EQ(dropped[0].source, "POST /weights");
  ASSERT_EQ(s.overlay().size(), 1u);
  // The files gain the Service too: theirs wins again.
  dropped = s.set_base(split_manifests("files.yaml", edited + "---\n" + kServiceB));
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_TRUE(s.overlay().empty());
}

TEST(ConfigStore, DeletionOfAFileDocumentIsUndoneByEditingIt) {
  ConfigStore s;
  s.set_base(split_manifests("files.yaml", kFiles));
  ASSERT_TRUE(s.remove(key("gateway.networking.k8s.io", "HTTPRoute", "r"), "DELETE /config", "t"));
  // Another document changing leaves the deletion in force.
  std::string other = kFiles;
  other.replace(other.find("port: 8080"), 10, "port: 8081");
  EXPECT_TRUE(s.set_base(split_manifests("files.yaml", other)).empty());
  EXPECT_EQ(s.find(key("gateway.networking.k8s.io", "HTTPRoute", "r")), nullptr);
  // The deleted document's own text changing (any byte of it) is a newer word from the files.
  EXPECT_EQ(s.set_base(split_manifests("files.yaml", other + "# touched\n")).size(), 1u);
  EXPECT_NE(s.find(key("gateway.networking.k8s.io", "HTTPRoute", "r")), nullptr);
}

TEST(ConfigStore, OverlaySurvivesARoundTripThroughJson) {
  ConfigStore s;
  s.set_base(split_manifests("files.yaml", kFiles));
  s.apply(posted(kServiceB), "POST /config", "2026-12-02T10:00:00Z");
  s.apply(posted(route_text("svc-b")), "POST /weights", "2026-12-02T10:00:01Z");
  const std::string saved = s.overlay_json();

  ConfigStore restored;
  restored.set_base(split_manifests("files.yaml", kFiles));
  std::vector<ConfigStore::Change> dropped;
  std::string error;
  ASSERT_TRUE(restored.restore_overlay(saved, &dropped, &error)) << error;
  EXPECT_TRUE(dropped.empty());
  ASSERT_EQ(restored.overlay().size(), 2u);
  EXPECT_EQ(restored.overlay()[1].applied_at, "2026-12-02T10:00:01Z");
  EXPECT_EQ(restored.overlay_json(), saved);
  EXPECT_TRUE(load_manifests(restored.effective()).ok());

  // The file changed while the process was down: that change is dropped on restore.
  std::string edited = kFiles;
  edited.replace(edited.find("port: 80}]\n"), 11, "port: 80, weight: 3}]\n");
  ConfigStore later;
  later.set_base(split_manifests("files.yaml", edited));
  ASSERT_TRUE(later.restore_overlay(saved, &dropped, &error)) << error;
  EXPECT_EQ(dropped.size(), 1u);
  EXPECT_EQ(later.overlay().size(), 1u);
}

TEST(ConfigStore, GarbageStateIsRejectedAndLeavesTheStoreAlone) {
  ConfigStore s;
  s.set_base(split_manifests("files.yaml", kFiles));
  s.apply(posted(kServiceB), "POST /config", "t");
  std::vector<ConfigStore::Change> dropped;
  std::string error;
  for (const char* bad : {"", "{", "[]", R"({"kind":"other"})",
                          R"({"kind":"infergate-overlay","changes":[{"key":{}}]})",
                          R"({"kind":"infergate-overlay","changes":[{"key":{"group":"","kind":"Service","namespace":"default","name":"x"},"deleted":false}]})"}) {
    error.clear();
    EXPECT_FALSE(s.restore_overlay(bad, &dropped, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_EQ(s.overlay().size(), 1u) << bad;
  }
}

TEST(ConfigStore, WriteFileAtomicallyReplacesTheFile) {
  const std::string dir = ::testing::TempDir() + "/config_store_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/overlay.json";
  std::string error;
  ASSERT_TRUE(write_file_atomically(path, "one", &error)) << error;
  ASSERT_TRUE(write_file_atomically(path, "two", &error)) << error;
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "two");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_FALSE(write_file_atomically(dir + "/no/such/dir/x", "x", &error));
  EXPECT_NE(error.find("cannot write"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace infergate::config
