// The admin listener: a small HTTP/1.1 server on the control thread, Envoy's admin
// paths plus our own. Handlers are registered by method and path; the transport
// enforces limits (body size, header size, one request at a time per connection)
// and answers bad requests with JSON errors, never touching a worker.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace infergate::gateway {

struct AdminRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // raw, without '?'
  std::string body;
  std::string accept;
  // First value of a query parameter, percent-decoded; "" when absent.
  std::string param(std::string_view name) const;
  bool has_param(std::string_view name) const;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=UTF-8";
  std::string body;

  static AdminResponse text(std::string body, int status = 200);
  static AdminResponse json(std::string body, int status = 200);
  // {"error": message} with the status.
  static AdminResponse error(int status, std::string_view message);
};

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  explicit AdminServer(boost::asio::io_context& io);
  ~AdminServer();

  // `methods`: "GET", "POST" or "GET,POST". A path registered for GET also answers HEAD.
  void add(std::string path, std::string methods, std::string help, Handler handler);
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

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::map<std::string, Route> routes_;
};

}  // namespace infergate::gateway
