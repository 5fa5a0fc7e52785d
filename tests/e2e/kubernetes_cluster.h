// A cluster for end-to-end tests: tests/kube's API server over HTTPS with a bearer token, a
// kubeconfig for it, and the real kubectl to change it — the way an operator, Argo Rollouts
// or Flagger would. Pods are created with kubectl and made Ready the way a kubelet does it:
// through the status subresource.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"
#include "tests/kube/api_server.h"

namespace infergate::e2e {

class KubeCluster {
 public:
  KubeCluster();
  ~KubeCluster();

  testing::TestApiServer& api() { return *api_; }
  const std::string& kubeconfig() const { return kubeconfig_; }
  // The test CA and a certificate for 127.0.0.1 / localhost it signed (PEM files).
  const testing::ApiServerFiles& certs() const { return certs_; }
  static bool have_kubectl();

  // kubectl --kubeconfig ... ARGS; fails the test (ADD_FAILURE) when it exits non-zero and
  // `must_succeed`.
  CommandResult kubectl(const std::vector<std::string>& args, bool must_succeed = true);
  // kubectl create -f of a YAML text.
  CommandResult create(const std::string& yaml, bool must_succeed = true);
  // A Pod with these labels, Ready at `ip` (or created without status when !ready).
  void add_pod(const std::string& name, const std::string& ip, const std::map<std::string, std::string>& labels,
               bool ready = true, const std::string& ns = "default");
  void set_ready(const std::string& name, bool ready, const std::string& ns = "default");
  // Our GatewayClass (controllerName infergate.dev/gateway-controller) named `name`.
  void add_gateway_class(const std::string& name = "infergate");

 private:
  TempDir dir_;
  std::unique_ptr<testing::TestApiServer> api_;
  std::string kubeconfig_;
  testing::ApiServerFiles certs_;
  std::map<std::string, std::string> ips_;
  int files_ = 0;
};

}  // namespace infergate::e2e
