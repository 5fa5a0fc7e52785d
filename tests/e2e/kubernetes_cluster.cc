#include "tests/e2e/kubernetes_cluster.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace infergate::e2e {

namespace {

const std::string kToken = "e2e-token-0123456789";

std::string kubectl_path() { return tool_path("kubectl"); }

}  // namespace

bool KubeCluster::have_kubectl() { return !kubectl_path().empty() && std::filesystem::exists(kubectl_path()); }

KubeCluster::KubeCluster() {
  testing::ApiServerFiles files = testing::make_apiserver_certs(dir_.path());
  certs_ = files;
  testing::ApiServerOptions opts;
  opts.cert_pem_path = files.cert_pem;
  opts.key_pem_path = files.key_pem;
  opts.tokens = {kToken};
  api_ = std::make_unique<testing::TestApiServer>(opts);
  kubeconfig_ = testing::write_kubeconfig(dir_.file("kubeconfig"), api_->url(), files.ca_pem, kToken);
}

KubeCluster::~KubeCluster() = default;

CommandResult KubeCluster::kubectl(const std::vector<std::string>& args, bool must_succeed) {
  // A private cache directory: kubectl's discovery cache must not leak between tests (each
  // has its own server on its own port, but the home directory is shared).
  std::vector<std::string> argv = {kubectl_path(), "--kubeconfig", kubeconfig_, "--cache-dir", dir_.file("kubecache")};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = run_command(argv, milliseconds(30000));
  if (must_succeed && r.exit_code != 0) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    ADD_FAILURE() << "kubectl " << line << "exited " << r.exit_code << ": " << r.err << r.out;
  }
  return r;
}

CommandResult KubeCluster::create(const std::string& yaml, bool must_succeed) {
  const std::string file = dir_.write("object-" + std::to_string(++files_) + ".yaml", yaml);
  return kubectl({"create", "-f", file}, must_succeed);
}

void KubeCluster::add_pod(const std::string& name, const std::string& ip,
                          const std::map<std::string, std::string>& labels, bool ready, const std::string& ns) {
  std::string y = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\n  labels:\n";
  for (const auto& [k, v] : labels) y += "    " + k + ": \"" + v + "\"\n";
  y += "spec:\n  containers: [{name: server, image: vllm/vllm-openai:latest}]\n";
  create(y);
  ips_[ns + "/" + name] = ip;
  if (ready) set_ready(name, true, ns);
}

void KubeCluster::set_ready(const std::string& name, bool ready, const std::string& ns) {
  const std::string patch = std::string(R"({"status":{"phase":"Running","podIP":")") + ips_[ns + "/" + name] +
                            R"(","conditions":[{"type":"Ready","status":")" + (ready ? "True" : "False") + R"("}]}})";
  kubectl({"-n", ns, "patch", "pod", name, "--subresource=status", "--type=merge", "-p", patch});
}

void KubeCluster::add_gateway_class(const std::string& name) {
  create("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: " + name +
         "}\nspec: {controllerName: infergate.dev/gateway-controller}\n");
}

}  // namespace infergate::e2e
