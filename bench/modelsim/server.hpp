// The listening side: one acceptor, N io threads (one io_context each) taking connections
// round-robin, protocol sniffing, and a graceful stop on SIGTERM/SIGINT.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include "bench/modelsim/server_context.hpp"

namespace modelsim {

class Server {
 public:
  // Binds and listens at once; throws boost::system::system_error when it cannot.
  explicit Server(Options options);

  std::uint16_t port() const { return port_; }
  const ServerContext& context() const { return *ctx_; }

  // Serves until SIGTERM/SIGINT or stop(); returns once every io thread has ended.
  void run();
  void stop();

 private:
  void accept();
  void on_connection(boost::asio::ip::tcp::socket socket);

  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::signal_set signals_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ServerContext> ctx_;
  std::size_t next_context_ = 0;
};

}  // namespace modelsim
