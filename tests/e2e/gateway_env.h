// The processes under test: a modelsim model server and an infergate gateway started
// from a YAML config generated per test, with free ports and its own temp dir.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

namespace infergate::e2e {

// `modelsim --port 0 ARGS...`; the port is read from its first line.
class Modelsim {
 public:
  explicit Modelsim(std::vector<std::string> args = {});
  uint16_t port() const { return port_; }
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  uint16_t port_ = 0;
};

// `epp_sim --port 0 ARGS...` (tests/epp_sim: an Endpoint Picker like the GIE EPP); the port is
// read from its first line ("listening IP:PORT"). ARGS may name --address and --port.
class EppSim {
 public:
  explicit EppSim(const std::vector<std::string>& args);
  uint16_t port() const { return port_; }
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  uint16_t port_ = 0;
};

struct Upstream {
  std::string name;
  uint16_t port = 0;
  std::string app = "sim";  // the `app` label the pool selects on
};

// What the generated config says. One Gateway listener, one InferencePool selecting
// `app: pool_app`, one HTTPRoute sending `route_prefix` to it.
struct GatewaySetup {
  unsigned workers = 1;
  std::vector<Upstream> endpoints;
  bool h2c_upstream = false;        // InferencePool appProtocol: kubernetes.io/h2c
  std::string pool_app = "sim";
  std::string route_prefix = "/";
  std::string route_timeout;        // HTTPRoute rules[].timeouts.request, "" = none
  std::string backend_timeout;      // HTTPRoute rules[].timeouts.backendRequest, "" = none
  std::string gateway_spec_extra;   // more YAML under GatewayConfig spec (2-space indented lines)
  std::string extra_documents;      // appended as further YAML documents
};

std::string render_config(const GatewaySetup& setup, uint16_t port, uint16_t admin_port);

// A pod outside a cluster, as a GatewayConfig endpoint on 127.0.0.1.
struct StaticEndpoint {
  std::string name;
  uint16_t port = 0;
  std::string labels;  // the inside of a YAML flow mapping: "app: llm, version: v1"
};

// What every generated test config starts with: the GatewayConfig (workers, admin on
// `admin`, the endpoints, then `spec_extra`: more 2-space indented lines under spec) and a
// Gateway "gw" with one HTTP listener on 127.0.0.1:`port`.
std::string gateway_base_yaml(uint16_t port, uint16_t admin, unsigned workers,
                              const std::vector<StaticEndpoint>& endpoints, const std::string& spec_extra = {});

class Gateway {
 public:
  using Render = std::function<std::string(uint16_t port, uint16_t admin_port)>;
  // Whether the started gateway is ready; the default asks the admin listener's /ready (a
  // test whose admin needs authentication or TLS asks its stats listener instead).
  using Probe = std::function<bool(uint16_t port, uint16_t admin_port)>;

  // Starts infergate and waits until its admin /ready says LIVE. Throws (the test
  // fails) when it does not come up.
  explicit Gateway(const GatewaySetup& setup, std::vector<std::string> extra_args = {});
  explicit Gateway(Render render, std::vector<std::string> extra_args = {});
  Gateway(Render render, std::vector<std::string> extra_args, Probe probe);
  // Kills the gateway if still running; fails the test if a sanitizer reported.
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }
  Process& process() { return *process_; }
  const std::string& config_path() const { return config_path_; }
  const TempDir& dir() const { return dir_; }
  std::string url(const std::string& path) const;

  // An admin request; a body gets Content-Type application/json when it starts with '{' or
  // '[', else application/yaml (what the admin API accepts for changes).
  HttpResponse admin(const std::string& method, const std::string& path, const std::string& body = {});
  HttpResponse admin(const std::string& method, const std::string& path, const std::string& body,
                     const Headers& headers);
  // Headers every admin() call (and stats()) sends from now on, e.g. Authorization.
  void set_admin_headers(Headers headers) { admin_headers_ = std::move(headers); }
  std::map<std::string, double> stats();
  // A /stats value; -1 when the stat does not exist.
  double stat(const std::string& name);
  // Sum of every stat whose name ends with `suffix` (e.g. one counter of all clusters).
  double stat_sum(const std::string& suffix);
  // Polls /stats until `name` is at least `min`.
  bool wait_stat_at_least(const std::string& name, double min, milliseconds timeout);
  // Waits for `needle` in the access log (stdout), after `from` bytes.
  bool wait_log(std::string_view needle, milliseconds timeout, size_t from = 0);
  // The access log line containing `needle`, "" when none.
  std::string log_line(std::string_view needle);

  // Replaces the config file (same ports); reload it with SIGHUP.
  void write_config(const std::string& yaml);
  std::string render(const GatewaySetup& setup) const { return render_config(setup, port_, admin_port_); }
  // SIGTERM, then the exit code (nullopt when it did not exit in time).
  std::optional<int> terminate(milliseconds timeout);

 private:
  void start(const Render& render, const std::vector<std::string>& extra_args, const Probe& probe);

  TempDir dir_;
  std::string config_path_;
  uint16_t port_ = 0, admin_port_ = 0;
  std::unique_ptr<Process> process_;
  Headers admin_headers_;
};

}  // namespace infergate::e2e
