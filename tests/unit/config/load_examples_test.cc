// The configurations the project promises to load: the quickstart and the seed manifests.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/cluster_names.h"
#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::render;

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kData = CONFIG_TEST_DATA_DIR;

// Every shipped example loads without an error, and warns only where it keeps a seed's quirk
// on purpose (each one is explained in that example's README). Only that: their content is
// the examples' authors' to change; the model checks below use a frozen copy.
TEST(LoadExamples, EveryShippedExampleLoadsCleanly) {
  namespace fs = std::filesystem;
  const std::map<std::string, std::vector<std::string>> expected_warnings = {
      {"istio-canary",
       {"Deployment is not used by the gateway", "Application is not used by the gateway",
        "weight 10 on the only destination is ignored"}},
      {"gke-pool-rollout", {"is a mapping, not a list", "is not a Gateway defined here"}},
  };
  int examples = 0;
  for (const auto& entry : fs::directory_iterator(std::string(INFERGATE_SOURCE_DIR) + "/examples")) {
    if (!entry.is_directory()) continue;
    // Rollouts of the other examples' manifests, valid only next to them: the e2e test
    // Rollout.ExampleScenariosValidate loads each with the files its run.sh puts beside it.
    if (entry.path().filename() == "rollouts") continue;
    // Its certificates are made by its run.sh (never committed); the e2e test
    // Examples.MtlsRunsAsTheReadmeSays runs it.
    if (entry.path().filename() == "mtls") continue;
    ++examples;
    LoadResult r = load_path(entry.path().string());
    EXPECT_TRUE(r.ok()) << entry.path() << "\n" << render(r.errors);
    auto it = expected_warnings.find(entry.path().filename().string());
    for (const auto& w : r.warnings) {
      bool known = false;
      if (it != expected_warnings.end())
        for (const auto& needle : it->second) known = known || w.message.find(needle) != std::string::npos;
      EXPECT_TRUE(known) << entry.path() << ": unexpected warning " << w.to_string();
    }
  }
  EXPECT_GE(examples, 3);
}

// data/quickstart_gateway.yaml: a copy of examples/quickstart/gateway.yaml as of this test.
TEST(LoadExamples, QuickstartModel) {
  LoadResult r = load_path(kData + "/quickstart_gateway.yaml");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << render(r.warnings);
  const Config& c = *r.config;

  EXPECT_EQ(c.gateway.meta.name, "quickstart");
  EXPECT_EQ(c.gateway.workers, 0u);
  EXPECT_EQ(c.gateway.admin.address, "127.0.0.1");
  EXPECT_EQ(c.gateway.admin.port, 9901);
  EXPECT_EQ(c.gateway.access_log.path, "/dev/stdout");
  EXPECT_EQ(c.gateway.access_log.format, AccessLogFormat::Envoy);
  EXPECT_EQ(c.gateway.limits.max_request_headers_bytes, 60u * 1024);
  EXPECT_EQ(c.gateway.timeouts.connect, std::chrono::seconds(5));
  EXPECT_EQ(c.gateway.timeouts.request, std::chrono::milliseconds(0));

  ASSERT_EQ(c.endpoints.size(), 3u);
  EXPECT_EQ(c.endpoints[2].name, "sim-3");
  EXPECT_EQ(c.endpoints[2].port, 18003);
  EXPECT_EQ(c.endpoints[2].labels.at("version"), "v2");

  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].key(), "default/inference-gateway/http");
  EXPECT_EQ(c.listeners[0].address, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 8080);
  EXPECT_EQ(c.listeners[0].protocol, ListenerProtocol::Http);

  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].meta.name, "llm");
  EXPECT_EQ(c.pools[0].target_ports, std::vector<uint16_t>{8000});
  EXPECT_EQ(c.pools[0].selector.at("app"), "llm-model");
  EXPECT_EQ(c.pools[0].selector.at("version"), "v1");
  EXPECT_EQ(c.pools[0].app_protocol, AppProtocol::Http);

  ASSERT_EQ(c.services.size(), 1u);
  ASSERT_EQ(c.services[0].ports.size(), 1u);
  EXPECT_EQ(c.services[0].ports[0].target_port, 8000);

  ASSERT_EQ(c.routes.size(), 1u);
  const HttpRoute& route = c.routes[0];
  EXPECT_EQ(route.meta.source.document, 5);
  ASSERT_EQ(route.rules.size(), 1u);
  const HttpRouteRule& rule = route.rules[0];
  ASSERT_EQ(rule.matches.size(), 1u);
  EXPECT_EQ(rule.matches[0].path.type, PathMatchType::PathPrefix);
  EXPECT_EQ(rule.matches[0].path.value, "/v1");
  ASSERT_EQ(rule.backend_refs.size(), 2u);
  EXPECT_TRUE(rule.backend_refs[0].is_inference_pool());
  EXPECT_EQ(rule.backend_refs[0].weight, 90u);
  EXPECT_EQ(rule.backend_refs[1].kind, "Service");
  EXPECT_EQ(rule.backend_refs[1].port, 8000);
  EXPECT_EQ(rule.backend_refs[1].weight, 10u);
}

TEST(LoadExamples, QuickstartDirectoryAndStringGiveTheSameModel) {
  const std::string path = std::string(INFERGATE_SOURCE_DIR) + "/examples/quickstart";
  LoadResult dir = load_path(path);
  LoadResult str = load_string(read(path + "/gateway.yaml"), "gateway.yaml");
  ASSERT_TRUE(dir.ok()) << render(dir.errors);
  ASSERT_TRUE(str.ok()) << render(str.errors);
  EXPECT_EQ(dir.config->routes[0].meta.source.file, path + "/gateway.yaml");
  EXPECT_EQ(str.config->routes[0].meta.source.file, "gateway.yaml");
  EXPECT_EQ(dir.config->routes[0].meta.source.line, str.config->routes[0].meta.source.line);
}

TEST(LoadExamples, GkeRolloutRouteWithRulesWrittenAsAMapping) {
  LoadResult r = load_documents({
      {"routes-to-llm.yaml", read(kData + "/seed004_routes_to_llm.yaml")},
      {"pools.yaml", read(kData + "/seed004_pools.yaml")},
  });
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(has_diagnostic(
      r.warnings,
      "routes-to-llm.yaml:10: document 1 (HTTPRoute/routes-to-llm): spec.rules: is a mapping, "
      "not a list; read as a single rule (write \"- backendRefs: ...\")"))
      << render(r.warnings);
  EXPECT_TRUE(has_diagnostic(
      r.warnings,
      "routes-to-llm.yaml:7: document 1 (HTTPRoute/routes-to-llm): spec.parentRefs[0]: parent "
      "InferenceGateway \"default/my-inference-gateway\" (group inference.networking.k8s.io) is "
      "not a Gateway defined here; the route attaches to every listener"))
      << render(r.warnings);
  EXPECT_TRUE(has_diagnostic(
      r.warnings,
      "pools.yaml:18: document 2 (InferencePool/llm): spec.endpointPickerRef.name: Service \"default/llm-epp\" "
      "is not defined here: the endpoint picker is reached as llm-epp.default:9002 (DNS); when it cannot "
      "be reached, failureMode decides"))
      << render(r.warnings);
  EXPECT_EQ(r.warnings.size(), 3u) << render(r.warnings);

  const Config& c = *r.config;
  ASSERT_EQ(c.routes.size(), 1u);
  ASSERT_EQ(c.routes[0].rules.size(), 1u);
  const auto& refs = c.routes[0].rules[0].backend_refs;
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].name, "llm");
  EXPECT_EQ(refs[0].weight, 90u);
  EXPECT_EQ(refs[1].name, "llm-new");
  EXPECT_EQ(refs[1].weight, 10u);
  EXPECT_TRUE(c.routes[0].parent_refs[0].unresolved_foreign);
  // The rule has no matches: Gateway API's default PathPrefix "/".
  ASSERT_EQ(c.routes[0].rules[0].matches.size(), 1u);
  EXPECT_EQ(c.routes[0].rules[0].matches[0].path.value, "/");

  ASSERT_EQ(c.pools.size(), 2u);
  ASSERT_TRUE(c.pools[0].endpoint_picker.has_value());
  EXPECT_EQ(c.pools[0].endpoint_picker->name, "llm-epp");
  EXPECT_EQ(c.pools[0].endpoint_picker->port, 9002);
  EXPECT_EQ(c.pools[0].endpoint_picker->failure_mode, FailureMode::FailOpen);
  EXPECT_FALSE(c.pools[1].endpoint_picker.has_value());
}

TEST(LoadExamples, GkeRouteWithoutItsPoolsNamesTheMissingPools) {
  LoadResult r = load_string(read(kData + "/seed004_routes_to_llm.yaml"), "routes-to-llm.yaml");
  // Accepted as the Gateway API accepts it, each missing pool named: its share would get 500.
  EXPECT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.warnings,
                             "routes-to-llm.yaml:12: document 1 (HTTPRoute/routes-to-llm): "
                             "spec.rules[0].backendRefs[0]: InferencePool \"default/llm\" is not "
                             "defined; requests routed to it get 500 (ResolvedRefs: False)"))
      << render(r.warnings);
  EXPECT_TRUE(has_diagnostic(r.warnings,
                             "routes-to-llm.yaml:16: document 1 (HTTPRoute/routes-to-llm): "
                             "spec.rules[0].backendRefs[1]: InferencePool \"default/llm-new\" is "
                             "not defined; requests routed to it get 500 (ResolvedRefs: False)"))
      << render(r.warnings);
}

// Seed 000 as written, next to what its cluster would provide (data/seed000_companion.yaml:
// the Service, the DestinationRule with subsets v1/v2, the pods, a Gateway "llm-gateway").
TEST(LoadExamples, IstioCanarySeedLoadsWithItsServiceAndDestinationRule) {
  const std::string seed = read(kData + "/seed000_istio_canary.yaml");
  LoadResult r = load_documents({{"seed000.yaml", seed},
                                 {"companion.yaml", read(kData + "/seed000_companion.yaml")}});
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.warnings, "seed000.yaml:2: document 1 (Deployment/llm-model-v2): "
                                         "apps/v1 Deployment is not used by the gateway; ignored"))
      << render(r.warnings);
  EXPECT_TRUE(has_diagnostic(r.warnings,
                             "seed000.yaml:24: document 2 (Application/llm-app): "
                             "argoproj.io/v1alpha1 Application is not used by the gateway; ignored"))
      << render(r.warnings);
  // The lone v2 destination carries weight 10; Istio sends it everything all the same.
  const int weight_line = testing::line_of(seed, "weight: 10");
  ASSERT_GT(weight_line, 0);
  EXPECT_TRUE(has_diagnostic(
      r.warnings, "seed000.yaml:" + std::to_string(weight_line) +
                      ": document 3 (VirtualService/llm-virtual-service): "
                      "spec.http[1].route[0].weight: weight 10 on the only destination is "
                      "ignored: it receives all traffic (Istio routes a lone destination at 100%)"))
      << render(r.warnings);
  EXPECT_EQ(r.warnings.size(), 3u) << render(r.warnings);

  const Config& c = *r.config;
  ASSERT_EQ(c.virtual_services.size(), 1u);
  const VirtualService& vs = c.virtual_services[0];
  EXPECT_EQ(vs.api_version, "networking.istio.io/v1alpha3");
  EXPECT_EQ(vs.hosts, std::vector<std::string>{"llm-service"});
  EXPECT_EQ(vs.gateways, std::vector<std::string>{"llm-gateway"});
  ASSERT_EQ(vs.http.size(), 2u);
  ASSERT_EQ(vs.http[0].matches.size(), 1u);
  ASSERT_EQ(vs.http[0].matches[0].headers.size(), 1u);
  EXPECT_EQ(vs.http[0].matches[0].headers[0].name, "version");
  EXPECT_EQ(vs.http[0].matches[0].headers[0].match.type, IstioMatchType::Exact);
  EXPECT_EQ(vs.http[0].matches[0].headers[0].match.value, "v1");
  ASSERT_EQ(vs.http[0].route.size(), 1u);
  EXPECT_EQ(vs.http[0].route[0].destination.subset, "v1");
  EXPECT_EQ(vs.http[0].route[0].effective_weight, 100u);
  EXPECT_EQ(vs.http[0].route[0].destination.service_port, 8080);
  EXPECT_EQ(vs.http[1].matches.size(), 0u);
  ASSERT_EQ(vs.http[1].route.size(), 1u);
  EXPECT_EQ(vs.http[1].route[0].weight, 10u);
  EXPECT_EQ(vs.http[1].route[0].effective_weight, 100u);
  EXPECT_EQ(vs.http[1].route[0].destination.fqdn(), "llm-service.default.svc.cluster.local");
  ASSERT_EQ(c.destination_rules.size(), 1u);
  EXPECT_EQ(c.destination_rules[0].service_name, "llm-service");
  EXPECT_NE(c.find_subset("default", "llm-service", "v2"), nullptr);
}

// Alone, the seed names a Service nothing defines: an error pointing at each destination.
TEST(LoadExamples, IstioCanarySeedAloneNamesTheMissingService) {
  const std::string seed = read(kData + "/seed000_istio_canary.yaml");
  LoadResult r = load_string(seed, "seed000.yaml");
  EXPECT_FALSE(r.ok());
  for (int i : {0, 1}) {
    const int line = testing::line_of(seed, "- destination:", i + 1);
    EXPECT_TRUE(has_diagnostic(
        r.errors, "seed000.yaml:" + std::to_string(line + 1) +
                      ": document 3 (VirtualService/llm-virtual-service): spec.http[" +
                      std::to_string(i) +
                      "].route[0].destination.host: host \"llm-service\" names no Service "
                      "defined here (a short name is read in namespace \"default\")"))
        << render(r.errors);
  }
  EXPECT_EQ(r.errors.size(), 2u) << render(r.errors);
  EXPECT_TRUE(has_diagnostic(
      r.warnings, "seed000.yaml:" + std::to_string(testing::line_of(seed, "gateways:")) +
                      ": document 3 (VirtualService/llm-virtual-service): spec.gateways[0]: "
                      "gateway \"default/llm-gateway\" is not a Gateway defined here (Istio "
                      "Gateways are not supported); the VirtualService attaches to every listener"))
      << render(r.warnings);
}

TEST(LoadExamples, IstioSeedAsPublishedWithoutIndentationDoesNotCrash) {
  LoadResult r = load_path(kData + "/seed000_flattened.yaml");
  // Whatever it means, it is reported, not crashed on; the Deployment is still recognised.
  EXPECT_FALSE(r.warnings.empty() && r.errors.empty());
  for (const auto& d : r.errors) EXPECT_FALSE(d.message.empty());
}

}  // namespace
}  // namespace infergate::config
