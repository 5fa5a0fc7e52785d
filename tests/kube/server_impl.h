// TestApiServer::Impl: the io thread, the listener, the connections and the watches. Every
// member marked "io thread" is touched only there; the rest is under a mutex.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "tests/kube/api_server.h"
#include "tests/kube/handler.h"
#include "tests/kube/store.h"

namespace infergate::testing {

namespace kube {
// One client connection; a watch turns it into a stream of events until it ends.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void close() = 0;                       // abruptly, as a dying server does
  virtual void end_watch() = 0;                   // the last chunk, then close
  virtual void deliver(const EventPtr& e) = 0;    // a live event, in resourceVersion order
};
}  // namespace kube

struct TestApiServer::Impl {
  explicit Impl(ApiServerOptions o);
  ~Impl();

  // Runs fn on the io thread and waits for it.
  void run_sync(const std::function<void()>& fn);
  void open_listener();  // io thread
  void accept();          // io thread
  void close_all();       // io thread

  // Request accounting and auth, from the io thread, read by tests.
  bool authorized(const std::string& authorization_header);
  void account(const std::string& verb, const std::string& line);

  ApiServerOptions opts;
  kube::Store store;
  std::string scheme;
  uint16_t port = 0;

  mutable std::mutex mu;  // guards the next four
  std::vector<std::string> tokens;
  std::map<std::string, uint64_t> counts;
  std::vector<std::string> log;
  std::atomic<uint64_t> watches{0};

  // io thread. Declared before the io_context so that connections the context still owns
  // when it is destroyed can unregister themselves.
  std::map<kube::Connection*, std::weak_ptr<kube::Connection>> connections;
  std::map<kube::Connection*, std::weak_ptr<kube::Connection>> watchers;

  boost::asio::io_context ioc;
  std::optional<boost::asio::ssl::context> tls;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor;  // io thread
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::thread thread;
};

// Starts serving one accepted socket (connection.cc).
void serve_connection(TestApiServer::Impl& server, boost::asio::ip::tcp::socket socket);

}  // namespace infergate::testing
