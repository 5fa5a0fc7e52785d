// Before the process serves, it needs the cluster's Gateways (its listeners are opened once)
// and everything routes need. This lists every watched resource once, on a private
// io_context, and hands back the cluster layer; the running server then lists and watches
// again on its control thread (a second list, once, is cheaper than handing live watches
// across event loops).
#pragma once

#include <optional>
#include <string>

#include "config/config_store.h"
#include "gateway/kube/cluster_access.h"
#include "gateway/kube/kubernetes_options.h"

namespace infergate::gateway::kube {

// The ClusterAccess the options name (in cluster, or the kubeconfig's current context).
std::optional<ClusterAccess> cluster_access(const KubernetesOptions& opts, std::string* error);

// Fills `layer`'s cluster layer; false with *error when the API cannot be reached or a list
// keeps failing within opts.sync_timeout.
bool initial_cluster_sync(const KubernetesOptions& opts, const ClusterAccess& access, config::ConfigStore* layer,
                          std::string* error);

}  // namespace infergate::gateway::kube
