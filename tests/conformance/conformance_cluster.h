// The cluster every ported conformance test runs against: tests/kube's API server holding the
// suite's base resources (manifests/base.yaml), their pods served by real processes, and the
// real infergate following it with --kubeconfig, as the gateway under test follows a cluster.
//
//   model-server pods  modelsim --echo-any-path --name POD --namespace NS, on the pod's own
//                      127.0.1.x address and the suite's container ports (3000; 3000+3001 for
//                      the appProtocol pods; 3000, 3002, 3004 for the data-parallel ones)
//   EPP pods           epp_sim (the suite's lwepp) on its own 127.0.1.x address, port 9002,
//                      picking among its pool's pod IP × targetPort endpoints
//
// The addresses are fixed, as the suite's pod IPs are for the length of a run, so the tests of
// this binary never run at once (CTest RESOURCE_LOCK, see CMakeLists.txt). No other test uses
// 127.0.1.0/24.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/e2e_test.h"
#include "tests/e2e/kubernetes_cluster.h"

namespace infergate::conformance {

// conformance/resources/resourcename.go
inline const std::string kAppBackendNamespace = "inference-conformance-app-backend";
inline const std::string kInfraNamespace = "inference-conformance-infra";
inline const std::string kPrimaryModelServerDeploymentName = "primary-inference-model-server-deployment";
inline const std::string kPrimaryModelServerAppLabel = "primary-inference-model-server";
inline const std::string kSecondaryModelServerAppLabel = "secondary-inference-model-server";
inline const std::string kAppProtocolModelServerAppLabel = "appprotocol-inference-model-server";
inline constexpr size_t kModelServerPodReplicas = 3;

struct NamespacedName {
  std::string ns, name;
  std::string str() const { return ns + "/" + name; }
};

inline const NamespacedName kPrimaryGatewayNN{kInfraNamespace, "conformance-primary"};
inline const NamespacedName kSecondaryGatewayNN{kInfraNamespace, "conformance-secondary"};
inline const NamespacedName kPrimaryInferencePoolNN{kAppBackendNamespace, "primary-inference-pool"};
inline const NamespacedName kSecondaryInferencePoolNN{kAppBackendNamespace, "secondary-inference-pool"};
inline const NamespacedName kAppProtocolHTTPInferencePoolNN{kAppBackendNamespace, "appprotocol-http-inference-pool"};
inline const NamespacedName kAppProtocolH2CInferencePoolNN{kAppBackendNamespace, "appprotocol-h2c-inference-pool"};

// What the suite reads of a Pod: its name, podIP and container ports.
struct PodInfo {
  std::string name, ip;
  std::vector<uint16_t> ports;
};

// The fixture: SetUp builds the cluster and starts the gateway (skips when kubectl is not
// installed: manifests are created with it, as the suite's are applied); each test then
// creates its own manifest and asserts what the suite asserts.
class Conformance : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  e2e::KubeCluster& cluster() { return *cluster_; }
  e2e::Gateway& gateway() { return *gateway_; }
  // `kubectl create -f` of tests/conformance/manifests/FILE (the suite's test manifest).
  void create_manifest(const std::string& file);
  // `kubectl delete` of one object, as the suite's client deletes a route.
  void delete_object(const std::string& resource, const NamespacedName& nn);

  // GetGatewayEndpoint: waits for the Gateway's status.addresses and answers the port of its
  // listener at that address (always 127.0.0.1 here; the tests' client connects there). 0 and
  // a test failure when no address is reported in time.
  uint16_t gateway_endpoint(const NamespacedName& gateway);
  // GetPodsWithLabel: the pods of `ns` carrying every label, with a podIP, sorted by name.
  std::vector<PodInfo> pods_with_label(const std::string& ns, const std::map<std::string, std::string>& labels);
  // The process standing in for the EPP Deployment of a base pool ("primary", "secondary",
  // "appprotocol-http", "appprotocol-h2c", "dp").
  e2e::Process& epp(const std::string& pool);

 private:
  struct Deployment;
  void start_pods(const Deployment& d);
  void create_pod(const std::string& name, const std::string& ip, const std::string& app,
                  const std::vector<uint16_t>& ports);

  std::unique_ptr<e2e::KubeCluster> cluster_;
  std::vector<std::unique_ptr<e2e::Modelsim>> model_servers_;
  std::map<std::string, std::unique_ptr<e2e::EppSim>> epps_;
  std::unique_ptr<e2e::Gateway> gateway_;
};

}  // namespace infergate::conformance
