// Where the API server is and how to prove who we are: from inside a pod (the service
// account's token and CA, KUBERNETES_SERVICE_HOST/PORT) or from a kubeconfig's current
// context (token or client certificate), as kubectl reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace infergate::gateway::kube {

struct ClusterAccess {
  std::string host;          // IP or name
  uint16_t port = 443;
  bool tls = true;           // "https://"; plain "http://" only for tests
  std::string server_name;   // SNI and the name the certificate must carry (the URL's host)
  std::string ca_pem;        // empty = the system roots
  bool insecure_skip_verify = false;
  std::string token;         // a bearer token given inline
  std::string token_file;    // re-read on every request: projected tokens rotate
  std::string client_cert_pem, client_key_pem;
  std::string ns = "default";  // the context's (or the pod's) namespace
  std::string describe() const;  // "https://10.0.0.1:443"
  // The Authorization header value now ("" = none): the token file's current contents.
  std::string authorization() const;
};

// In a pod: /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace} and the
// service environment variables. `root` replaces that directory (tests).
std::optional<ClusterAccess> in_cluster_access(std::string* error,
                                               const std::string& root = "/var/run/secrets/kubernetes.io/serviceaccount");

// The current context of the kubeconfig at `path` (clusters, users, contexts; *-data fields
// base64, file fields relative to the kubeconfig's directory).
std::optional<ClusterAccess> kubeconfig_access(const std::string& path, std::string* error);

// "https://host:port" split into the fields above; false with *error when not such a URL.
bool parse_server_url(const std::string& url, ClusterAccess* out, std::string* error);

}  // namespace infergate::gateway::kube
