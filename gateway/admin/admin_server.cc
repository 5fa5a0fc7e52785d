#include "gateway/admin/admin_server.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <sstream>

#include "tls/session.h"

namespace infergate::gateway {

namespace http = boost::beast::http;

namespace {

// The most any admin body may be (spec.admin.limits.maxConfigBodyBytes can go this high); each
// request gets its own limit once its path is known.
constexpr size_t kMaxAdminBody = 64 * 1024 * 1024;
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

// One admin connection: bytes from the socket (decrypted when TLS), fed to Beast's parser
// by hand so that the body limit can depend on the path and plaintext and TLS share one
// path; one request at a time, answers written whole.
class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(boost::asio::ip::tcp::socket socket, const AdminServer& server)
      : stream_(std::move(socket)), server_(server) {
    boost::system::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      peer_ = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
      peer_ += ":" + std::to_string(ep.port());
    }
    if (server.options().tls) tls_ = tls::Session::server(server.options().tls);
  }

  void start() {
    new_request();
    read();
  }

 private:
  void new_request() {
    parser_.emplace();
    parser_->body_limit(kMaxAdminBody);
    parser_->header_limit(64 * 1024);
    header_checked_ = false;
    limit_ = kMaxAdminBody;
  }

  void read() {
    stream_.expires_after(kAdminTimeout);
    stream_.async_read_some(boost::asio::buffer(rbuf_), [self = shared_from_this()](boost::beast::error_code ec, size_t n) {
      self->on_bytes(ec, n);
    });
  }

  void on_bytes(boost::beast::error_code ec, size_t n) {
    if (ec) {
      if (tls_ && !tls_->established()) tls_->fail(tls::HandshakeError::Closed, ec.message());
      return close();
    }
    if (tls_) {
      std::string plain;
      const bool ok = tls_->receive(std::string_view(rbuf_.data(), n), plain);
      in_ += plain;
      if (!ok) {
        if (server_.options().on_tls_failure)
          server_.options().on_tls_failure(peer_, std::string(tls::handshake_error_name(tls_->error())) + ": " +
                                                      tls_->error_detail());
        return flush([self = shared_from_this()] { self->close(); });
      }
      if (tls_->peer_closed()) return close();
      if (tls_->has_output()) return flush([self = shared_from_this()] { self->parse(); });
    } else {
      in_.append(rbuf_.data(), n);
    }
    parse();
  }

  // Writes whatever TLS has for the peer (handshake flights, alerts), then `next`.
  void flush(std::function<void()> next) {
    if (!tls_ || !tls_->has_output()) return next();
    auto out = std::make_shared<std::string>();
    tls_->take_output(*out);
    stream_.expires_after(kAdminTimeout);
    boost::asio::async_write(stream_, boost::asio::buffer(*out),
                             [self = shared_from_this(), out, next = std::move(next)](boost::beast::error_code ec, size_t) {
                               if (ec) return self->close();
                               next();
                             });
  }

  void parse() {
    while (!in_.empty()) {
      boost::beast::error_code ec;
      const size_t used = parser_->put(boost::asio::buffer(in_), ec);
      in_.erase(0, used);
      if (ec == http::error::need_more) {
        if (used == 0) break;
        continue;
      }
      if (ec) return transport_error(ec);
      if (parser_->is_header_done() && !header_checked_) {
        header_checked_ = true;
        limit_ = limit_for(std::string(path_of(parser_->get().target())));
        parser_->body_limit(static_cast<std::uint64_t>(limit_));
        if (auto len = parser_->content_length(); len && *len > limit_) return too_large(limit_);
      }
      if (parser_->is_done()) return on_request();
      if (used == 0) break;
    }
    read();
  }

  static std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

  size_t limit_for(const std::string& path) const {
    const auto& f = server_.options().body_limit;
    return f ? std::min(f(path), kMaxAdminBody) : kMaxAdminBody;
  }

  AdminRequest request_from_header() const {
    const auto& msg = parser_->get();
    AdminRequest req;
    req.method = std::string(msg.method_string());
    std::string_view target = msg.target();
    size_t q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    auto field = [&](auto name) {
      auto it = msg.find(name);
      return it == msg.end() ? std::string() : std::string(it->value());
    };
    req.accept = field(http::field::accept);
    req.host = field(http::field::host);
    req.origin = field(http::field::origin);
    req.content_type = field(http::field::content_type);
    req.authorization = field(http::field::authorization);
    req.sec_fetch_site = field("sec-fetch-site");
    req.csrf_token = field("x-csrf-token");
    for (const auto& f : msg) {
      std::string_view n = f.name_string();
      if (n.size() >= 10 && boost::beast::iequals(n.substr(0, 10), "sec-fetch-")) req.any_sec_fetch = true;
    }
    if (auto len = parser_->content_length()) req.content_length = *len;
    req.peer = peer_;
    if (tls_ && tls_->peer()) req.principal = tls_->peer()->principal;
    return req;
  }

  void too_large(size_t limit) {
    AdminRequest req = request_from_header();
    req.refusal = "body_too_large";
    AdminResponse resp = AdminResponse::error(
        413, "request body too large: " + req.path + " takes at most " + std::to_string(limit) + " bytes");
    if (server_.options().observer) server_.options().observer(req, resp);
    reply(std::move(resp), false, parser_->get().version());
  }

  void transport_error(boost::beast::error_code ec) {
    if (ec == http::error::body_limit) return too_large(limit_);
    if (ec == http::error::header_limit)
      return reply(AdminResponse::error(431, "request headers too large"), false, 11);
    return reply(AdminResponse::error(400, "malformed HTTP request: " + ec.message()), false, 11);
  }

  void on_request() {
    auto& msg = parser_->get();
    AdminRequest req = request_from_header();
    req.body = std::move(msg.body());
    AdminResponse resp;
    try {
      std::optional<AdminResponse> refused;
      if (server_.options().gate) refused = server_.options().gate(req);
      resp = refused ? std::move(*refused) : server_.dispatch(req);
    } catch (const std::exception& e) {
      resp = AdminResponse::error(500, std::string("internal error: ") + e.what());
    }
    if (server_.options().observer) server_.options().observer(req, resp);
    if (req.method == "HEAD") resp.body.clear();
    reply(std::move(resp), msg.keep_alive(), msg.version());
  }

  void reply(AdminResponse resp, bool keep_alive, unsigned version) {
    http::response<http::string_body> res;
    res.version(version);
    res.result(static_cast<unsigned>(resp.status));
    res.set(http::field::content_type, resp.content_type);
    res.set(http::field::server, "infergate");
    res.set("cache-control", "no-cache, max-age=0");
    res.set("x-content-type-options", "nosniff");
    for (const auto& [k, v] : resp.headers) res.insert(k, v);
    res.body() = std::move(resp.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    std::ostringstream os;
    os << res;
    auto out = std::make_shared<std::string>(std::move(os).str());
    if (tls_) {
      tls_->send(*out);
      if (!keep_alive) tls_->close();
      out->clear();
      tls_->take_output(*out);
    }
    stream_.expires_after(kAdminTimeout);
    boost::asio::async_write(stream_, boost::asio::buffer(*out),
                             [self = shared_from_this(), out, keep_alive](boost::beast::error_code ec, size_t) {
                               if (ec || !keep_alive) return self->close();
                               self->new_request();
                               self->parse();
                             });
  }

  void close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  boost::beast::tcp_stream stream_;
  const AdminServer& server_;
  std::unique_ptr<tls::Session> tls_;
  std::string peer_;
  std::array<char, 16 * 1024> rbuf_;
  std::string in_;  // plaintext the parser has not taken yet
  std::optional<http::request_parser<http::string_body>> parser_;
  bool header_checked_ = false;
  size_t limit_ = kMaxAdminBody;  // this request's body limit
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

void AdminServer::add_read_only(const AdminServer& other, const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    auto it = other.routes_.find(p);
    if (it == other.routes_.end()) continue;
    routes_[p] = Route{"GET", it->second.help, it->second.handler};
  }
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
  if (req.path == "/" && req.accept.find("text/html") != std::string::npos) return home_page();
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
  if (req.state_changing()) return it->second.handler(req);
  // A read reaches its handler only as a body-less GET: HEAD runs the GET handler (the session
  // drops what it answers), and a body sent with either is dropped, so no handler can take a
  // read that the gate let through as read-only for a change.
  AdminRequest read = req;
  read.method = "GET";
  read.body.clear();
  return it->second.handler(read);
}

namespace {

std::string html_escape(std::string_view in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

// A browser's admin home: Envoy's list of endpoints as links, the console first.
AdminResponse AdminServer::home_page() const {
  std::string out =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>infergate admin</title>"
      "<meta name=\"color-scheme\" content=\"light dark\"></head><body><h1>infergate admin</h1>";
  if (routes_.count("/console")) out += "<p><a href=\"/console\"><strong>Canary console</strong></a></p>";
  out += "<table><tbody>";
  for (const auto& [path, r] : routes_) {
    if (path.starts_with("/console/")) continue;
    const std::string p = html_escape(path);
    out += "<tr><td>";
    out += r.methods.find("GET") != std::string::npos ? "<a href=\"" + p + "\">" + p + "</a>" : p;
    out += "</td><td>" + html_escape(r.methods) + "</td><td>" + html_escape(r.help) + "</td></tr>";
  }
  out += "</tbody></table></body></html>\n";
  AdminResponse resp = AdminResponse::text(std::move(out));
  resp.content_type = "text/html; charset=utf-8";
  resp.headers.emplace_back("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  return resp;
}

AdminResponse AdminServer::help_page() const {
  std::string out = "admin commands are:\n";
  for (const auto& [path, r] : routes_) {
    out += "  " + path + " (" + r.methods + "): " + r.help + "\n";
  }
  return AdminResponse::text(std::move(out));
}

}  // namespace infergate::gateway
