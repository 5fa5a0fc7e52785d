// One asynchronous HTTP/1.1 request on the control thread (a Prometheus query for a Rollout's
// gate, the rollout CLI's call to the admin API): connect, send, read one response, close.
// Bounded by `timeout` and by body size.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>
#include <string_view>

namespace infergate::gateway {

struct HttpResult {
  std::string error;  // "" when a response arrived
  int status = 0;
  std::string body;
};

// `s` percent-encoded for a URL's query string (RFC 3986 unreserved characters kept).
std::string percent_encode(std::string_view s);

// `url`: "http://host:port/path?query" (host an IP literal or a name resolved here).
void async_http_request(boost::asio::io_context& io, const std::string& method, const std::string& url,
                        std::string body, std::chrono::milliseconds timeout, std::function<void(HttpResult)> done);
// The same with more request headers (Authorization for the admin API).
void async_http_request(boost::asio::io_context& io, const std::string& method, const std::string& url,
                        std::vector<std::pair<std::string, std::string>> headers, std::string body,
                        std::chrono::milliseconds timeout, std::function<void(HttpResult)> done);

}  // namespace infergate::gateway
