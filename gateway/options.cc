#include "gateway/options.h"

#include <charconv>

namespace infergate::gateway {

namespace {

bool parse_uint(std::string_view s, uint64_t max, uint64_t* out) {
  uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

std::string usage() {
  return "usage: infergate --config PATH [options]\n"
         "       infergate --kubernetes | --kubeconfig PATH [--config PATH] [options]\n"
         "       infergate --check --config PATH\n"
         "       infergate rollout status|promote|abort|pause|resume|retry [NAME] [--admin HOST:PORT]\n"
         "                 [--admin-token-file PATH]\n"
         "\n"
         "  -c, --config PATH         YAML file, or a directory of *.yaml/*.yml files\n"
         "      --check               validate the configuration, print problems, exit 0 (ok) or 1\n"
         "      --workers N           worker threads (default: the config's, else one per core)\n"
         "      --admin-address ADDR  admin listener address (default: the config's, 127.0.0.1);\n"
         "                            off loopback only with spec.admin.auth\n"
         "      --admin-port PORT     admin listener port (default: the config's, 9901)\n"
         "      --drain-timeout SECS  grace period for in-flight requests on shutdown\n"
         "      --state-dir DIR       keep run-time changes (POST /config, /weights) in DIR across restarts\n"
         "      --no-watch            do not reload when the config files change (SIGHUP still does)\n"
         "      --watch-debounce MS   quiet time after a file change before reloading (default 200)\n"
         "      --kubernetes          follow the cluster this pod runs in (service account token and CA)\n"
         "      --kubeconfig PATH     follow the cluster of PATH's current context\n"
         "      --watch-namespace NS  only this namespace (repeatable; default all)\n"
         "      --controller-name N   GatewayClass controllerName we own (default infergate.dev/gateway-controller)\n"
         "      --leader-election-namespace NS  namespace of the Lease (default: the pod's)\n"
         "      --leader-election-name NAME     name of the Lease (default infergate-leader)\n"
         "      --log-level LEVEL     trace|debug|info|warning|error|critical|off (default info)\n"
         "      --version             print the version\n"
         "  -h, --help                this text\n"
         "\n"
         "Signals: SIGTERM/SIGINT drain then exit (a second one exits at once); SIGHUP reloads the config.\n"
         "The config files are watched and reloaded when they change; a configuration that does not\n"
         "validate is reported and the running one keeps serving.\n";
}

CommandLine parse_command_line(int argc, char** argv) {
  CommandLine cl;
  for (int i = 0; i < argc; ++i) cl.server.command_line.emplace_back(argv[i]);
  auto fail = [&](std::string msg) {
    cl.error = std::move(msg);
    return cl;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string value;
    bool has_inline = false;
    if (a.substr(0, 2) == "--") {
      if (size_t eq = a.find('='); eq != std::string_view::npos) {
        value = std::string(a.substr(eq + 1));
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    auto need = [&](std::string* out) -> bool {
      if (has_inline) {
        *out = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    auto k8s = [&]() -> kube::KubernetesOptions& {
      if (!cl.server.kubernetes) cl.server.kubernetes.emplace();
      return *cl.server.kubernetes;
    };
    if (a == "-h" || a == "--help") {
      cl.show_help = true;
    } else if (a == "--version") {
      cl.show_version = true;
    } else if (a == "--check") {
      cl.check_only = true;
    } else if (a == "-c" || a == "--config") {
      if (!need(&cl.server.config_path)) return fail("--config needs a path");
    } else if (a == "--workers") {
      uint64_t n;
      if (!need(&v) || !parse_uint(v, 1024, &n) || n == 0) return fail("--workers needs a number from 1 to 1024");
      cl.server.workers = static_cast<unsigned>(n);
    } else if (a == "--admin-address") {
      if (!need(&v)) return fail("--admin-address needs an address");
      cl.server.admin_address = v;
    } else if (a == "--admin-port") {
      uint64_t n;
      if (!need(&v) || !parse_uint(v, 65535, &n)) return fail("--admin-port needs a port from 0 to 65535");
      cl.server.admin_port = static_cast<uint16_t>(n);
    } else if (a == "--drain-timeout") {
      uint64_t n;
      if (!need(&v) || !parse_uint(v, 86400, &n)) return fail("--drain-timeout needs seconds (0..86400)");
      cl.server.drain_timeout = std::chrono::seconds(n);
    } else if (a == "--state-dir") {
      if (!need(&v) || v.empty()) return fail("--state-dir needs a directory");
      cl.server.state_dir = v;
    } else if (a == "--no-watch") {
      cl.server.watch = false;
    } else if (a == "--watch-debounce") {
      uint64_t n;
      if (!need(&v) || !parse_uint(v, 60000, &n)) return fail("--watch-debounce needs milliseconds (0..60000)");
      cl.server.watch_debounce = std::chrono::milliseconds(n);
    } else if (a == "--kubernetes") {
      k8s().in_cluster = true;
    } else if (a == "--kubeconfig") {
      if (!need(&v) || v.empty()) return fail("--kubeconfig needs a path");
      k8s().kubeconfig = v;
    } else if (a == "--watch-namespace") {
      if (!need(&v) || v.empty()) return fail("--watch-namespace needs a namespace");
      k8s().namespaces.push_back(v);
    } else if (a == "--controller-name") {
      if (!need(&v) || v.empty()) return fail("--controller-name needs a name");
      k8s().controller_name = v;
    } else if (a == "--leader-election-namespace") {
      if (!need(&v) || v.empty()) return fail("--leader-election-namespace needs a namespace");
      k8s().lease_namespace = v;
    } else if (a == "--leader-election-name") {
      if (!need(&v) || v.empty()) return fail("--leader-election-name needs a name");
      k8s().lease_name = v;
    } else if (a == "--log-level") {
      if (!need(&cl.log_level)) return fail("--log-level needs a level");
    } else {
      return fail("unknown option '" + std::string(a) + "'");
    }
  }
  if (const auto& k = cl.server.kubernetes) {
    if (k->in_cluster && !k->kubeconfig.empty())
      return fail("--kubernetes and --kubeconfig exclude each other");
    if (!k->in_cluster && k->kubeconfig.empty())
      return fail("--watch-namespace, --controller-name and --leader-election-* need --kubernetes or --kubeconfig");
  }
  if (!cl.show_help && !cl.show_version && cl.server.config_path.empty() && !cl.server.kubernetes)
    return fail("--config PATH is required (or --kubernetes / --kubeconfig PATH)");
  return cl;
}

}  // namespace infergate::gateway
