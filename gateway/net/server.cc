#include "gateway/net/server.h"

#include <boost/asio/ip/address.hpp>

#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>

namespace infergate::gateway {

namespace {

unsigned worker_count(const ServerOptions& opts, const config::Config& cfg) {
  if (opts.workers) return opts.workers;
  if (cfg.gateway.workers) return cfg.gateway.workers;
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

std::unique_ptr<metrics::AccessLog> open_access_log(const config::Config& cfg, metrics::Registry& registry) {
  const auto& al = cfg.gateway.access_log;
  if (al.path.empty()) return nullptr;
  const char* help = "Access log entries written, or dropped because the writer fell behind (or a write failed)";
  metrics::AccessLogCounters counters{
      registry.counter("infergate_access_log_entries_total", help, {{"result", "written"}}, "access_log.written"),
      registry.counter("infergate_access_log_entries_total", help, {{"result", "dropped"}}, "access_log.dropped")};
  return std::make_unique<metrics::AccessLog>(
      al.path, al.format == config::AccessLogFormat::Json ? metrics::AccessLogFormat::Json : metrics::AccessLogFormat::Envoy,
      65536, counters);
}

}  // namespace

WorkerOptions worker_options(const config::Config& cfg) {
  const auto& l = cfg.gateway.limits;
  const auto& t = cfg.gateway.timeouts;
  WorkerOptions o;
  o.h1.max_header_bytes = l.max_request_headers_bytes;
  o.h1.max_headers_count = l.max_headers_count;
  o.h1.max_body_bytes = l.max_request_body_bytes;
  o.h2.max_concurrent_streams = l.max_concurrent_streams;
  o.h2.max_header_list_bytes = l.max_request_headers_bytes;
  o.h2.max_headers_count = l.max_headers_count;
  o.h2.initial_stream_window = std::min<uint32_t>(l.h2_initial_stream_window_bytes, 16u * 1024 * 1024);
  o.h2.connection_window = std::max<uint32_t>(o.h2.connection_window, o.h2.initial_stream_window * 2);
  o.upstream.connect_timeout = t.connect;
  o.upstream.idle_timeout = t.idle;
  o.upstream.max_header_bytes = l.max_request_headers_bytes;
  o.upstream.max_headers_count = l.max_headers_count;
  o.idle_timeout = t.idle;
  o.request_headers_timeout = t.request_headers;
  return o;
}

Server::Server(ServerOptions opts, config::ConfigStore store, config::Config initial)
    : opts_(std::move(opts)),
      control_(1),
      admin_(control_),
      stats_listener_(control_),
      signals_(control_),
      drain_timer_(control_),
      console_timer_(control_),
      started_(std::chrono::steady_clock::now()),
      initial_(std::move(initial)),
      store_(std::move(store)) {
  const unsigned n = worker_count(opts_, initial_);
  registry_ = std::make_unique<metrics::Registry>(n + 1);
  stats_ = ProxyStats(*registry_);
  security_stats_ = SecurityStats(*registry_);
  config_version_gauge_ = registry_->gauge("infergate_config_version", "Version of the config snapshot serving traffic",
                                           {}, "infergate.config.version");
  reload_ok_ = registry_->counter("infergate_config_reload_total", "Config changes by result", {{"result", "success"}},
                                  "infergate.config.reload_success");
  reload_failed_ = registry_->counter("infergate_config_reload_total", "Config changes by result",
                                      {{"result", "failure"}}, "infergate.config.reload_failure");
  access_log_ = open_access_log(initial_, *registry_);
  scraper_ = std::make_unique<ModelServerScraper>(control_, *registry_);
  health_checker_ = std::make_unique<HealthChecker>(control_, *registry_);
  rollouts_ = make_rollout_controller();
  // A host name's addresses changed: the config last applied, resolved again (no file is read).
  dns_ = std::make_unique<DnsDiscovery>(control_, *registry_, [this] {
    config::LoadResult again;
    again.config = dns_->unresolved(*current_->config);
    std::vector<config::Diagnostic> errors;
    if (!apply(std::move(again), "dns", &errors))
      for (const auto& e : errors) spdlog::error("dns: endpoints not updated: {}", e.to_string());
  });
  const WorkerOptions wo = worker_options(initial_);
  for (unsigned i = 0; i < n; ++i)
    workers_.push_back(std::make_unique<Worker>(i, wo, stats_, security_stats_, access_log_.get()));
}

Server::~Server() {
  for (auto& w : workers_) w->stop();
}

bool Server::apply(config::LoadResult loaded, const std::string& source, std::vector<config::Diagnostic>* errors) {
  if (!loaded.ok() || !loaded.config) {
    if (errors) *errors = loaded.errors;
    reload_failed_.inc();
    return false;
  }
  std::vector<config::Diagnostic> build_errors;
  dns_->prepare(*loaded.config, &build_errors);
  auto cfg = std::make_shared<const config::Config>(std::move(*loaded.config));
  auto snap = build_snapshot(cfg, version_ + 1, source, endpoints_, *registry_, &build_errors, current_.get());
  std::vector<std::string> tls_files;
  if (build_errors.empty()) apply_listener_security(*cfg, &build_errors, &tls_files);
  if (!build_errors.empty()) {
    if (errors) *errors = std::move(build_errors);
    reload_failed_.inc();
    return false;
  }
  tls_files.insert(tls_files.end(), snap->tls_files.begin(), snap->tls_files.end());
  if (connection_limiter_)
    connection_limiter_->set_limits(cfg->gateway.connection_limits.per_listener,
                                    cfg->gateway.connection_limits.per_source_ip);
  if (cert_watcher_)
    cert_watcher_->watch(std::move(tls_files), std::chrono::milliseconds(cfg->gateway.tls.watch_interval_ms));
  ++version_;
  current_ = snap;
  dns_->activate();
  for (auto& w : workers_) w->publish(snap);
  scraper_->update(snap);
  health_checker_->update(snap);
  // In Kubernetes mode only the leader runs rollouts (on_leading).
  if (!opts_.kubernetes || (elector_ && elector_->leading())) rollouts_->update(snap);
  endpoints_.prune();
  config_version_gauge_.set(static_cast<double>(version_));
  reload_ok_.inc();
  for (const auto& w : loaded.warnings) spdlog::warn("config: {}", w.to_string());
  spdlog::info("config version {} from {}: {} routes, {} clusters", version_, source, snap->routes->routes().size(),
               snap->clusters->clusters().size());
  return true;
}

void Server::prepare_listeners() {
  const auto& limits = initial_.gateway.connection_limits;
  connection_limiter_ = std::make_shared<ConnectionLimiter>(limits.per_listener, limits.per_source_ip);
  // Listeners on the same address and port share one socket; routes pick among them by hostname.
  for (const auto& l : initial_.listeners) {
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(l.address), l.port);
    auto it = std::find_if(bound_.begin(), bound_.end(), [&](const BoundSocket& b) { return b.ep == ep; });
    if (it == bound_.end()) {
      bound_.push_back(BoundSocket{ep, std::make_shared<ListenerInfo>()});
      it = std::prev(bound_.end());
      it->info->scheme = l.protocol == config::ListenerProtocol::Https ? "https" : "http";
      it->info->port = l.port;
      it->info->address = l.address;
      it->info->limiter = connection_limiter_;
      it->info->id = static_cast<uint32_t>(bound_.size() - 1);
    }
    it->info->keys.push_back(l.key());
    it->info->hostnames.push_back(l.hostname);
  }
}

bool Server::apply_listener_security(const config::Config& cfg, std::vector<config::Diagnostic>* errors,
                                     std::vector<std::string>* files) {
  TlsBuild build;
  build.errors = errors;
  std::vector<std::shared_ptr<const ListenerSecurity>> built;
  for (const auto& b : bound_) {
    // Listeners cannot move between sockets without a restart (restart_only_changes), so
    // the socket's listeners are those of `cfg` on its address and port.
    std::vector<const config::Listener*> on_socket;
    for (const auto& l : cfg.listeners)
      if (l.port == b.info->port && l.address == b.info->address) on_socket.push_back(&l);
    if (on_socket.empty()) {
      built.push_back(b.info->security->load());
      continue;
    }
    const auto previous = b.info->security->load();
    auto sec = build_listener_security(cfg, on_socket, b.info->port, previous.get(), build);
    if (!sec) return false;
    built.push_back(std::move(sec));
  }
  for (size_t i = 0; i < bound_.size(); ++i) bound_[i].info->security->store(built[i]);
  *files = std::move(build.files);
  return true;
}

// A certificate file changed: the serving config is applied again, which re-reads every
// file. Established connections keep the contexts they handshook with.
void Server::rotate_certificates() {
  if (!current_) return;
  config::LoadResult again;
  again.config = dns_->unresolved(*current_->config);  // host names, not their addresses
  std::vector<config::Diagnostic> errors;
  if (apply(std::move(again), "certificate rotation", &errors)) {
    security_stats_.cert_reload_ok.inc();
    spdlog::info("certificates reloaded");
    return;
  }
  security_stats_.cert_reload_failed.inc();
  for (const auto& e : errors) spdlog::error("certificate reload rejected, the previous certificates keep serving: {}",
                                             e.to_string());
}

void Server::start_listeners() {
  for (const auto& b : bound_) {
    for (auto& w : workers_) w->listen(b.ep, b.info);
    spdlog::info("listening on {}:{} ({} workers)", b.ep.address().to_string(), b.ep.port(), workers_.size());
  }
}

void Server::wait_signals() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload_files("SIGHUP");
      wait_signals();
      return;
    }
    // After POST /drain_listeners the process is draining but not exiting: the first
    // signal is still an ordinary shutdown, only a second one cuts it short.
    if ((state_ == ServerState::Draining && exit_after_drain_) || state_ == ServerState::Stopping) {
      spdlog::warn("second signal: stopping now");
      stop_now(1);
      return;
    }
    spdlog::info("signal {}: draining", sig);
    begin_drain(true);
    wait_signals();
  });
}

void Server::begin_drain(bool then_exit) {
  if (then_exit) exit_after_drain_ = true;
  if (state_ != ServerState::Draining) {
    state_ = ServerState::Draining;
    for (auto& w : workers_) w->drain();
  }
  auto timeout = opts_.drain_timeout.value_or(current_ ? current_->config->gateway.timeouts.drain
                                                       : std::chrono::milliseconds(20000));
  poll_drain(std::chrono::steady_clock::now() + timeout, then_exit);
}

void Server::poll_drain(std::chrono::steady_clock::time_point deadline, bool then_exit) {
  const size_t open = open_connections();
  if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (open) spdlog::warn("drain timeout with {} connections open", open);
    else spdlog::info("drained");
    if (then_exit) stop_now(exit_code_);
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(50));
  drain_timer_.async_wait([this, deadline, then_exit](boost::system::error_code ec) {
    if (!ec) poll_drain(deadline, then_exit);
  });
}

size_t Server::open_connections() const {
  size_t n = 0;
  for (const auto& w : workers_) n += w->connections();
  return n;
}

void Server::stop_now(int exit_code) {
  state_ = ServerState::Stopping;
  exit_code_ = exit_code;
  if (watcher_) watcher_->stop();
  if (cert_watcher_) cert_watcher_->stop();
  stop_kubernetes();
  scraper_->stop();
  health_checker_->stop();
  rollouts_->stop();
  admin_.close();
  stats_listener_.close();
  signals_.cancel();
  drain_timer_.cancel();
  console_timer_.cancel();
  for (auto& w : workers_) w->stop();
  control_.stop();
}

std::string Server::state_name() const {
  switch (state_) {
    case ServerState::Initializing: return "PRE_INITIALIZING";
    case ServerState::Live: return "LIVE";
    case ServerState::Draining: return "DRAINING";
    case ServerState::Stopping: return "DRAINING";
  }
  return "LIVE";
}

int Server::run() {
  prepare_listeners();
  cert_watcher_ = std::make_unique<CertWatcher>(control_, [this] { rotate_certificates(); });
  config::LoadResult first;
  first.config = initial_;
  std::vector<config::Diagnostic> errors;
  if (!apply(std::move(first), "file", &errors)) {
    for (const auto& e : errors) spdlog::error("{}", e.to_string());
    return 1;
  }
  try {
    start_listeners();
    register_admin();
    register_config_admin();
    register_rollout_admin();
    register_console();  // admin_console.cc
    start_admin_listeners();  // admin_listeners.cc
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  wait_signals();
  start_kubernetes();  // server_kubernetes.cc; nothing without --kubernetes / --kubeconfig
  if (opts_.watch && !opts_.config_path.empty()) {
    watcher_ = std::make_unique<ConfigWatcher>(control_, opts_.config_path, opts_.watch_debounce,
                                               [this] { reload_files("file change"); });
    std::string error;
    if (watcher_->start(&error)) {
      spdlog::info("watching {} for config changes", watcher_->directory());
    } else {
      spdlog::warn("not watching the config files ({}); SIGHUP and POST /config still reload", error);
      watcher_.reset();
    }
  }
  for (auto& w : workers_) w->start();
  state_ = ServerState::Live;
  control_.run();
  for (auto& w : workers_) w->stop();
  access_log_.reset();  // flushes
  spdlog::info("exit {}", exit_code_);
  return exit_code_;
}

}  // namespace infergate::gateway
