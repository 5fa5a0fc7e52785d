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

#include "config/cluster_load.h"
#include "config/config_store.h"
#include "config/loader.h"
#include "gateway/admin/admin_audit.h"
#include "gateway/admin/admin_gate.h"
#include "gateway/admin/admin_server.h"
#include "gateway/admin/console_history.h"
#include "gateway/control/cert_watcher.h"
#include "gateway/control/config_watcher.h"
#include "gateway/control/dns_discovery.h"
#include "gateway/proxy/proxy_stats.h"
#include "gateway/control/snapshot.h"
#include "gateway/net/worker.h"
#include "gateway/control/health_checker.h"
#include "gateway/control/model_server_scraper.h"
#include "gateway/control/rollout_controller.h"
#include "gateway/kube/api_client.h"
#include "gateway/kube/cluster_source.h"
#include "gateway/kube/kubernetes_options.h"
#include "gateway/kube/leader_elector.h"
#include "gateway/kube/status_writer.h"
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
  std::optional<std::string> state_dir;      // run-time changes survive restarts here
  bool watch = true;                         // reload when the config files change
  std::chrono::milliseconds watch_debounce{200};
  std::vector<std::string> command_line;
  // --kubernetes / --kubeconfig: the cluster is a source of configuration and endpoints.
  std::optional<kube::KubernetesOptions> kubernetes;
};

// The outcome of one configuration change, whatever its source (files, POST /config,
// POST /weights, ...), as the admin API reports it.
struct ChangeResult {
  bool ok = false;
  bool unchanged = false;  // nothing to do: the effective documents are the ones serving
  uint64_t version = 0;    // serving after the change (the old one when rejected)
  std::vector<config::Diagnostic> errors;
  std::vector<config::Diagnostic> warnings;
  std::vector<std::string> notes;  // overlay entries dropped, state not saved, ...
};

enum class ServerState { Initializing, Live, Draining, Stopping };

class Server {
 public:
  // `store` holds the documents `initial` was loaded from (files and saved run-time changes).
  Server(ServerOptions opts, config::ConfigStore store, config::Config initial);
  ~Server();

  // Runs until shutdown; returns the process exit code.
  int run();

  // Validates and publishes a new config (control thread). On failure the old one
  // keeps serving and `errors` says why.
  bool apply(config::LoadResult loaded, const std::string& source, std::vector<config::Diagnostic>* errors);

  // Makes `candidate` the configuration: loads its effective documents, validates them whole,
  // builds and publishes the snapshot, saves the run-time changes (--state-dir). On any error
  // nothing changes. `dry_run` validates only.
  ChangeResult commit(config::ConfigStore candidate, const std::string& source, bool dry_run = false);
  // Reads the config files again and commits them under the current run-time changes.
  ChangeResult reload_files(const std::string& why);

 private:
  // Groups the configured listeners by address and port (one socket each); before the first
  // apply, which gives each socket its TLS setup.
  void prepare_listeners();
  void start_listeners();
  // Builds every socket's ListenerSecurity for `cfg`; publishes them only when all build.
  bool apply_listener_security(const config::Config& cfg, std::vector<config::Diagnostic>* errors,
                               std::vector<std::string>* files);
  void rotate_certificates();
  void register_admin();
  void register_config_admin();  // /config, /config/revert, /weights (admin_config_endpoints.cc)
  void register_rollout_admin();  // /rollouts (admin_rollout_endpoints.cc)
  // /console and its files, /versions and its sampler (admin_console.cc)
  void register_console();
  void sample_console();
  // Admin (with its gate and audit) and stats listeners; throws why not (admin_listeners.cc).
  void start_admin_listeners();
  // A Rollout's weights, as POST /weights would set them; "" when applied, else why not.
  std::string apply_rollout_weight(const config::Rollout& r, uint32_t canary_weight);
  std::vector<config::Diagnostic> restart_only_changes(const config::Config& next) const;
  // Makes `candidate` the store and, with --state-dir, saves its overlay when it changed.
  // Returns why saving failed ("" = saved, or nothing to save).
  std::string keep_store(config::ConfigStore candidate);
  // Kubernetes mode (server_kubernetes.cc): the cluster's objects and endpoints as the store's
  // cluster layer, committed whenever the watch brings a change.
  void start_kubernetes();
  void stop_kubernetes();
  void on_cluster_change();
  // A Rollout whose target comes from the cluster has its weights written there (as Argo
  // Rollouts' Gateway API plugin does), so every replica and `kubectl get` see them: true
  // when so (*why: "" sent, else why not); false when the target is not the cluster's.
  bool rollout_target_in_cluster(const config::Rollout& r, uint32_t canary_weight, std::string* why);
  // The rejected cluster objects of the last commit: logged when new, counted, shown.
  void note_rejected(std::vector<config::RejectedObject> rejected);
  // The status the served configuration gives the cluster's objects, handed to the writer
  // (which writes only while this replica leads, and only differences).
  void update_statuses();
  // Leader election's verdict: the leader writes status and runs the rollouts; a follower
  // only follows the API (its rollout controller is idle, and a new leader resumes every
  // rollout from its Rollout's status).
  void on_leading(bool leading);
  std::unique_ptr<RolloutController> make_rollout_controller();
  void write_rollout_status(const std::string& ns, const std::string& name, const nlohmann::json& state,
                            const nlohmann::json& summary);
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
  SecurityStats security_stats_;
  std::unique_ptr<metrics::AccessLog> access_log_;
  pools::EndpointRegistry endpoints_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<const Snapshot> current_;
  uint64_t version_ = 0;
  AdminServer admin_;
  AdminServer stats_listener_;  // spec.stats: read-only copy of the scrape and probe paths
  std::unique_ptr<AdminGate> admin_gate_;
  std::unique_ptr<AdminAudit> admin_audit_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer console_timer_;
  ConsoleHistory console_history_;
  ServerState state_ = ServerState::Initializing;
  bool healthcheck_failed_ = false;
  bool exit_after_drain_ = false;  // a drain that ends the process is under way
  int exit_code_ = 0;
  std::chrono::steady_clock::time_point started_;
  config::Config initial_;
  config::ConfigStore store_;  // the documents serving now
  std::unique_ptr<ConfigWatcher> watcher_;
  std::unique_ptr<ModelServerScraper> scraper_;  // InferencePool endpoints' /metrics
  std::unique_ptr<HealthChecker> health_checker_;  // clusters' active HTTP health checks
  std::unique_ptr<RolloutController> rollouts_;
  std::unique_ptr<kube::ApiClient> kube_api_;
  std::unique_ptr<kube::ClusterSource> cluster_;
  std::unique_ptr<kube::StatusWriter> status_writer_;
  std::unique_ptr<kube::LeaderElector> elector_;
  std::vector<config::Diagnostic> cluster_warnings_;  // of the last commit, for status
  std::vector<config::RejectedObject> rejected_;  // cluster objects left out of the serving config
  metrics::Counter kube_rejected_;
  std::unique_ptr<DnsDiscovery> dns_;  // endpoints that name hosts: resolved, kept resolved
  struct BoundSocket {
    boost::asio::ip::tcp::endpoint ep;
    std::shared_ptr<ListenerInfo> info;
  };
  std::vector<BoundSocket> bound_;
  std::shared_ptr<ConnectionLimiter> connection_limiter_;
  std::unique_ptr<CertWatcher> cert_watcher_;
  uint64_t last_rejected_files_ = 0;  // fingerprint of the files last rejected (0 = none)
  metrics::Gauge config_version_gauge_;
  metrics::Counter reload_ok_, reload_failed_;
};

// Worker options from the config's limits and timeouts.
WorkerOptions worker_options(const config::Config& cfg);

}  // namespace infergate::gateway
