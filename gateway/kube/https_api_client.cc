#include "gateway/kube/https_api_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>

#include <optional>

#include "tls/context_util.h"

namespace infergate::gateway::kube {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint64_t kMaxBody = 256u << 20;  // a full list of 5,000 pods is tens of MB
constexpr auto kRequestTimeout = std::chrono::seconds(30);
// Longer than any watch's timeoutSeconds plus the bookmark interval: a watch silent for
// this long lost its connection without a FIN.
constexpr auto kWatchIdle = std::chrono::seconds(660);

ApiResponse failure(std::string why) {
  ApiResponse r;
  r.error = std::move(why);
  return r;
}

ApiResponse answer(int status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

struct Shared {
  asio::io_context& io;
  ClusterAccess access;
  std::optional<asio::ssl::context> ssl;
};

// One HTTP exchange on its own connection; `Watching` streams the body line by line.
struct Exchange : std::enable_shared_from_this<Exchange> {
  Exchange(std::shared_ptr<Shared> s) : shared(std::move(s)), resolver(shared->io) {
    if (shared->access.tls) tls.emplace(shared->io, *shared->ssl);
    else plain.emplace(shared->io);
  }

  std::shared_ptr<Shared> shared;
  tcp::resolver resolver;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<beast::tcp_stream> plain;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  std::optional<http::response_parser<http::string_body>> parser;
  ApiClient::Done done;
  // Watch only.
  std::function<void(std::string_view)> on_event;
  std::string line;
  bool watching = false;
  bool cancelled = false;

  beast::tcp_stream& tcp_layer() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  void finish(ApiResponse r) {
    beast::error_code ignored;
    tcp_layer().socket().close(ignored);
    if (done && !cancelled) std::exchange(done, nullptr)(std::move(r));
    done = nullptr;
    on_event = nullptr;
  }

  void start() {
    auto self = shared_from_this();
    tcp_layer().expires_after(kRequestTimeout);
    resolver.async_resolve(shared->access.host, std::to_string(shared->access.port),
                           [self](beast::error_code ec, tcp::resolver::results_type results) {
                             if (self->cancelled) return;
                             if (ec) return self->finish(failure("resolve " + self->shared->access.host + ": " + ec.message()));
                             self->tcp_layer().async_connect(results, [self](beast::error_code ec, const tcp::endpoint&) {
                               if (self->cancelled) return;
                               if (ec) return self->finish(failure("connect " + self->shared->access.describe() + ": " + ec.message()));
                               self->handshake();
                             });
                           });
  }

  void handshake() {
    if (!tls) return write();
    SSL* ssl = tls->native_handle();
    const std::string& name = shared->access.server_name;
    beast::error_code ec;
    asio::ip::make_address(name, ec);
    if (ec) SSL_set_tlsext_host_name(ssl, name.c_str());
    if (!shared->access.insecure_skip_verify) {
      // An IP literal is checked against the IP SANs, a name against the DNS SANs.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (!ec) X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      else X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    }
    auto self = shared_from_this();
    tls->async_handshake(asio::ssl::stream_base::client, [self](beast::error_code ec) {
      if (self->cancelled) return;
      if (ec) return self->finish(failure("TLS handshake with " + self->shared->access.describe() + ": " + ec.message()));
      self->write();
    });
  }

  template <class F>
  void with_stream(F&& f) {
    if (tls) f(*tls);
    else f(*plain);
  }

  void write() {
    auto self = shared_from_this();
    with_stream([&](auto& s) {
      http::async_write(s, request, [self](beast::error_code ec, size_t) {
        if (self->cancelled) return;
        if (ec) return self->finish(failure("write: " + ec.message()));
        self->read_header();
      });
    });
  }

  void read_header() {
    parser.emplace();
    parser->body_limit(watching ? std::numeric_limits<uint64_t>::max() : kMaxBody);
    auto self = shared_from_this();
    with_stream([&](auto& s) {
      http::async_read_header(s, buffer, *parser, [self](beast::error_code ec, size_t) {
        if (self->cancelled) return;
        if (ec) return self->finish(failure("read: " + ec.message()));
        const int status = static_cast<int>(self->parser->get().result_int());
        if (self->watching && status == 200) {
          self->tcp_layer().expires_after(kWatchIdle);
          return self->read_stream();
        }
        self->read_rest(status);
      });
    });
  }

  void read_rest(int status) {
    auto self = shared_from_this();
    with_stream([&](auto& s) {
      http::async_read(s, buffer, *parser, [self, status](beast::error_code ec, size_t) {
        if (self->cancelled) return;
        if (ec) return self->finish(failure("read: " + ec.message()));
        self->finish(answer(status, std::move(self->parser->get().body())));
      });
    });
  }

  // The body of a watch: chunks (or an unframed body) split into lines as they arrive.
  void read_stream() {
    auto self = shared_from_this();
    with_stream([&](auto& s) {
      http::async_read_some(s, buffer, *parser, [self](beast::error_code ec, size_t) {
        if (self->cancelled) return;
        self->drain_body();
        if (self->cancelled) return;
        if (ec == http::error::end_of_stream || (!ec && self->parser->is_done()))
          return self->finish(answer(200, {}));
        if (ec) return self->finish(failure("watch: " + ec.message()));
        self->tcp_layer().expires_after(kWatchIdle);
        self->read_stream();
      });
    });
  }

  void drain_body() {
    std::string& body = parser->get().body();
    if (body.empty()) return;
    line += body;
    body.clear();
    size_t start = 0;
    for (size_t nl; (nl = line.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view one(line.data() + start, nl - start);
      if (!one.empty() && on_event) on_event(one);
      if (cancelled) return;
    }
    line.erase(0, start);
  }
};

class Handle : public WatchHandle {
 public:
  explicit Handle(std::shared_ptr<Exchange> e) : e_(std::move(e)) {}
  ~Handle() override { cancel(); }
  void cancel() override {
    if (!e_) return;
    auto e = std::move(e_);
    e->cancelled = true;
    e->done = nullptr;
    e->on_event = nullptr;
    beast::error_code ignored;
    e->resolver.cancel();
    e->tcp_layer().socket().close(ignored);
  }

 private:
  std::shared_ptr<Exchange> e_;
};

class HttpsApiClient : public ApiClient {
 public:
  explicit HttpsApiClient(std::shared_ptr<Shared> s) : shared_(std::move(s)) {}

  void request(std::string_view method, std::string target, std::string body, std::string content_type,
               Done done) override {
    auto e = prepare(method, std::move(target), std::move(body), content_type);
    e->done = std::move(done);
    e->start();
  }

  std::unique_ptr<WatchHandle> watch(std::string target, std::function<void(std::string_view)> on_event,
                                     Done on_end) override {
    auto e = prepare("GET", std::move(target), {}, {});
    e->watching = true;
    e->on_event = std::move(on_event);
    e->done = std::move(on_end);
    e->start();
    return std::make_unique<Handle>(e);
  }

 private:
  std::shared_ptr<Exchange> prepare(std::string_view method, std::string target, std::string body,
                                    const std::string& content_type) {
    auto e = std::make_shared<Exchange>(shared_);
    auto& r = e->request;
    r.method(http::string_to_verb(method));
    r.target(target);
    r.version(11);
    r.set(http::field::host, shared_->access.host + ":" + std::to_string(shared_->access.port));
    r.set(http::field::user_agent, "infergate");
    r.set(http::field::accept, "application/json");
    if (std::string auth = shared_->access.authorization(); !auth.empty()) r.set(http::field::authorization, auth);
    if (!content_type.empty()) r.set(http::field::content_type, content_type);
    r.keep_alive(false);
    r.body() = std::move(body);
    if (!r.body().empty() || method == "POST" || method == "PUT" || method == "PATCH") r.prepare_payload();
    return e;
  }

  std::shared_ptr<Shared> shared_;
};

}  // namespace

std::unique_ptr<ApiClient> make_https_api_client(asio::io_context& io, ClusterAccess access, std::string* error) {
  auto shared = std::make_shared<Shared>(Shared{io, std::move(access), std::nullopt});
  if (shared->access.tls) {
    shared->ssl.emplace(asio::ssl::context::tls_client);
    SSL_CTX* ctx = shared->ssl->native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    const ClusterAccess& a = shared->access;
    if (a.insecure_skip_verify) {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    } else {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      if (!a.ca_pem.empty()) {
        if (!tls::detail::use_trust(ctx, tls::PemSource{a.ca_pem, "the API server CA"}, tls::PemSource{}, error)) return nullptr;
      } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        *error = "cannot load the system CA roots: " + tls::detail::openssl_errors();
        return nullptr;
      }
    }
    if (!a.client_cert_pem.empty() &&
        !tls::detail::use_certificate(ctx, tls::PemSource{a.client_cert_pem, "the kubeconfig client certificate"},
                              tls::PemSource{a.client_key_pem, "the kubeconfig client key"}, error))
      return nullptr;
  }
  return std::make_unique<HttpsApiClient>(std::move(shared));
}

}  // namespace infergate::gateway::kube
