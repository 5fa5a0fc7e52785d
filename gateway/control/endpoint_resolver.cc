#include "gateway/control/endpoint_resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include <string>

namespace infergate::gateway {

namespace {

// First address of `host`, preferring IPv4 (loopback-only test boxes and most pod
// networks), or the getaddrinfo error text.
bool resolve(const std::string& host, std::string* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    *out = gai_strerror(rc);
    return false;
  }
  const addrinfo* pick = res;
  for (const addrinfo* a = res; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  }
  char buf[NI_MAXHOST];
  rc = getnameinfo(pick->ai_addr, pick->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST);
  freeaddrinfo(res);
  if (rc != 0) {
    *out = gai_strerror(rc);
    return false;
  }
  *out = buf;
  return true;
}

}  // namespace

void resolve_endpoint_hosts(config::Config& config, std::vector<config::Diagnostic>* errors) {
  for (size_t i = 0; i < config.endpoints.size(); ++i) {
    auto& ep = config.endpoints[i];
    boost::system::error_code ec;
    boost::asio::ip::make_address(ep.address, ec);
    if (!ec) continue;
    std::string result;
    if (resolve(ep.address, &result)) {
      spdlog::debug("endpoint {}: {} resolved to {}", ep.name, ep.address, result);
      ep.address = std::move(result);
      continue;
    }
    if (!errors) continue;
    config::Diagnostic d;
    d.file = ep.source.file;
    d.document = ep.source.document;
    d.line = ep.source.line;
    d.resource = "GatewayConfig";
    d.path = "spec.endpoints[" + std::to_string(i) + "].address";
    d.message = "cannot resolve host \"" + ep.address + "\": " + result;
    errors->push_back(std::move(d));
  }
}

}  // namespace infergate::gateway
