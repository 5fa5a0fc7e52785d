#pragma once
// Kubernetes core kinds the model keeps as themselves (Secrets become TLS material, see
// security.h). Conventions: config/model.h.

#include <cstdint>
#include <string>
#include <vector>

#include "config/model/common.h"

namespace infergate::config {

// Kubernetes v1 Service.

struct ServicePort {
  std::string name;
  uint16_t port = 0;             // 1..65535
  uint16_t target_port = 0;      // numeric targetPort; defaults to `port`; 0 when named
  std::string target_port_name;  // named targetPort (needs an endpoint port override)
  std::string app_protocol;      // e.g. "kubernetes.io/h2c"
};

struct Service {
  ObjectMeta meta;
  Labels selector;  // empty selector selects nothing (as in Kubernetes)
  std::vector<ServicePort> ports;
};

}  // namespace infergate::config
