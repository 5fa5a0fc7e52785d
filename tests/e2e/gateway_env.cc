#include "tests/e2e/gateway_env.h"

#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <stdexcept>

namespace infergate::e2e {

// ---- Modelsim ---------------------------------------------------------------------

Modelsim::Modelsim(std::vector<std::string> args) {
  std::vector<std::string> argv = {modelsim_path(), "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<Process>(argv);
  // "modelsim listening on 127.0.0.1:PORT model=..."
  if (!process_->wait_out("\n", milliseconds(10000 * time_scale())))
    throw std::runtime_error("modelsim did not start: " + process_->describe());
  const std::string line = process_->out();
  const size_t at = line.find("listening on ");
  const size_t colon = at == std::string::npos ? std::string::npos : line.find(':', at);
  if (colon == std::string::npos) throw std::runtime_error("unexpected modelsim output: " + line);
  port_ = static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

// ---- EppSim -----------------------------------------------------------------------

EppSim::EppSim(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {epp_sim_path(), "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<Process>(argv);
  // "listening IP:PORT", possibly after other lines (its health state).
  const milliseconds timeout(10000 * time_scale());
  if (!process_->wait_out("listening ", timeout)) throw std::runtime_error("epp_sim did not start: " + process_->describe());
  const size_t at = process_->out().find("listening ");
  if (!process_->wait_out("\n", timeout, at)) throw std::runtime_error("epp_sim did not start: " + process_->describe());
  const std::string out = process_->out();
  const std::string line = out.substr(at, out.find('\n', at) - at);
  port_ = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
}

// ---- Config -----------------------------------------------------------------------

std::string gateway_base_yaml(uint16_t port, uint16_t admin, unsigned workers,
                              const std::vector<StaticEndpoint>& endpoints, const std::string& spec_extra) {
  std::string y = "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: e2e}\nspec:\n";
  y += "  workers: " + std::to_string(workers) + "\n";
  y += "  admin: {address: 127.0.0.1, port: " + std::to_string(admin) + "}\n";
  y += spec_extra;
  if (!spec_extra.empty() && spec_extra.back() != '\n') y += "\n";
  if (!endpoints.empty()) {
    y += "  endpoints:\n";
    for (const auto& e : endpoints)
      y += "  - {name: " + e.name + ", address: 127.0.0.1, port: " + std::to_string(e.port) + ", labels: {" + e.labels +
           "}}\n";
  }
  y += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n";
  y += "  gatewayClassName: infergate\n  addresses: [{type: IPAddress, value: 127.0.0.1}]\n";
  y += "  listeners: [{name: http, port: " + std::to_string(port) + ", protocol: HTTP}]\n";
  return y;
}

std::string render_config(const GatewaySetup& s, uint16_t port, uint16_t admin_port) {
  std::vector<StaticEndpoint> endpoints;
  for (const auto& e : s.endpoints) endpoints.push_back({e.name, e.port, "app: " + e.app});
  std::string y = gateway_base_yaml(port, admin_port, s.workers, endpoints,
                                    "  accessLog: {path: /dev/stdout, format: envoy}\n" + s.gateway_spec_extra);
  y += "---\napiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: pool}\nspec:\n";
  y += "  selector: {matchLabels: {app: " + s.pool_app + "}}\n";
  y += "  targetPorts: [{number: 8000}]\n";
  y += std::string("  appProtocol: ") + (s.h2c_upstream ? "kubernetes.io/h2c" : "http") + "\n";
  y += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: route}\nspec:\n";
  y += "  parentRefs: [{name: gw}]\n  rules:\n";
  y += "  - matches: [{path: {type: PathPrefix, value: " + s.route_prefix + "}}]\n";
  if (!s.route_timeout.empty() || !s.backend_timeout.empty()) {
    y += "    timeouts: {";
    if (!s.route_timeout.empty()) y += "request: " + s.route_timeout;
    if (!s.route_timeout.empty() && !s.backend_timeout.empty()) y += ", ";
    if (!s.backend_timeout.empty()) y += "backendRequest: " + s.backend_timeout;
    y += "}\n";
  }
  y += "    backendRefs:\n    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool}\n";
  if (!s.extra_documents.empty()) y += "---\n" + s.extra_documents;
  return y;
}

// ---- Gateway ----------------------------------------------------------------------

Gateway::Gateway(const GatewaySetup& setup, std::vector<std::string> extra_args)
    : Gateway([setup](uint16_t port, uint16_t admin) { return render_config(setup, port, admin); },
              std::move(extra_args)) {}

Gateway::Gateway(Render render, std::vector<std::string> extra_args) {
  start(render, extra_args, [](uint16_t, uint16_t admin_port) {
    return http_request(admin_port, "GET", "/ready", {}, {}, milliseconds(1000)).status == 200;
  });
}

Gateway::Gateway(Render render, std::vector<std::string> extra_args, Probe probe) {
  start(render, extra_args, probe);
}

void Gateway::start(const Render& render, const std::vector<std::string>& extra_args, const Probe& probe) {
  ProcessOptions opts;
  if (sanitized_build()) {
    // ASan keeps freed memory in a 256 MiB quarantine by default, which would read as
    // RSS growth in the memory-bound tests; a small one still catches use-after-free
    // of recent allocations.
    const char* base = std::getenv("ASAN_OPTIONS");
    opts.env.push_back(std::string("ASAN_OPTIONS=") + (base && *base ? std::string(base) + ":" : "") +
                       "quarantine_size_mb=16:thread_local_quarantine_size_kb=256");
  }
  // A port can be taken between the probe and the bind: try again with fresh ones.
  std::string last_failure;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    admin_port_ = free_port();
    config_path_ = dir_.write("gateway.yaml", render(port_, admin_port_));
    std::vector<std::string> argv = {infergate_path(), "--config", config_path_};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<Process>(argv, opts);
    const auto until = Clock::now() + milliseconds(15000 * time_scale());
    while (Clock::now() < until && process_->running()) {
      if (probe(port_, admin_port_)) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
    last_failure = process_->describe();
    const bool bind_failed = last_failure.find("cannot start") != std::string::npos;
    process_->kill_now();
    if (!bind_failed) break;
  }
  throw std::runtime_error("infergate did not become ready: " + last_failure);
}

Gateway::~Gateway() {
  if (!process_) return;
  process_->kill_now();
  process_->wait_exit(milliseconds(2000));
  const std::string err = process_->err();
  if (err.find("AddressSanitizer") != std::string::npos || err.find("LeakSanitizer") != std::string::npos ||
      err.find("runtime error:") != std::string::npos) {
    ADD_FAILURE() << "sanitizer report from infergate:\n" << process_->describe(20000);
  } else if (::testing::Test::HasFailure()) {
    std::cerr << "infergate output:\n" << process_->describe() << "\n";
  }
}

std::string Gateway::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

HttpResponse Gateway::admin(const std::string& method, const std::string& path, const std::string& body) {
  return admin(method, path, body, {});
}

HttpResponse Gateway::admin(const std::string& method, const std::string& path, const std::string& body,
                            const Headers& headers) {
  Headers all = admin_headers_;
  all.insert(all.end(), headers.begin(), headers.end());
  bool typed = false;
  for (const auto& [k, v] : all) typed = typed || k == "Content-Type" || k == "content-type";
  if (!body.empty() && !typed) {
    const size_t first = body.find_first_not_of(" \t\r\n");
    const bool json = first != std::string::npos && (body[first] == '{' || body[first] == '[');
    all.emplace_back("Content-Type", json ? "application/json" : "application/yaml");
  }
  return http_request(admin_port_, method, path, all, body, milliseconds(5000 * time_scale()));
}

std::map<std::string, double> Gateway::stats() { return parse_stats(admin("GET", "/stats").body); }

double Gateway::stat(const std::string& name) {
  auto s = stats();
  auto it = s.find(name);
  return it == s.end() ? -1 : it->second;
}

double Gateway::stat_sum(const std::string& suffix) {
  double sum = 0;
  for (const auto& [name, v] : stats())
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) sum += v;
  return sum;
}

bool Gateway::wait_stat_at_least(const std::string& name, double min, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  do {
    if (stat(name) >= min) return true;
    std::this_thread::sleep_for(milliseconds(20));
  } while (Clock::now() < until);
  return false;
}

bool Gateway::wait_log(std::string_view needle, milliseconds timeout, size_t from) {
  return process_->wait_out(needle, timeout, from);
}

std::string Gateway::log_line(std::string_view needle) {
  const std::string out = process_->out();
  const size_t at = out.find(needle);
  if (at == std::string::npos) return {};
  const size_t begin = out.rfind('\n', at);
  const size_t end = out.find('\n', at);
  return out.substr(begin == std::string::npos ? 0 : begin + 1,
                    (end == std::string::npos ? out.size() : end) - (begin == std::string::npos ? 0 : begin + 1));
}

void Gateway::write_config(const std::string& yaml) { dir_.write("gateway.yaml", yaml); }

std::optional<int> Gateway::terminate(milliseconds timeout) {
  process_->signal(SIGTERM);
  return process_->wait_exit(timeout);
}

}  // namespace infergate::e2e
