// ModelRewriteTable: precedence of rewrite rules over InferenceModels over generic rules,
// oldest-wins, weighted splits, criticality and objective priority per pool. Draws are
// deterministic, so the proportions cannot flake.
#include "routing/model_rewrite.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/cluster_names.h"

namespace infergate::routing {
namespace {

using config::Criticality;

const std::string kPool = config::inference_pool_cluster_name("default", "pool");
const std::string kTeamPool = config::inference_pool_cluster_name("team", "pool");

config::PoolRef pool_ref(std::string ns = "default", std::string name = "pool") {
  config::PoolRef r;
  r.name = std::move(name);
  r.ns = std::move(ns);
  return r;
}

using Weighted = std::vector<std::pair<std::string, uint32_t>>;

config::InferenceModel model(std::string name, std::string model_name, Weighted targets = {},
                             Criticality criticality = Criticality::Standard,
                             config::PoolRef ref = pool_ref()) {
  config::InferenceModel m;
  m.meta.name = std::move(name);
  m.meta.ns = ref.ns;
  m.model_name = std::move(model_name);
  m.criticality = criticality;
  for (auto& [n, w] : targets) {
    config::TargetModel t;
    t.name = n;
    t.weight = w;
    m.target_models.push_back(std::move(t));
  }
  m.pool_ref = std::move(ref);
  return m;
}

// A rule matching `models` exactly (none = generic), rewriting to `targets`.
config::ModelRewriteRule rule(std::vector<std::string> models, Weighted targets) {
  config::ModelRewriteRule r;
  r.exact_models = std::move(models);
  for (auto& [n, w] : targets) {
    config::ModelRewriteTarget t;
    t.model_rewrite = n;
    t.weight = w;
    r.targets.push_back(std::move(t));
  }
  return r;
}

config::InferenceModelRewrite rewrite(std::string name, std::vector<config::ModelRewriteRule> rules,
                                      config::PoolRef ref = pool_ref()) {
  config::InferenceModelRewrite rw;
  rw.meta.name = std::move(name);
  rw.meta.ns = ref.ns;
  rw.pool_ref = std::move(ref);
  rw.rules = std::move(rules);
  return rw;
}

config::InferenceObjective objective(std::string name, std::optional<int32_t> priority,
                                     config::PoolRef ref = pool_ref()) {
  config::InferenceObjective o;
  o.meta.name = std::move(name);
  o.meta.ns = ref.ns;
  o.priority = priority;
  o.pool_ref = std::move(ref);
  return o;
}

std::string rewritten(const ModelRewriteTable& t, std::string_view pool, std::string_view m,
                      uint64_t draw = 0) {
  auto r = t.rewrite(pool, m, draw);
  return r ? std::string(*r) : std::string("<none>");
}

// How `n` draws spread evenly over [0, 2^64) are rewritten.
std::map<std::string, int> spread(const ModelRewriteTable& t, std::string_view m, int n) {
  std::map<std::string, int> counts;
  const uint64_t step = std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(n);
  for (int i = 0; i < n; ++i) ++counts[rewritten(t, kPool, m, step / 2 + step * i)];
  return counts;
}

TEST(ModelRewriteTable, EmptyConfigRewritesNothing) {
  auto t = ModelRewriteTable::build(config::Config{});
  EXPECT_TRUE(t->empty());
  EXPECT_EQ(t->rewrite(kPool, "chat", 0), std::nullopt);
  EXPECT_EQ(t->criticality(kPool, "chat"), Criticality::Standard);
  EXPECT_EQ(t->objective_priority(kPool, "batch"), std::nullopt);
}

TEST(ModelRewriteTable, ExactRulesThenInferenceModelsThenGenericRules) {
  config::Config c;
  c.model_rewrites = {rewrite("rw", {rule({"a"}, {{"a-rewritten", 1}}),
                                     rule({}, {{"fallback", 1}})})};
  c.inference_models = {model("ma", "a", {{"a-model", 1}}), model("mb", "b", {{"b-model", 1}}),
                        model("mc", "c")};
  auto t = ModelRewriteTable::build(c);
  EXPECT_FALSE(t->empty());
  EXPECT_EQ(rewritten(*t, kPool, "a"), "a-rewritten");  // the rule beats the InferenceModel
  EXPECT_EQ(rewritten(*t, kPool, "b"), "b-model");      // the InferenceModel beats generic
  // Claimed without targetModels: served as named, and not a model for the generic rule.
  EXPECT_EQ(rewritten(*t, kPool, "c"), "<none>");
  EXPECT_EQ(rewritten(*t, kPool, "unknown"), "fallback");
  EXPECT_EQ(rewritten(*t, kPool, ""), "fallback");
}

TEST(ModelRewriteTable, WithoutGenericRulesUnknownModelsAreNotRewritten) {
  config::Config c;
  c.model_rewrites = {rewrite("rw", {rule({"a", "b"}, {{"ab", 1}})})};
  auto t = ModelRewriteTable::build(c);
  EXPECT_EQ(rewritten(*t, kPool, "a"), "ab");
  EXPECT_EQ(rewritten(*t, kPool, "b"), "ab");
  EXPECT_EQ(rewritten(*t, kPool, "c"), "<none>");
  EXPECT_EQ(rewritten(*t, kPool, "A"), "<none>");  // Exact is case-sensitive
}

TEST(ModelRewriteTable, OldestResourceAndFirstRuleWin) {
  config::Config c;  // as the loader hands it over: oldest first
  c.model_rewrites = {
      rewrite("old", {rule({"a"}, {{"from-old-rule0", 1}}), rule({"a", "b"}, {{"from-old-rule1", 1}}),
                      rule({}, {{"old-generic", 1}}), rule({}, {{"old-generic-2", 1}})}),
      rewrite("young", {rule({"a", "b", "c"}, {{"from-young", 1}}), rule({}, {{"young-generic", 1}})}),
  };
  c.inference_models = {model("old", "m", {{"old-target", 1}}, Criticality::Critical),
                        model("young", "m", {{"young-target", 1}}, Criticality::Sheddable)};
  auto t = ModelRewriteTable::build(c);
  EXPECT_EQ(rewritten(*t, kPool, "a"), "from-old-rule0");
  EXPECT_EQ(rewritten(*t, kPool, "b"), "from-old-rule1");
  EXPECT_EQ(rewritten(*t, kPool, "c"), "from-young");
  EXPECT_EQ(rewritten(*t, kPool, "zzz"), "old-generic");
  EXPECT_EQ(rewritten(*t, kPool, "m"), "old-target");
  EXPECT_EQ(t->criticality(kPool, "m"), Criticality::Critical);
}

TEST(ModelRewriteTable, NinetyTenSplitOverManyDraws) {
  config::Config c;
  c.model_rewrites = {rewrite("rw", {rule({"lora"}, {{"lora-v1", 90}, {"lora-v2", 10}})})};
  c.inference_models = {model("chat", "chat", {{"chat-v1", 900000}, {"chat-v2", 100000}})};
  auto t = ModelRewriteTable::build(c);
  for (const char* m : {"lora", "chat"}) {
    auto counts = spread(*t, m, 10000);
    const std::string v1 = std::string(m) + "-v1", v2 = std::string(m) + "-v2";
    EXPECT_EQ(counts.size(), 2u) << m;
    EXPECT_NEAR(counts[v1], 9000, 100) << m;
    EXPECT_NEAR(counts[v2], 1000, 100) << m;
  }
  // The ends of the draw range land on the first and the last target.
  EXPECT_EQ(rewritten(*t, kPool, "lora", 0), "lora-v1");
  EXPECT_EQ(rewritten(*t, kPool, "lora", std::numeric_limits<uint64_t>::max()), "lora-v2");
}

TEST(ModelRewriteTable, UnweightedTargetsSplitEqually) {
  config::Config c;  // the loader gives unweighted targets weight 1
  c.inference_models = {model("m", "chat", {{"a", 1}, {"b", 1}, {"c", 1}})};
  c.model_rewrites = {rewrite("rw", {rule({}, {{"x", 1}, {"y", 1}})})};
  auto t = ModelRewriteTable::build(c);
  for (const auto& [name, n] : spread(*t, "chat", 9000)) EXPECT_NEAR(n, 3000, 90) << name;
  for (const auto& [name, n] : spread(*t, "unknown", 10000)) EXPECT_NEAR(n, 5000, 100) << name;
}

TEST(ModelRewriteTable, ATargetMayNameTheIncomingModel) {
  config::Config c;
  c.model_rewrites = {rewrite("canary", {rule({"chat"}, {{"chat", 50}, {"chat-canary", 50}})})};
  auto t = ModelRewriteTable::build(c);
  auto counts = spread(*t, "chat", 1000);
  EXPECT_NEAR(counts["chat"], 500, 10);
  EXPECT_NEAR(counts["chat-canary"], 500, 10);
}

TEST(ModelRewriteTable, PoolsAreSeparate) {
  config::Config c;
  c.model_rewrites = {rewrite("rw", {rule({"a"}, {{"team-a", 1}})}, pool_ref("team"))};
  c.inference_models = {model("m", "a", {{"default-a", 1}}, Criticality::Sheddable)};
  auto t = ModelRewriteTable::build(c);
  EXPECT_EQ(rewritten(*t, kPool, "a"), "default-a");
  EXPECT_EQ(rewritten(*t, kTeamPool, "a"), "team-a");
  EXPECT_EQ(rewritten(*t, config::inference_pool_cluster_name("default", "other"), "a"),
            "<none>");
  EXPECT_EQ(rewritten(*t, "service/default/pool/80", "a"), "<none>");
  EXPECT_EQ(t->criticality(kTeamPool, "a"), Criticality::Standard);
}

TEST(ModelRewriteTable, CriticalityOfTheClaimingModel) {
  config::Config c;
  c.inference_models = {model("a", "critical", {}, Criticality::Critical),
                        model("b", "sheddable", {{"s-v1", 1}}, Criticality::Sheddable),
                        model("c", "standard")};
  auto t = ModelRewriteTable::build(c);
  EXPECT_EQ(t->criticality(kPool, "critical"), Criticality::Critical);
  EXPECT_EQ(t->criticality(kPool, "sheddable"), Criticality::Sheddable);
  EXPECT_EQ(t->criticality(kPool, "standard"), Criticality::Standard);
  EXPECT_EQ(t->criticality(kPool, "s-v1"), Criticality::Standard);  // a target claims nothing
  EXPECT_EQ(t->criticality(kPool, "unknown"), Criticality::Standard);
  EXPECT_EQ(t->criticality(kTeamPool, "critical"), Criticality::Standard);
}

TEST(ModelRewriteTable, ObjectivePriorityPerPool) {
  config::Config c;
  c.inference_objectives = {objective("batch", -5), objective("interactive", 10),
                            objective("plain", std::nullopt),
                            objective("team-only", 3, pool_ref("team")),
                            objective("other-pool", 7, pool_ref("default", "other"))};
  auto t = ModelRewriteTable::build(c);
  EXPECT_FALSE(t->empty());
  EXPECT_EQ(t->objective_priority(kPool, "batch"), -5);
  EXPECT_EQ(t->objective_priority(kPool, "interactive"), 10);
  EXPECT_EQ(t->objective_priority(kPool, "plain"), 0);  // unset reads as 0 (GIE)
  EXPECT_EQ(t->objective_priority(kPool, "team-only"), std::nullopt);
  EXPECT_EQ(t->objective_priority(kTeamPool, "team-only"), 3);
  EXPECT_EQ(t->objective_priority(kPool, "other-pool"), std::nullopt);
  EXPECT_EQ(t->objective_priority(kPool, "missing"), std::nullopt);
  EXPECT_EQ(t->objective_priority("inferencepool/nowhere/x", "batch"), std::nullopt);
  // Objectives do not rewrite models.
  EXPECT_EQ(rewritten(*t, kPool, "batch"), "<none>");
}

TEST(ModelRewriteTable, ResultsOutliveTheConfig) {
  std::shared_ptr<const ModelRewriteTable> t;
  {
    config::Config c;
    c.model_rewrites = {rewrite("rw", {rule({"a"}, {{std::string(100, 'x'), 1}})})};
    t = ModelRewriteTable::build(c);
  }
  auto r = t->rewrite(kPool, std::string("a"), 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, std::string(100, 'x'));
}

}  // namespace
}  // namespace infergate::routing
