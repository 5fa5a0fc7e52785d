#include <deque>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "tests/kube/server_impl.h"

namespace infergate::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;
using kube::EventPtr;

template <class Stream>
class Session : public kube::Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  explicit Session(TestApiServer::Impl& server, Args&&... args)
      : server_(server), stream_(std::forward<Args>(args)...), bookmark_timer_(server.ioc), timeout_timer_(server.ioc) {}

  ~Session() override {
    server_.connections.erase(this);
    if (server_.watchers.erase(this) != 0) --server_.watches;
  }

  void start() {
    server_.connections[this] = this->weak_from_this();
    if constexpr (kTls) {
      stream_.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec || self->closed_) return self->close();
        self->read_request();
      });
    } else {
      read_request();
    }
  }

  // Idempotent. A completion that was already queued when the connection closed (a read that
  // finished from the buffer, a write) still arrives, with success: every handler checks
  // closed_, or a closed session would serve a watch whose timers keep the server busy forever.
  void close() override {
    unregister_watch();
    bookmark_timer_.cancel();
    timeout_timer_.cancel();
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).socket().close(ec);
    server_.connections.erase(this);
  }

  void end_watch() override {
    if (!watching_ || closed_) return;
    unregister_watch();
    bookmark_timer_.cancel();
    timeout_timer_.cancel();
    send("0\r\n\r\n");
    close_after_write_ = true;
  }

  void deliver(const EventPtr& e) override {
    if (!watching_ || e->rv <= seen_rv_) return;
    seen_rv_ = e->rv;
    if (auto seen = kube::filter_event(watch_.filter, *e)) send_event(seen->first, seen->second);
  }

 private:
  void read_request() {
    parser_.emplace();
    parser_->body_limit(64 * 1024 * 1024);
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec || self->closed_) return self->close();
      self->handle(self->parser_->release());
    });
  }

  void handle(http::request<http::string_body> msg) {
    kube::HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    kube::parse_target(req.target, req.path, req.query);
    req.content_type = std::string(msg[http::field::content_type]);
    req.accept = std::string(msg[http::field::accept]);
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    const std::string line = req.method + " " + req.target;
    const bool health = req.path == "/healthz" || req.path == "/readyz" || req.path == "/livez";
    if (!health && !server_.authorized(std::string(msg[http::field::authorization]))) {
      server_.account("", line);
      return respond(kube::json_response(401, kube::status_error(401, "Unauthorized", "Unauthorized")));
    }
    kube::Routed r = kube::route(server_.store, req, "127.0.0.1:" + std::to_string(server_.port));
    server_.account(r.verb, line);
    if (r.watch) return start_watch(std::move(*r.watch));
    respond(*r.response);
  }

  void respond(const kube::HttpResponse& res) {
    std::string out = "HTTP/1.1 " + std::to_string(res.code) + " " +
                      std::string(http::obsolete_reason(static_cast<http::status>(res.code))) + "\r\n";
    out += "Content-Type: " + res.content_type + "\r\nCache-Control: no-cache, private\r\n";
    out += "Content-Length: " + std::to_string(res.body.size()) + "\r\n";
    if (!keep_alive_) out += "Connection: close\r\n";
    out += "\r\n" + res.body;
    send(std::move(out));
    if (keep_alive_) {
      read_after_write_ = true;
    } else {
      close_after_write_ = true;
    }
  }

  void start_watch(kube::WatchRequest w) {
    watch_ = std::move(w);
    kube::WatchStart s = server_.store.start_watch(watch_.filter, watch_.send_initial_events ? "" : watch_.resource_version,
                                                   [this](uint64_t rv) {
                                                     seen_rv_ = rv;
                                                     watching_ = true;
                                                     server_.watchers[this] = this->weak_from_this();
                                                     ++server_.watches;
                                                   });
    if (s.error.code == 400) return respond(kube::json_response(s.error.code, s.error.body));
    send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\n"
         "Transfer-Encoding: chunked\r\n\r\n");
    if (s.error.code != 0) {
      // A watch is answered 200 before the server knows the resourceVersion is gone; the
      // 410 comes as an ERROR event, which is what client-go's reflector looks for.
      watching_ = true;
      send_event("ERROR", s.error.body);
      send("0\r\n\r\n");
      close_after_write_ = true;
      watching_ = false;
      return;
    }
    for (auto& [type, obj] : s.initial) send_event(type, obj);
    if (watch_.send_initial_events) send_bookmark(true);
    if (watch_.bookmarks) arm_bookmark();
    if (watch_.timeout_seconds > 0) {
      timeout_timer_.expires_after(std::chrono::seconds(watch_.timeout_seconds));
      timeout_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
        if (!ec && !self->closed_) self->end_watch();
      });
    }
    watch_for_close();
  }

  // Nothing more is read while a watch streams; a read that fails tells us the client left.
  void watch_for_close() {
    beast::get_lowest_layer(stream_).socket().async_read_some(
        net::buffer(sink_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
          if (ec || self->closed_) return self->close();
          if (self->watching_) self->watch_for_close();
        });
  }

  void arm_bookmark() {
    bookmark_timer_.expires_after(server_.opts.bookmark_interval);
    bookmark_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || !self->watching_ || self->closed_) return;
      self->send_bookmark(false);
      self->arm_bookmark();
    });
  }

  void send_bookmark(bool initial_events_end) {
    json meta = {{"resourceVersion", std::to_string(seen_rv_)}};
    if (initial_events_end) meta["annotations"] = {{"k8s.io/initial-events-end", "true"}};
    send_event("BOOKMARK", {{"kind", watch_.filter.kind->kind}, {"apiVersion", watch_.api_version}, {"metadata", meta}});
  }

  void send_event(const std::string& type, const json& object) {
    const std::string line = json{{"type", type}, {"object", object}}.dump() + "\n";
    char size[20];
    std::snprintf(size, sizeof size, "%zx\r\n", line.size());
    send(size + line + "\r\n");
  }

  void unregister_watch() {
    if (!watching_) return;
    watching_ = false;
    if (server_.watchers.erase(this) != 0) --server_.watches;
  }

  void send(std::string data) {
    if (closed_) return;
    out_.push_back(std::move(data));
    if (out_.size() == 1) write_next();
  }

  void write_next() {
    net::async_write(stream_, net::buffer(out_.front()), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec || self->closed_) return self->close();
      self->out_.pop_front();
      if (!self->out_.empty()) return self->write_next();
      if (self->close_after_write_) return self->close();
      if (self->read_after_write_) {
        self->read_after_write_ = false;
        self->read_request();
      }
    });
  }

  TestApiServer::Impl& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> out_;
  net::steady_timer bookmark_timer_, timeout_timer_;
  char sink_[512];
  kube::WatchRequest watch_;
  uint64_t seen_rv_ = 0;
  bool keep_alive_ = true, watching_ = false, closed_ = false;
  bool close_after_write_ = false, read_after_write_ = false;
};

}  // namespace

void serve_connection(TestApiServer::Impl& server, net::ip::tcp::socket socket) {
  if (server.tls) {
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(server, std::move(socket), *server.tls)->start();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(server, std::move(socket))->start();
  }
}

}  // namespace infergate::testing
