#include "gateway/control/http_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <cctype>
#include <memory>

namespace infergate::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr uint64_t kMaxBody = 4u << 20;

struct Get : std::enable_shared_from_this<Get> {
  Get(asio::io_context& io, std::function<void(HttpResult)> d) : resolver(io), stream(io), done(std::move(d)) {}
  asio::ip::tcp::resolver resolver;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response_parser<http::string_body> parser;
  std::function<void(HttpResult)> done;

  void finish(HttpResult r) {
    beast::error_code ignored;
    stream.socket().close(ignored);
    if (done) std::exchange(done, nullptr)(std::move(r));
  }
};

}  // namespace

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void async_http_request(asio::io_context& io, const std::string& method, const std::string& url, std::string body,
                        std::chrono::milliseconds timeout, std::function<void(HttpResult)> done) {
  async_http_request(io, method, url, {}, std::move(body), timeout, std::move(done));
}

void async_http_request(asio::io_context& io, const std::string& method, const std::string& url,
                        std::vector<std::pair<std::string, std::string>> headers, std::string body,
                        std::chrono::milliseconds timeout, std::function<void(HttpResult)> done) {
  auto g = std::make_shared<Get>(io, std::move(done));
  std::string rest = url;
  if (rest.rfind("http://", 0) != 0) return g->finish({"only http:// URLs are supported", 0, {}});
  rest.erase(0, 7);
  const size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = hostport, port = "80";
  if (const size_t close = hostport.find(']'); !hostport.empty() && hostport[0] == '[' && close != std::string::npos) {
    host = hostport.substr(1, close - 1);  // "[v6]:port": the resolver takes the bare address
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = hostport.substr(close + 2);
  } else if (const size_t colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  g->request = http::request<http::string_body>(http::string_to_verb(method), target, 11);
  if (g->request.method() == http::verb::unknown) return g->finish({"unknown method " + method, 0, {}});
  g->request.body() = std::move(body);
  g->request.prepare_payload();
  g->request.set(http::field::host, hostport);
  g->request.set(http::field::user_agent, "infergate");
  for (const auto& [name, value] : headers) g->request.set(name, value);
  g->request.keep_alive(false);
  g->parser.body_limit(kMaxBody);
  g->stream.expires_after(timeout);
  g->resolver.async_resolve(host, port, [g](beast::error_code ec, asio::ip::tcp::resolver::results_type results) {
    if (ec) return g->finish({"resolve: " + ec.message(), 0, {}});
    g->stream.async_connect(results, [g](beast::error_code ec, const asio::ip::tcp::endpoint&) {
      if (ec) return g->finish({"connect: " + ec.message(), 0, {}});
      http::async_write(g->stream, g->request, [g](beast::error_code ec, size_t) {
        if (ec) return g->finish({"write: " + ec.message(), 0, {}});
        http::async_read(g->stream, g->buffer, g->parser, [g](beast::error_code ec, size_t) {
          if (ec) return g->finish({"read: " + ec.message(), 0, {}});
          auto& res = g->parser.get();
          g->finish({"", static_cast<int>(res.result_int()), std::move(res.body())});
        });
      });
    });
  });
}

}  // namespace infergate::gateway
