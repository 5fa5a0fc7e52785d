// The admin listener: a small HTTP/1.1 server on the control thread, Envoy's admin
// paths plus our own. Handlers are registered by method and path; the transport
// enforces limits (body size, header size, one request at a time per connection)
// and answers bad requests with JSON errors, never touching a worker.
//
// The same server, with other options, is the read-only stats listener (GET only, the
// scrape and probe paths copied from the admin one). Plaintext or TLS (tls/ contexts, the
// verified client principal handed to the handlers); who may do what is decided by the gate
// hook (AdminGate), not here.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace infergate::tls {
class ServerContext;
}

namespace infergate::gateway {

struct AdminRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // raw, without '?'
  std::string body;
  std::string accept;
  // Headers the gate looks at, as sent ("" = absent).
  std::string host, origin, sec_fetch_site, content_type, authorization, csrf_token;
  bool any_sec_fetch = false;      // some Sec-Fetch-* header: a browser sent this
  std::optional<uint64_t> content_length;  // as declared (absent for chunked)
  // The connection: "ip:port" of the peer, and the verified client certificate's principal
  // ("" without TLS or certificate).
  std::string peer;
  std::string principal;
  // Set by the gate: who passed authentication ("token NAME", "principal P"; "" = nobody had
  // to), and why it refused the request ("" = it did not).
  std::string token_name;
  std::string refusal;
  bool state_changing() const { return method != "GET" && method != "HEAD"; }
  // First value of a query parameter, percent-decoded; "" when absent.
  std::string param(std::string_view name) const;
  bool has_param(std::string_view name) const;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=UTF-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more response headers

  static AdminResponse text(std::string body, int status = 200);
  static AdminResponse json(std::string body, int status = 200);
  // {"error": message} with the status.
  static AdminResponse error(int status, std::string_view message);
};

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;
  // Runs before dispatch: nullopt lets the request through (it may fill token_name), a
  // response refuses it (the gate sets req.refusal).
  using Gate = std::function<std::optional<AdminResponse>(AdminRequest&)>;
  // Runs after every answer, refusals and transport errors (413) included.
  using Observer = std::function<void(const AdminRequest&, const AdminResponse&)>;

  struct Options {
    std::shared_ptr<const tls::ServerContext> tls;  // null = plaintext
    // The most body a request to `path` may carry; 413 beyond it.
    std::function<size_t(const std::string& path)> body_limit;
    Gate gate;
    Observer observer;
    // A TLS client refused at the handshake (no or bad certificate, not TLS): peer, reason.
    std::function<void(const std::string& peer, const std::string& why)> on_tls_failure;
  };

  explicit AdminServer(boost::asio::io_context& io);
  ~AdminServer();

  // Before listen().
  void set_options(Options options) { options_ = std::move(options); }
  const Options& options() const { return options_; }

  // `methods`: "GET", "POST" or "GET,POST". A path registered for GET also answers HEAD.
  void add(std::string path, std::string methods, std::string help, Handler handler);
  // Registers `other`'s GET handlers of `paths` here, GET only (the stats listener's).
  void add_read_only(const AdminServer& other, const std::vector<std::string>& paths);
  bool has(const std::string& path) const { return routes_.count(path) != 0; }
  // Binds and starts accepting; throws boost::system::system_error on failure.
  void listen(const std::string& address, uint16_t port);
  void close();
  uint16_t port() const;

  AdminResponse dispatch(const AdminRequest& req) const;

 private:
  struct Route {
    std::string methods;
    std::string help;
    Handler handler;
  };
  void accept();
  AdminResponse help_page() const;
  AdminResponse home_page() const;  // "/" for a browser (Accept: text/html)

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::map<std::string, Route> routes_;
  Options options_;
};

}  // namespace infergate::gateway
