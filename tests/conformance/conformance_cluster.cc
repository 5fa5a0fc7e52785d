#include "tests/conformance/conformance_cluster.h"

#include <iostream>

namespace infergate::conformance {

using e2e::milliseconds;
using e2e::scaled;
using nlohmann::json;

// A Deployment of base.yaml as the pods its ReplicaSet would make: one pod per address, every
// container port served.
struct Conformance::Deployment {
  std::string name;
  std::string app;  // the `app` label of its pods
  std::vector<std::string> ips;
  std::vector<uint16_t> ports;
};

namespace {

const std::vector<std::string> kPrimaryIps = {"127.0.1.11", "127.0.1.12", "127.0.1.13"};
const std::vector<std::string> kSecondaryIps = {"127.0.1.21", "127.0.1.22", "127.0.1.23"};
const std::vector<std::string> kAppProtocolIps = {"127.0.1.31", "127.0.1.32", "127.0.1.33"};
const std::vector<std::string> kDataParallelIps = {"127.0.1.41", "127.0.1.42", "127.0.1.43"};

// An EPP Deployment of base.yaml: one lwepp pod for one pool, on the port its Service names.
struct EppDeployment {
  std::string pool;  // key for Conformance::epp()
  std::string name;
  std::string app;
  std::string ip;
  const std::vector<std::string>* pool_ips;
  std::vector<uint16_t> target_ports;  // the pool's targetPorts
};
constexpr uint16_t kEppPort = 9002;

std::string endpoints_of(const EppDeployment& e) {
  std::string out;
  for (const auto& ip : *e.pool_ips)
    for (uint16_t port : e.target_ports) {
      if (!out.empty()) out += ",";
      out.append(ip).append(":").append(std::to_string(port));
    }
  return out;
}

std::string gateway_config(uint16_t admin) {
  std::string y = "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: conformance}\nspec:\n";
  y += "  workers: 2\n  admin: {address: 127.0.0.1, port: " + std::to_string(admin) + "}\n";
  y += "  accessLog: {path: /dev/stdout, format: envoy}\n";
  // Envoy's independent draw per request: the weighted test's warmup waits for three answers
  // in a row from the 30 % side, which infergate's default smooth split never gives.
  y += "  trafficSplit: {selection: Random}\n";
  // epp_sim stands for lwepp run without --secure-serving: plaintext.
  y += "  endpointPicker:\n    extProc:\n      tls: {enabled: false}\n";
  return y;
}

}  // namespace

void Conformance::SetUp() {
  if (!e2e::KubeCluster::have_kubectl()) GTEST_SKIP() << "kubectl not installed (the manifests are created with it)";
  cluster_ = std::make_unique<e2e::KubeCluster>();
  const std::vector<Deployment> model_servers = {
      {kPrimaryModelServerDeploymentName, kPrimaryModelServerAppLabel, kPrimaryIps, {3000}},
      {"secondary-inference-model-server-deployment", kSecondaryModelServerAppLabel, kSecondaryIps, {3000}},
      {"appprotocol-inference-model-server-deployment", kAppProtocolModelServerAppLabel, kAppProtocolIps, {3000, 3001}},
      {"dp-inference-model-server-deployment", "dp-inference-model-server", kDataParallelIps, {3000, 3002, 3004}},
  };
  const std::vector<EppDeployment> epps = {
      {"primary", "primary-app-endpoint-picker", "primary-app-backend-epp", "127.0.1.101", &kPrimaryIps, {3000}},
      {"secondary", "secondary-app-endpoint-picker", "secondary-app-backend-epp", "127.0.1.102", &kSecondaryIps, {3000}},
      {"appprotocol-http", "appprotocol-http-app-endpoint-picker", "appprotocol-http-app-backend-epp", "127.0.1.103",
       &kAppProtocolIps, {3000}},
      {"appprotocol-h2c", "appprotocol-h2c-app-endpoint-picker", "appprotocol-h2c-app-backend-epp", "127.0.1.104",
       &kAppProtocolIps, {3001}},
      {"dp", "dp-app-endpoint-picker", "dp-app-backend-epp", "127.0.1.105", &kDataParallelIps, {3000, 3002, 3004}},
  };
  for (const auto& d : model_servers) start_pods(d);
  for (const auto& e : epps)
    epps_[e.pool] = std::make_unique<e2e::EppSim>(std::vector<std::string>{
        "--address", e.ip, "--port", std::to_string(kEppPort), "--endpoints", endpoints_of(e)});

  gateway_ = std::make_unique<e2e::Gateway>(
      [&](uint16_t port, uint16_t admin) {
        std::string base = e2e::read_source("tests/conformance/manifests/base.yaml");
        e2e::replace_all(base, "{GATEWAY_CLASS_NAME}", "infergate");
        e2e::replace_all(base, "{PRIMARY_GATEWAY_PORT}", std::to_string(port));
        e2e::replace_all(base, "{SECONDARY_GATEWAY_PORT}", std::to_string(e2e::free_port()));
        cluster_->add_gateway_class("infergate");
        cluster_->create(base);
        for (const auto& d : model_servers)
          for (size_t i = 0; i < d.ips.size(); ++i) create_pod(d.name + "-" + std::to_string(i), d.ips[i], d.app, d.ports);
        for (const auto& e : epps) create_pod(e.name + "-0", e.ip, e.app, {kEppPort});
        return gateway_config(admin);
      },
      std::vector<std::string>{"--kubeconfig", cluster_->kubeconfig()});
}

void Conformance::TearDown() {
  if (HasFailure() && gateway_) {
    std::cout << "---- infergate ----\n" << gateway_->process().describe(6000) << "\n";
    for (auto& [pool, e] : epps_) std::cout << "---- epp " << pool << " ----\n" << e->process().describe(800) << "\n";
  }
  gateway_.reset();  // before the pods it sends to
}

void Conformance::start_pods(const Deployment& d) {
  for (size_t i = 0; i < d.ips.size(); ++i) {
    // One echo server per container port, all answering as the same pod.
    for (uint16_t port : d.ports)
      model_servers_.push_back(std::make_unique<e2e::Modelsim>(std::vector<std::string>{
          "--address", d.ips[i], "--port", std::to_string(port), "--name", d.name + "-" + std::to_string(i),
          "--namespace", kAppBackendNamespace, "--model", "conformance-fake-model", "--echo-any-path"}));
  }
}

// Created, then Running and Ready at its podIP through the status subresource, as a kubelet
// reports a pod whose readiness probe passed.
void Conformance::create_pod(const std::string& name, const std::string& ip, const std::string& app,
                             const std::vector<uint16_t>& ports) {
  json container_ports = json::array();
  for (uint16_t p : ports) container_ports.push_back({{"containerPort", p}});
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", kAppBackendNamespace}, {"labels", {{"app", app}}}}},
              {"spec", {{"containers", json::array({{{"name", "server"}, {"image", "echo"}, {"ports", container_ports}}})}}}};
  testing::ApiResult created = cluster_->api().create(pod);
  ASSERT_TRUE(created.ok()) << created.body.dump();
  json ready = created.body;
  ready["status"] = {{"phase", "Running"},
                     {"podIP", ip},
                     {"podIPs", json::array({{{"ip", ip}}})},
                     {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}};
  testing::ApiResult updated = cluster_->api().update(ready, /*status=*/true);
  ASSERT_TRUE(updated.ok()) << updated.body.dump();
}

void Conformance::create_manifest(const std::string& file) {
  cluster_->create(e2e::read_source("tests/conformance/manifests/" + file));
}

void Conformance::delete_object(const std::string& resource, const NamespacedName& nn) {
  cluster_->kubectl({"-n", nn.ns, "delete", resource, nn.name});
}

uint16_t Conformance::gateway_endpoint(const NamespacedName& gw) {
  json object;
  const bool addressed = e2e::wait_until(
      [&] {
        object = cluster_->api().get("gateway.networking.k8s.io", "gateways", gw.ns, gw.name);
        return object.is_object() && object.contains("status") && object["status"].contains("addresses") &&
               !object["status"]["addresses"].empty();
      },
      scaled(30000));
  if (!addressed) {
    ADD_FAILURE() << "Gateway " << gw.str() << " reports no address: " << object.dump();
    return 0;
  }
  const std::string address = object["status"]["addresses"][0].value("value", "");
  EXPECT_EQ(address, "127.0.0.1") << object.dump();
  return object["spec"]["listeners"][0]["port"].get<uint16_t>();
}

std::vector<PodInfo> Conformance::pods_with_label(const std::string& ns,
                                                  const std::map<std::string, std::string>& labels) {
  std::vector<PodInfo> out;
  for (const json& pod : cluster_->api().list("", "pods")) {
    const json& meta = pod["metadata"];
    if (meta.value("namespace", "") != ns) continue;
    bool match = true;
    for (const auto& [k, v] : labels)
      match = match && meta.contains("labels") && meta["labels"].value(k, "") == v;
    const std::string ip = pod.contains("status") ? pod["status"].value("podIP", "") : "";
    if (!match || ip.empty()) continue;
    PodInfo info{meta.value("name", ""), ip, {}};
    for (const json& c : pod["spec"]["containers"])
      for (const json& p : c.value("ports", json::array())) info.ports.push_back(p["containerPort"].get<uint16_t>());
    out.push_back(std::move(info));
  }
  return out;  // the API lists by namespace/name
}

e2e::Process& Conformance::epp(const std::string& pool) { return epps_.at(pool)->process(); }

}  // namespace infergate::conformance
