#include "gateway/admin_server.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

namespace infergate::gateway {

namespace http = boost::beast::http;

namespace {

constexpr size_t kMaxAdminBody = 8 * 1024 * 1024;  // manifests posted to /config
constexpr auto kAdminTimeout = std::chrono::seconds(30);

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(boost::asio::ip::tcp::socket socket, const AdminServer& server)
      : stream_(std::move(socket)), server_(server) {}

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kMaxAdminBody);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(kAdminTimeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](boost::beast::error_code ec, size_t) {
      self->on_read(ec);
    });
  }

  void on_read(boost::beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == boost::asio::error::eof) return close();
    if (ec) {
      if (ec == http::error::body_limit) return reply(AdminResponse::error(413, "request body too large"), false, 11);
      if (ec == http::error::header_limit) return reply(AdminResponse::error(431, "request headers too large"), false, 11);
      if (ec == boost::beast::error::timeout || ec == boost::asio::error::operation_aborted) return close();
      return reply(AdminResponse::error(400, "malformed HTTP request: " + ec.message()), false, 11);
    }
    auto& msg = parser_->get();
    AdminRequest req;
    req.method = std::string(msg.method_string());
    std::string_view target = msg.target();
    size_t q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    req.body = std::move(msg.body());
    if (auto it = msg.find(http::field::accept); it != msg.end()) req.accept = std::string(it->value());
    AdminResponse resp;
    try {
      resp = server_.dispatch(req);
    } catch (const std::exception& e) {
      resp = AdminResponse::error(500, std::string("internal error: ") + e.what());
    }
    const bool head = req.method == "HEAD";
    if (head) resp.body.clear();
    reply(std::move(resp), msg.keep_alive(), msg.version());
  }

  void reply(AdminResponse resp, bool keep_alive, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version);
    res->result(static_cast<unsigned>(resp.status));
    res->set(http::field::content_type, resp.content_type);
    res->set(http::field::server, "infergate");
    res->set("cache-control", "no-cache, max-age=0");
    res->set("x-content-type-options", "nosniff");
    res->body() = std::move(resp.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(kAdminTimeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](boost::beast::error_code ec, size_t) {
      if (ec || !keep_alive) return self->close();
      self->read();
    });
  }

  void close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const AdminServer& server_;
};

}  // namespace

std::string AdminRequest::param(std::string_view name) const {
  std::string_view q = query;
  size_t start = 0;
  while (start <= q.size()) {
    size_t end = q.find('&', start);
    if (end == std::string_view::npos) end = q.size();
    std::string_view kv = q.substr(start, end - start);
    size_t eq = kv.find('=');
    if (percent_decode(kv.substr(0, eq)) == name)
      return eq == std::string_view::npos ? std::string() : percent_decode(kv.substr(eq + 1));
    start = end + 1;
  }
  return {};
}

bool AdminRequest::has_param(std::string_view name) const {
  std::string_view q = query;
  size_t start = 0;
  while (start < q.size()) {
    size_t end = q.find('&', start);
    if (end == std::string_view::npos) end = q.size();
    std::string_view kv = q.substr(start, end - start);
    if (percent_decode(kv.substr(0, kv.find('='))) == name) return true;
    start = end + 1;
  }
  return false;
}

AdminResponse AdminResponse::text(std::string body, int status) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

AdminResponse AdminResponse::json(std::string body, int status) {
  AdminResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

AdminResponse AdminResponse::error(int status, std::string_view message) {
  nlohmann::json j = {{"error", std::string(message)}};
  return json(j.dump() + "\n", status);
}

AdminServer::AdminServer(boost::asio::io_context& io) : io_(io), acceptor_(io) {}

AdminServer::~AdminServer() { close(); }

void AdminServer::add(std::string path, std::string methods, std::string help, Handler handler) {
  routes_[std::move(path)] = Route{std::move(methods), std::move(help), std::move(handler)};
}

void AdminServer::listen(const std::string& address, uint16_t port) {
  boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(address), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  accept();
}

uint16_t AdminServer::port() const {
  boost::system::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void AdminServer::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void AdminServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (!ec) std::make_shared<AdminSession>(std::move(socket), *this)->start();
    accept();
  });
}

AdminResponse AdminServer::dispatch(const AdminRequest& req) const {
  if (req.path == "/" || req.path == "/help") return help_page();
  auto it = routes_.find(req.path);
  if (it == routes_.end()) return AdminResponse::error(404, "no admin endpoint " + req.path + "; GET /help lists them");
  const std::string& m = it->second.methods;
  std::string method = req.method == "HEAD" ? "GET" : req.method;
  bool allowed = false;
  size_t start = 0;
  while (start <= m.size()) {
    size_t end = m.find(',', start);
    if (end == std::string::npos) end = m.size();
    if (m.compare(start, end - start, method) == 0) allowed = true;
    start = end + 1;
  }
  if (!allowed) return AdminResponse::error(405, req.path + " takes " + m + ", not " + req.method);
  return it->second.handler(req);
}

AdminResponse AdminServer::help_page() const {
  std::string out = "admin commands are:\n";
  for (const auto& [path, r] : routes_) {
    out += "  " + path + " (" + r.methods + "): " + r.help + "\n";
  }
  return AdminResponse::text(std::move(out));
}

}  // namespace infergate::gateway
