// How the process follows a cluster (--kubernetes / --kubeconfig and their companions).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace infergate::gateway::kube {

struct KubernetesOptions {
  bool in_cluster = false;       // --kubernetes
  std::string kubeconfig;        // --kubeconfig PATH
  std::vector<std::string> namespaces;  // --watch-namespace (repeatable); empty = all
  std::string controller_name = "infergate.dev/gateway-controller";  // --controller-name
  std::string lease_namespace;   // --leader-election-namespace; "" = POD_NAMESPACE, the token's, "default"
  std::string lease_name = "infergate-leader";  // --leader-election-name
  std::string identity;          // POD_NAME, else the host name
  // Startup waits this long for the first full list of every watched resource.
  std::chrono::seconds sync_timeout{60};
};

}  // namespace infergate::gateway::kube
