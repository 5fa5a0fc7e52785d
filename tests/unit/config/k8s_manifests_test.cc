// The shipped Kubernetes manifests (docker/k8s, rendered by `kubectl kustomize` when kubectl
// is installed, else the files its kustomization.yaml lists) expose no admin port: no
// Service port, container port, probe or Prometheus annotation points at admin, and every
// embedded GatewayConfig keeps admin on loopback and has a stats listener for them instead.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "config/loader.h"
#include "tests/unit/config/test_util.h"

namespace infergate::config {
namespace {

const std::string kDir = std::string(INFERGATE_SOURCE_DIR) + "/docker/k8s";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What `kubectl apply -k docker/k8s` would apply.
std::string rendered(std::string* how) {
#ifdef INFERGATE_KUBECTL
  if (std::FILE* p = popen((std::string(INFERGATE_KUBECTL) + " kustomize " + kDir + " 2>&1").c_str(), "r")) {
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (pclose(p) == 0) {
      *how = "kubectl kustomize";
      return out;
    }
    ADD_FAILURE() << "kubectl kustomize " << kDir << " failed:\n" << out;
  }
#endif
  *how = "kustomization.yaml resources";
  std::string all;
  for (const auto& r : YAML::LoadFile(kDir + "/kustomization.yaml")["resources"])
    all += read_file(kDir + "/" + r.as<std::string>()) + "\n---\n";
  return all;
}

struct Ports {
  std::set<std::string> admin;  // numbers and names that mean the admin listener
  std::set<std::string> stats;
};

// The admin and stats ports of every GatewayConfig in the ConfigMaps, loaded as the gateway
// would load them (so the loopback rule and stats settings are the real ones).
Ports gateway_ports(const std::vector<YAML::Node>& docs) {
  Ports p;
  for (const auto& d : docs) {
    if (!d["kind"] || d["kind"].as<std::string>() != "ConfigMap" || !d["data"]) continue;
    for (const auto& entry : d["data"]) {
      const std::string text = entry.second.as<std::string>();
      if (text.find("kind: GatewayConfig") == std::string::npos) continue;
      LoadResult r = load_string(text, entry.first.as<std::string>());
      EXPECT_TRUE(r.ok()) << testing::render(r.errors);
      if (!r.config) continue;
      const auto& gc = r.config->gateway;
      EXPECT_TRUE(is_loopback_address(gc.admin.address)) << entry.first << ": admin on " << gc.admin.address;
      p.admin.insert(std::to_string(gc.admin.port));
      EXPECT_TRUE(gc.stats.has_value()) << entry.first << ": no spec.stats for probes and Prometheus";
      if (gc.stats) p.stats.insert(std::to_string(gc.stats->port));
    }
  }
  return p;
}

TEST(K8sManifests, ExposeNoAdminPort) {
  std::string how;
  const std::string text = rendered(&how);
  std::vector<YAML::Node> docs = YAML::LoadAll(text);
  ASSERT_GE(docs.size(), 4u) << how;
  Ports p = gateway_ports(docs);
  ASSERT_FALSE(p.admin.empty()) << how << ": no GatewayConfig found";
  p.admin.insert("admin");
  int pods = 0, probes = 0;
  for (const auto& d : docs) {
    if (!d["kind"]) continue;
    const std::string kind = d["kind"].as<std::string>();
    const std::string name = kind + " " + d["metadata"]["name"].as<std::string>();
    if (kind == "Service") {
      for (const auto& port : d["spec"]["ports"]) {
        for (const char* f : {"port", "targetPort", "name"}) {
          if (port[f]) {
            EXPECT_EQ(p.admin.count(port[f].as<std::string>()), 0u) << how << ": " << name << " " << f;
          }
        }
      }
    }
    if (!d["spec"] || !d["spec"].IsMap() || !d["spec"]["template"]) continue;
    const YAML::Node pod = d["spec"]["template"];
    ++pods;
    if (auto a = pod["metadata"] ? pod["metadata"]["annotations"] : YAML::Node(); a.IsMap() && a["prometheus.io/port"]) {
      EXPECT_EQ(p.stats.count(a["prometheus.io/port"].as<std::string>()), 1u) << how << ": " << name << " scrapes admin";
    }
    for (const auto& c : pod["spec"]["containers"]) {
      for (const auto& port : c["ports"]) {
        EXPECT_EQ(p.admin.count(port["containerPort"].as<std::string>()), 0u) << how << ": " << name;
        if (port["name"]) {
          EXPECT_EQ(p.admin.count(port["name"].as<std::string>()), 0u) << how << ": " << name;
        }
        if (port["hostPort"]) ADD_FAILURE() << how << ": " << name << " binds a host port";
      }
      for (const char* probe : {"readinessProbe", "livenessProbe", "startupProbe"}) {
        if (!c[probe] || !c[probe]["httpGet"]) continue;
        ++probes;
        const std::string port = c[probe]["httpGet"]["port"].as<std::string>();
        EXPECT_EQ(p.admin.count(port), 0u) << how << ": " << name << " " << probe << " on admin";
      }
    }
  }
  EXPECT_EQ(pods, 2) << how;
  EXPECT_GE(probes, 2) << how;
}

}  // namespace
}  // namespace infergate::config
