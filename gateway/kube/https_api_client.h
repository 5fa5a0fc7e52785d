// ApiClient over HTTP/1.1 with Beast, TLS by OpenSSL (boost::asio::ssl around an SSL_CTX
// set up with tls/'s helpers): the API server's CA or the system roots, its name checked,
// a client certificate when the kubeconfig has one. One connection per request and one per
// watch: the gateway makes few requests (no polling), and a watch holds its connection for
// minutes anyway.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

#include "gateway/kube/api_client.h"
#include "gateway/kube/cluster_access.h"

namespace infergate::gateway::kube {

// nullptr with *error when the TLS material does not load.
std::unique_ptr<ApiClient> make_https_api_client(boost::asio::io_context& io, ClusterAccess access, std::string* error);

}  // namespace infergate::gateway::kube
