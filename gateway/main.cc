// infergate: an Envoy-compatible inference gateway data plane.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "config/loader.h"
#include "gateway/control/config_state.h"
#include "gateway/kube/initial_sync.h"
#include "gateway/options.h"
#include "gateway/rollout_cli.h"
#include "gateway/net/server.h"

int main(int argc, char** argv) {
  using namespace infergate;
  if (argc > 1 && std::string_view(argv[1]) == "rollout") return gateway::rollout_cli(argc, argv);
  gateway::CommandLine cl = gateway::parse_command_line(argc, argv);
  if (!cl.error.empty()) {
    std::cerr << "infergate: " << cl.error << "\n\n" << gateway::usage();
    return 2;
  }
  if (cl.show_help) {
    std::cout << gateway::usage();
    return 0;
  }
  if (cl.show_version) {
    std::cout << "infergate 0.1.0\n";
    return 0;
  }
  auto logger = spdlog::stderr_color_mt("infergate");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e][%l] %v");
  std::string level = cl.log_level == "warning" ? "warn" : cl.log_level;
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    std::cerr << "infergate: unknown log level '" << cl.log_level << "'\n";
    return 2;
  }
  spdlog::set_level(lvl);
  // A client that goes away mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // A gateway holds two descriptors per proxied connection: use all the hard limit
  // allows (the soft default of 1024 would cap us near 500 clients).
  if (rlimit rl{}; getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  // Kubernetes mode: the cluster's objects are read once before start, because the Gateways
  // among them decide which sockets open.
  std::optional<config::ConfigStore> cluster;
  if (const auto& k = cl.server.kubernetes; k && !cl.check_only) {
    std::string error;
    auto access = gateway::kube::cluster_access(*k, &error);
    cluster.emplace();
    if (!access || !gateway::kube::initial_cluster_sync(*k, *access, &*cluster, &error)) {
      spdlog::error("kubernetes: {}", error);
      return 1;
    }
  }
  gateway::InitialConfig init =
      gateway::load_initial_config(cl.server.config_path, cl.server.state_dir, cluster ? &*cluster : nullptr);
  config::LoadResult& loaded = init.loaded;
  for (const auto& w : loaded.warnings) std::cerr << "warning: " << w.to_string() << "\n";
  for (const auto& e : loaded.errors) std::cerr << "error: " << e.to_string() << "\n";
  for (const auto& n : init.notes) std::cerr << "state: " << n << "\n";
  for (const auto& r : init.rejected)
    for (const auto& e : r.errors)
      spdlog::error("kubernetes: {} left out, it does not validate: {}", r.key.to_string(), e.to_string());
  if (cl.check_only) {
    if (!loaded.ok()) {
      std::cerr << cl.server.config_path << ": configuration invalid (" << loaded.errors.size() << " error"
                << (loaded.errors.size() == 1 ? "" : "s") << ")\n";
      return 1;
    }
    const config::Config& c = *loaded.config;
    std::cout << cl.server.config_path << ": configuration OK (" << c.listeners.size() << " listeners, "
              << c.routes.size() << " HTTPRoutes, " << c.virtual_services.size() << " VirtualServices, "
              << c.destination_rules.size() << " DestinationRules, " << c.pools.size() << " inference pools, "
              << c.inference_models.size() << " InferenceModels, " << c.inference_objectives.size()
              << " InferenceObjectives, " << c.model_rewrites.size() << " InferenceModelRewrites, "
              << c.rollouts.size() << " Rollouts, "
              << c.services.size() << " services, " << c.endpoints.size() << " endpoints)\n";
    return 0;
  }
  if (!loaded.ok()) {
    spdlog::error("configuration invalid, not starting");
    return 1;
  }
  try {
    gateway::Server server(std::move(cl.server), std::move(init.store), std::move(*loaded.config));
    return server.run();
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
