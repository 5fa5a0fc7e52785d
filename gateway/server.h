// The process: composition root and control thread.
//
// It turns a loaded config into snapshots and publishes them to the workers, owns the
// admin server, signals and draining. Nothing here runs on a worker thread; workers
// only ever see what is posted to them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.h"
#include "gateway/admin_server.h"
#include "gateway/proxy_stats.h"
#include "gateway/snapshot.h"
#include "gateway/worker.h"
#include "metrics/access_log.h"
#include "metrics/registry.h"
#include "pools/endpoint_state.h"

namespace infergate::gateway {

struct ServerOptions {
  std::string config_path;
  unsigned workers = 0;                      // 0 = the config's, else one per core
  std::optional<std::string> admin_address;  // overrides the config's
  std::optional<uint16_t> admin_port;
  std::optional<std::chrono::milliseconds> drain_timeout;
  std::vector<std::string> command_line;
};

enum class ServerState { Initializing, Live, Draining, Stopping };

class Server {
 public:
  Server(ServerOptions opts, config::Config initial);
  ~Server();

  // Runs until shutdown; returns the process exit code.
  int run();

  // Validates and publishes a new config (control thread). On failure the old one
  // keeps serving and `errors` says why.
  bool apply(config::LoadResult loaded, const std::string& source, std::vector<config::Diagnostic>* errors);

 private:
  void start_listeners();
  void register_admin();
  void wait_signals();
  void begin_drain(bool then_exit);
  void poll_drain(std::chrono::steady_clock::time_point deadline, bool then_exit);
  void stop_now(int exit_code);
  size_t open_connections() const;
  std::string state_name() const;

  ServerOptions opts_;
  boost::asio::io_context control_;
  std::unique_ptr<metrics::Registry> registry_;
  ProxyStats stats_;
  std::unique_ptr<metrics::AccessLog> access_log_;
  pools::EndpointRegistry endpoints_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<const Snapshot> current_;
  uint64_t version_ = 0;
  AdminServer admin_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;
  ServerState state_ = ServerState::Initializing;
  bool healthcheck_failed_ = false;
  bool exit_after_drain_ = false;  // a drain that ends the process is under way
  int exit_code_ = 0;
  std::chrono::steady_clock::time_point started_;
  config::Config initial_;
  metrics::Gauge config_version_gauge_;
  metrics::Counter reload_ok_, reload_failed_;
};

// Worker options from the config's limits and timeouts.
WorkerOptions worker_options(const config::Config& cfg);

}  // namespace infergate::gateway
