// A worker: one thread, one io_context, its own SO_REUSEPORT acceptors, its own
// upstream pools and metric shard. A connection lives on the worker that accepted it.
// The control thread talks to a worker only by posting to its io_context.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/net/listener_info.h"
#include "gateway/net/server_connection.h"
#include "gateway/net/worker_context.h"
#include "gateway/net/worker_options.h"

namespace infergate::gateway {

class Worker final : public ConnectionOwner {
 public:
  Worker(unsigned index, const WorkerOptions& opts, const ProxyStats& stats, const SecurityStats& security,
         metrics::AccessLog* log);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens this worker's acceptor on `ep` (SO_REUSEPORT, so every worker binds the same
  // port and the kernel spreads connections). Control thread, before start().
  // Throws boost::system::system_error when the address cannot be bound.
  void listen(const boost::asio::ip::tcp::endpoint& ep, std::shared_ptr<const ListenerInfo> info);
  void start();
  // Thread-safe: the next requests on this worker use `snapshot`.
  void publish(std::shared_ptr<const Snapshot> snapshot);
  // Thread-safe: close the acceptors and drain every connection gracefully.
  void drain();
  // Thread-safe: stop now (after drain, or on a forced exit) and join the thread.
  void stop();

  size_t connections() const { return connection_count_.load(std::memory_order_relaxed); }

  // ConnectionOwner
  WorkerContext& context() override { return ctx_; }
  const WorkerOptions& options() const override { return opts_; }
  void remove_connection(ServerConnection* c) override;

 private:
  struct Acceptor {
    boost::asio::ip::tcp::acceptor acceptor;
    std::shared_ptr<const ListenerInfo> info;
    boost::asio::steady_timer retry;
  };
  void accept(Acceptor& a);

  unsigned index_;
  WorkerOptions opts_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  WorkerContext ctx_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::unordered_map<ServerConnection*, std::weak_ptr<ServerConnection>> connections_;
  std::atomic<size_t> connection_count_{0};
  std::thread thread_;
  bool draining_ = false;
};

}  // namespace infergate::gateway
