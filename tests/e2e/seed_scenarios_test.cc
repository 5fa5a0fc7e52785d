// The two seed scenarios, from the shipped examples/ configs (ports moved to free ones), as
// their home systems would serve them: the Istio VirtualService (header v1 -> subset v1,
// everything else -> the lone v2 destination, whose weight 10 Istio ignores) and the GKE
// HTTPRoute splitting 90/10 between two InferencePools with `rules:` written as a mapping.
// Then the canary moves through the admin API, as each example's README shows.
#include <fstream>
#include <sstream>

#include "tests/e2e/canary_util.h"

namespace infergate::e2e {
namespace {

// An example's files as one config, its fixed ports replaced.
std::string example_config(const std::vector<std::string>& files, const std::vector<std::pair<int, uint16_t>>& ports) {
  std::string y;
  for (const auto& f : files) {
    if (!y.empty()) y += "\n---\n";
    y += read_source(f);
  }
  for (const auto& [from, to] : ports) replace_all(y, "port: " + std::to_string(from) + "\n", "port: " + std::to_string(to) + "\n");
  return y;
}

std::map<std::string, int> by_prefix(const std::map<std::string, int>& seen) {
  std::map<std::string, int> out;
  for (const auto& [instance, n] : seen) out[instance.substr(0, instance.rfind('-'))] += n;  // v1-a -> v1, llm-new-a -> llm-new
  return out;
}

TEST(SeedScenarios, IstioCanaryServesAsIstioDoesAndMovesThroughTheAdminApi) {
  Modelsim v1a({"--name", "v1-a"}), v1b({"--name", "v1-b"}), v2a({"--name", "v2-a"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return example_config({"examples/istio-canary/cluster.yaml", "examples/istio-canary/seed.yaml"},
                          {{8081, port}, {9902, admin}, {18011, v1a.port()}, {18012, v1b.port()}, {18013, v2a.port()}});
  });
  EXPECT_TRUE(gw.process().wait_err("weight 10 on the only destination is ignored", scaled(1000)));
  const Headers host = {{"Host", "llm-service"}};
  Headers v1_header = host;
  v1_header.emplace_back("version", "v1");

  auto seen = count_instances(gw.port(), 40, v1_header);
  EXPECT_EQ(seen["v1-a"] + seen["v1-b"], 40) << "the header route";
  seen = count_instances(gw.port(), 40, host);
  EXPECT_EQ(seen["v2-a"], 40) << "the lone v2 destination gets everything else";
  // A host the VirtualService does not serve: no route.
  EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {{"Host", "other"}}, chat_body(1, false)).status, 404);

  // What the post meant by weight 10: a 90/10 split on the default route.
  HttpResponse r = gw.admin("POST", "/weights", R"({"name":"llm-virtual-service","rule":1,"weights":{"v1":90,"v2":10}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto split = by_prefix(count_instances(gw.port(), 200, host));
  EXPECT_NEAR(split["v2"], 20, 2);
  EXPECT_EQ(split["v1"] + split["v2"], 200);
  // Header traffic is untouched by the split.
  EXPECT_EQ(by_prefix(count_instances(gw.port(), 20, v1_header))["v1"], 20);
  // Rollback.
  ASSERT_EQ(gw.admin("POST", "/weights", R"({"name":"llm-virtual-service","rule":1,"weights":{"v1":100,"v2":0}})").status, 200);
  EXPECT_EQ(by_prefix(count_instances(gw.port(), 50, host))["v1"], 50);
}

TEST(SeedScenarios, GkeTwoPoolRolloutSplitsNinetyTenExactly) {
  Modelsim a({"--name", "llm-a"}), b({"--name", "llm-b"}), na({"--name", "llm-new-a"}), nb({"--name", "llm-new-b"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return example_config({"examples/gke-pool-rollout/cluster.yaml", "examples/gke-pool-rollout/routes-to-llm.yaml"},
                          {{8082, port}, {9903, admin}, {18021, a.port()}, {18022, b.port()}, {18023, na.port()},
                           {18024, nb.port()}});
  });
  // The guide's `rules:` mapping is accepted, with a warning naming its line.
  EXPECT_TRUE(gw.process().wait_err("spec.rules: is a mapping, not a list", scaled(1000))) << gw.process().err();
  auto split = by_prefix(count_instances(gw.port(), 1000));
  EXPECT_NEAR(split["llm-new"], 100, 10) << "90/10 over 1,000 requests within 1 %";
  EXPECT_EQ(split["llm"] + split["llm-new"], 1000);

  // The guide's next steps: increase llm-new gradually, then finish (or roll back).
  for (unsigned share : {50u, 100u, 0u}) {
    HttpResponse r = gw.admin("POST", "/weights",
                              "{\"name\":\"routes-to-llm\",\"weights\":{\"llm\":" + std::to_string(100 - share) +
                                  ",\"llm-new\":" + std::to_string(share) + "}}");
    ASSERT_EQ(r.status, 200) << r.body;
    split = by_prefix(count_instances(gw.port(), 200));
    EXPECT_NEAR(split["llm-new"], 2 * share, 2) << share << "% to llm-new";
  }
}

}  // namespace
}  // namespace infergate::e2e
