#include "bench/modelsim/server.hpp"

#include <csignal>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "bench/modelsim/engine_driver.hpp"
#include "bench/modelsim/http1_connection.hpp"
#include "bench/modelsim/http2_connection.hpp"
#include "bench/modelsim/protocol_sniff.hpp"

namespace modelsim {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::vector<std::unique_ptr<asio::io_context>> make_contexts(unsigned n) {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (unsigned i = 0; i < std::max(1u, n); ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
  }
  return contexts;
}

// Reads until the first bytes tell HTTP/1.1 from the HTTP/2 preface, then hands the socket
// and what was read to the matching connection.
struct Sniffer : std::enable_shared_from_this<Sniffer> {
  Sniffer(ServerContext& ctx, tcp::socket socket) : ctx(ctx), socket(std::move(socket)) {}

  void read() {
    socket.async_read_some(buffer.prepare(4096),
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                             if (ec) return;  // the peer left before saying anything
                             self->buffer.commit(n);
                             self->decide();
                           });
  }

  void decide() {
    auto bytes = buffer.data();
    switch (sniff_protocol({static_cast<const char*>(bytes.data()), bytes.size()})) {
      case Protocol::kNeedMore:
        read();
        return;
      case Protocol::kHttp2:
        std::make_shared<Http2Connection>(ctx, std::move(socket), std::move(buffer))->start();
        return;
      case Protocol::kHttp1:
        std::make_shared<Http1Connection>(ctx, std::move(socket), std::move(buffer))->start();
        return;
    }
  }

  ServerContext& ctx;
  tcp::socket socket;
  boost::beast::flat_buffer buffer;
};

}  // namespace

Server::Server(Options options)
    : contexts_(make_contexts(options.threads)),
      acceptor_(*contexts_.front()),
      signals_(*contexts_.front(), SIGINT, SIGTERM) {
  const tcp::endpoint endpoint(asio::ip::make_address(options.address), options.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  options.port = port_;  // the bound one (--port 0 picks any): /echo reports it
  std::string instance = options.name.empty() ? "modelsim-" + std::to_string(port_) : options.name;
  ctx_ = std::make_unique<ServerContext>(std::move(options), std::move(instance));
  const Options& o = ctx_->options;
  if (o.engine) {
    EngineConfig config;
    config.max_num_seqs = o.max_num_seqs;
    config.max_num_batched_tokens = o.max_num_batched_tokens;
    config.kv_blocks = o.kv_blocks;
    config.block_size = o.block_size;
    config.enable_prefix_caching = o.enable_prefix_caching;
    config.max_loras = o.max_loras;
    config.cost.decode_base_ms = o.decode_base_ms;
    config.cost.decode_per_seq_ms = o.decode_per_seq_ms;
    config.cost.prefill_tokens_per_s = o.prefill_tokens_per_s;
    config.cost.lora_load_ms = o.lora_load_ms;
    // The step loop lives on the first io thread, next to the acceptor.
    ctx_->engine = std::make_unique<EngineDriver>(contexts_.front()->get_executor(), config, o.time_scale,
                                                  ctx_->stall_until_ns);
  }
}

void Server::run() {
  signals_.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) stop();
  });
  accept();
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& context : contexts_) guards.push_back(asio::make_work_guard(*context));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([context = contexts_[i].get()] { context->run(); });
  }
  contexts_.front()->run();
  for (auto& thread : threads) thread.join();
}

void Server::stop() {
  asio::post(*contexts_.front(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel(ignored);
    for (auto& context : contexts_) context->stop();
  });
}

void Server::accept() {
  auto& target = *contexts_[next_context_];
  next_context_ = (next_context_ + 1) % contexts_.size();
  acceptor_.async_accept(target, [this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) on_connection(std::move(socket));
    accept();  // transient errors (EMFILE, ECONNABORTED) must not stop the listener
  });
}

void Server::on_connection(tcp::socket socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  // The socket belongs to its io thread from here on.
  auto executor = socket.get_executor();
  asio::post(executor, [ctx = ctx_.get(), sniffer = std::make_shared<Sniffer>(*ctx_, std::move(socket))] {
    (void)ctx;
    sniffer->read();
  });
}

}  // namespace modelsim
