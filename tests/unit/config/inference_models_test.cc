// GIE InferenceModel, InferenceObjective and InferenceModelRewrite: every field loads into the
// model, every problem is reported with file, line, document, resource and field path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::line_of;
using testing::render;

// Documents 1-3: pods, InferencePool "pool" (v1) in "default" and a v1alpha2 "pool" in "team".
const std::string kBase = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gc}
spec:
  endpoints:
  - {name: a1, address: 10.0.0.1, labels: {app: llm}}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool}
spec:
  selector: {matchLabels: {app: llm}}
  targetPorts: [{number: 8000}]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: {name: pool, namespace: team}
spec:
  selector: {app: llm}
  targetPortNumber: 8000
)";

// kBase + `extra` (document 4 onwards), loaded as "gie.yaml".
struct Loaded {
  std::string extra;
  LoadResult r;

  static int base_lines() {
    return static_cast<int>(std::count(kBase.begin(), kBase.end(), '\n')) + 1;
  }
  // File line of the nth line of `extra` holding `needle`.
  int line(std::string_view needle, int nth = 1) const {
    const int l = line_of(extra, needle, nth);
    EXPECT_GT(l, 0) << "fixture has no line with \"" << needle << "\"";
    return l + base_lines();
  }
  std::string at(std::string_view needle, int nth = 1) const {
    return "gie.yaml:" + std::to_string(line(needle, nth));
  }
  // "gie.yaml:<line of needle>: " + rest
  std::string diag(std::string_view needle, const std::string& rest, int nth = 1) const {
    return at(needle, nth) + ": " + rest;
  }
};

Loaded load(const std::string& extra) {
  return Loaded{extra, load_string(kBase + "---\n" + extra, "gie.yaml")};
}

std::string doc(std::string_view api, std::string_view kind, std::string_view meta,
                std::string_view spec) {
  return std::string("apiVersion: ") + std::string(api) + "\nkind: " + std::string(kind) +
         "\nmetadata: {" + std::string(meta) + "}\nspec:\n" + std::string(spec);
}
constexpr std::string_view kXApi = "inference.networking.x-k8s.io/v1alpha2";
constexpr std::string_view kApi = "inference.networking.k8s.io/v1alpha2";
std::string im(std::string_view spec, std::string_view meta = "name: m") {
  return doc(kXApi, "InferenceModel", meta, spec);
}
std::string obj(std::string_view spec, std::string_view meta = "name: o",
                std::string_view api = kXApi) {
  return doc(api, "InferenceObjective", meta, spec);
}
std::string rw(std::string_view spec, std::string_view meta = "name: rw",
               std::string_view api = kXApi) {
  return doc(api, "InferenceModelRewrite", meta, spec);
}
const std::string kPool = "  poolRef: {name: pool}\n";
const std::string kTargets = "    targets: [{modelRewrite: x}]\n";

TEST(InferenceModels, BaseIsValid) {
  LoadResult r = load_string(kBase, "gie.yaml");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << render(r.warnings);
}

TEST(InferenceModels, InferenceModelLoadsEveryField) {
  Loaded l = load(im(R"(  modelName: chat
  criticality: Critical
  targetModels:
  - name: chat-v1
    weight: 90
  - name: chat-v2
    weight: 10
  poolRef:
    group: inference.networking.k8s.io
    kind: InferencePool
    name: pool
)", "name: chat, creationTimestamp: \"2025-01-01T00:00:00Z\""));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.r.warnings.empty()) << render(l.r.warnings);
  ASSERT_EQ(l.r.config->inference_models.size(), 1u);
  const InferenceModel& m = l.r.config->inference_models[0];
  EXPECT_EQ(m.meta.name, "chat");
  EXPECT_EQ(m.meta.ns, "default");
  EXPECT_EQ(m.meta.creation_timestamp, "2025-01-01T00:00:00Z");
  EXPECT_EQ(m.api_version, kXApi);
  EXPECT_EQ(m.model_name, "chat");
  EXPECT_EQ(m.criticality, Criticality::Critical);
  EXPECT_TRUE(m.criticality_written);
  ASSERT_EQ(m.target_models.size(), 2u);
  EXPECT_EQ(m.target_models[0].name, "chat-v1");
  EXPECT_EQ(m.target_models[0].weight, 90u);
  EXPECT_EQ(m.target_models[0].line, l.line("- name: chat-v1"));
  EXPECT_EQ(m.target_models[1].name, "chat-v2");
  EXPECT_EQ(m.target_models[1].weight, 10u);
  EXPECT_EQ(m.pool_ref.group, "inference.networking.k8s.io");
  EXPECT_EQ(m.pool_ref.kind, "InferencePool");
  EXPECT_EQ(m.pool_ref.name, "pool");
  EXPECT_EQ(m.pool_ref.ns, "default");
  EXPECT_EQ(m.pool_ref.line, l.line("name: pool"));
  EXPECT_EQ(m.meta.source.document, 4);
}

TEST(InferenceModels, InferenceModelDefaults) {
  // No criticality = Standard; no weights = an equal split; no group/kind = an InferencePool;
  // a poolRef is read in the model's own namespace.
  Loaded l = load(im("  modelName: chat\n  targetModels: [{name: a}, {name: b}]\n" + kPool,
                     "name: m, namespace: team"));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  const InferenceModel& m = l.r.config->inference_models.at(0);
  EXPECT_EQ(m.criticality, Criticality::Standard);
  EXPECT_FALSE(m.criticality_written);
  ASSERT_EQ(m.target_models.size(), 2u);
  EXPECT_EQ(m.target_models[0].weight, 1u);
  EXPECT_EQ(m.target_models[1].weight, 1u);
  EXPECT_EQ(m.pool_ref.group, "");
  EXPECT_EQ(m.pool_ref.kind, "InferencePool");
  EXPECT_EQ(m.pool_ref.ns, "team");

  for (const char* c : {"Standard", "Sheddable"}) {
    l = load(im(std::string("  modelName: chat\n  criticality: ") + c + "\n" + kPool));
    ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
    EXPECT_EQ(l.r.config->inference_models.at(0).criticality,
              std::string_view(c) == "Standard" ? Criticality::Standard : Criticality::Sheddable);
    EXPECT_TRUE(l.r.config->inference_models.at(0).target_models.empty());
  }
}

TEST(InferenceModels, InferenceObjectiveInEveryAcceptedVersion) {
  for (const char* api : {"inference.networking.x-k8s.io/v1alpha2",
                          "inference.networking.k8s.io/v1alpha2",
                          "inference.networking.k8s.io/v1"}) {
    Loaded l = load(obj("  priority: -5\n  poolRef:\n    group: inference.networking.k8s.io\n"
                        "    kind: InferencePool\n    name: pool\n",
                        "name: batch, namespace: team", api));
    ASSERT_TRUE(l.r.ok()) << api << "\n" << render(l.r.errors);
    EXPECT_TRUE(l.r.warnings.empty()) << render(l.r.warnings);
    ASSERT_EQ(l.r.config->inference_objectives.size(), 1u);
    const InferenceObjective& o = l.r.config->inference_objectives[0];
    EXPECT_EQ(o.api_version, api);
    EXPECT_EQ(o.meta.name, "batch");
    EXPECT_EQ(o.priority, -5);
    EXPECT_EQ(o.pool_ref.ns, "team");
    EXPECT_EQ(o.pool_ref.name, "pool");
    EXPECT_EQ(o.pool_ref.line, l.line("name: pool"));
  }
  Loaded l = load(obj(kPool));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_FALSE(l.r.config->inference_objectives.at(0).priority.has_value());
  l = load(obj("  priority: 2147483647\n" + kPool) + "---\n" +
           obj("  priority: -2147483648\n" + kPool, "name: o2"));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_EQ(l.r.config->inference_objectives.at(0).priority, 2147483647);
  EXPECT_EQ(l.r.config->inference_objectives.at(1).priority, -2147483647 - 1);
}

TEST(InferenceModels, InferenceModelRewriteLoadsEveryField) {
  for (std::string_view api : {kXApi, kApi}) {
    Loaded l = load(rw(R"(  poolRef:
    group: inference.networking.k8s.io
    name: pool
  rules:
  - matches:
    - model:
        type: Exact
        value: small-lora
    - model: {value: small}
    targets:
    - modelRewrite: small-lora-v1
      weight: 90
    - modelRewrite: small-lora-v2
      weight: 10
  - matches: []
    targets:
    - modelRewrite: base
  - targets: [{modelRewrite: other}]
)", "name: rw", api));
    ASSERT_TRUE(l.r.ok()) << api << "\n" << render(l.r.errors);
    // The third rule is a second generic one, never reached (checked below).
    ASSERT_EQ(l.r.warnings.size(), 1u) << render(l.r.warnings);
    ASSERT_EQ(l.r.config->model_rewrites.size(), 1u);
    const InferenceModelRewrite& r = l.r.config->model_rewrites[0];
    EXPECT_EQ(r.api_version, api);
    EXPECT_EQ(r.pool_ref.group, "inference.networking.k8s.io");
    EXPECT_EQ(r.pool_ref.name, "pool");
    EXPECT_EQ(r.pool_ref.ns, "default");
    ASSERT_EQ(r.rules.size(), 3u);
    EXPECT_EQ(r.rules[0].line, l.line("- matches:"));
    EXPECT_EQ(r.rules[0].exact_models, (std::vector<std::string>{"small-lora", "small"}));
    ASSERT_EQ(r.rules[0].targets.size(), 2u);
    EXPECT_EQ(r.rules[0].targets[0].model_rewrite, "small-lora-v1");
    EXPECT_EQ(r.rules[0].targets[0].weight, 90u);
    EXPECT_EQ(r.rules[0].targets[0].line, l.line("- modelRewrite: small-lora-v1"));
    EXPECT_EQ(r.rules[0].targets[1].weight, 10u);
    EXPECT_TRUE(r.rules[1].exact_models.empty());
    ASSERT_EQ(r.rules[1].targets.size(), 1u);
    EXPECT_EQ(r.rules[1].targets[0].model_rewrite, "base");
    EXPECT_EQ(r.rules[1].targets[0].weight, 1u);  // absent = 1
    EXPECT_TRUE(r.rules[2].exact_models.empty());
  }
}

TEST(InferenceModels, UnknownVersionsAreErrors) {
  struct V {
    const char* api;
    const char* kind;
  };
  for (const V v : {V{"inference.networking.k8s.io/v1", "InferenceModel"},
                    V{"inference.networking.x-k8s.io/v1", "InferenceModel"},
                    V{"inference.networking.k8s.io/v1alpha2", "InferenceModel"},
                    V{"inference.networking.x-k8s.io/v1", "InferenceObjective"},
                    V{"inference.networking.k8s.io/v1beta1", "InferenceObjective"},
                    V{"inference.networking.k8s.io/v1", "InferenceModelRewrite"},
                    V{"inference.networking.x-k8s.io/v1alpha1", "InferenceModelRewrite"}}) {
    Loaded l = load(doc(v.api, v.kind, "name: x", "  modelName: chat\n" + kPool));
    EXPECT_TRUE(has_diagnostic(
        l.r.errors, l.diag("apiVersion:", std::string("document 4 (") + v.kind +
                                              "/x): apiVersion: kind " + v.kind +
                                              " is not supported in apiVersion \"" + v.api +
                                              "\"")))
        << render(l.r.errors);
  }
}

TEST(InferenceModels, NoLongerNotYetSupported) {
  Loaded l = load(im("  modelName: chat\n" + kPool) + "---\n" + obj(kPool) + "---\n" +
                  obj(kPool, "name: o2", "inference.networking.k8s.io/v1") + "---\n" +
                  rw(kPool + "  rules:\n  - matches: []\n" + kTargets) + "---\n" +
                  rw(kPool + "  rules:\n  - matches: [{model: {value: a}}]\n" + kTargets,
                     "name: rw2", kApi));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.r.warnings.empty()) << render(l.r.warnings);
  EXPECT_EQ(l.r.config->inference_models.size(), 1u);
  EXPECT_EQ(l.r.config->inference_objectives.size(), 2u);
  EXPECT_EQ(l.r.config->model_rewrites.size(), 2u);
}

enum class Kind { Error, Warning };

struct Case {
  std::string label;
  std::string yaml;    // appended to kBase (document 4)
  std::string needle;  // the line the diagnostic names
  std::string rest;    // "document 4 (Kind/name): path: message"
  Kind kind = Kind::Error;
};

const Case kCases[] = {
    // --- InferenceModel --------------------------------------------------------------------
    {"missing modelName", im(kPool), "poolRef:",
     "document 4 (InferenceModel/m): spec.modelName: is required"},
    {"empty modelName", im("  modelName: \"\"\n" + kPool), "modelName:",
     "document 4 (InferenceModel/m): spec.modelName: must be 1 to 256 characters"},
    {"modelName too long", im("  modelName: " + std::string(257, 'm') + "\n" + kPool),
     "modelName:", "document 4 (InferenceModel/m): spec.modelName: must be 1 to 256 characters"},
    {"bad criticality", im("  modelName: chat\n  criticality: High\n" + kPool), "criticality:",
     "document 4 (InferenceModel/m): spec.criticality: \"High\" is not one of: Critical, "
     "Standard, Sheddable"},
    {"mixed weights",
     im("  modelName: chat\n  targetModels:\n  - {name: a, weight: 50}\n  - {name: b}\n" + kPool),
     "targetModels:",
     "document 4 (InferenceModel/m): spec.targetModels: weights should be set for all models, "
     "or none of the models (GIE); 1 of 2 have one"},
    {"weight zero", im("  modelName: chat\n  targetModels: [{name: a, weight: 0}]\n" + kPool),
     "targetModels:",
     "document 4 (InferenceModel/m): spec.targetModels[0].weight: must be between 1 and 1000000"},
    {"weight too large",
     im("  modelName: chat\n  targetModels:\n  - name: a\n    weight: 1000001\n" + kPool),
     "weight: 1000001",
     "document 4 (InferenceModel/m): spec.targetModels[0].weight: must be between 1 and 1000000"},
    {"target without name", im("  modelName: chat\n  targetModels:\n  - weight: 5\n" + kPool),
     "- weight: 5", "document 4 (InferenceModel/m): spec.targetModels[0].name: is required"},
    {"eleven targetModels",
     im("  modelName: chat\n  targetModels: [{name: a}, {name: b}, {name: c}, {name: d}, "
        "{name: e}, {name: f}, {name: g}, {name: h}, {name: i}, {name: j}, {name: k}]\n" +
        kPool),
     "targetModels:",
     "document 4 (InferenceModel/m): spec.targetModels: must have at most 10 entries"},
    {"missing poolRef", im("  modelName: chat\n"), "modelName:",
     "document 4 (InferenceModel/m): spec.poolRef: is required"},
    {"dangling poolRef", im("  modelName: chat\n  poolRef:\n    name: nope\n"), "name: nope",
     "document 4 (InferenceModel/m): spec.poolRef.name: InferencePool \"default/nope\" is not "
     "defined (a poolRef names a pool in the resource's own namespace)"},
    {"pool in another namespace", im("  modelName: chat\n" + kPool, "name: m, namespace: other"),
     "poolRef:",
     "document 4 (InferenceModel/m): spec.poolRef.name: InferencePool \"other/pool\" is not "
     "defined (a poolRef names a pool in the resource's own namespace)"},
    {"poolRef of another kind", im("  modelName: chat\n  poolRef: {kind: Service, name: pool}\n"),
     "poolRef:",
     "document 4 (InferenceModel/m): spec.poolRef.kind: \"Service\" is not supported; only "
     "InferencePool"},
    {"poolRef of another group",
     im("  modelName: chat\n  poolRef: {group: apps, name: pool}\n"), "poolRef:",
     "document 4 (InferenceModel/m): spec.poolRef.group: \"apps\" is not an InferencePool group "
     "(inference.networking.k8s.io or inference.networking.x-k8s.io)"},
    {"poolRef without name", im("  modelName: chat\n  poolRef: {kind: InferencePool}\n"),
     "poolRef:", "document 4 (InferenceModel/m): spec.poolRef.name: is required"},
    {"unknown spec field", im("  modelName: chat\n  modelVersion: 2\n" + kPool), "modelVersion:",
     "document 4 (InferenceModel/m): spec.modelVersion: unknown field \"modelVersion\", ignored",
     Kind::Warning},
    {"unknown poolRef field", im("  modelName: chat\n  poolRef: {name: pool, namespace: team}\n"),
     "poolRef:",
     "document 4 (InferenceModel/m): spec.poolRef.namespace: unknown field \"namespace\", "
     "ignored",
     Kind::Warning},
    {"unknown targetModels field",
     im("  modelName: chat\n  targetModels:\n  - {name: a, adapter: true}\n" + kPool),
     "adapter:",
     "document 4 (InferenceModel/m): spec.targetModels[0].adapter: unknown field \"adapter\", "
     "ignored",
     Kind::Warning},
    // --- InferenceObjective ----------------------------------------------------------------
    {"objective without poolRef", obj("  priority: 1\n"), "priority:",
     "document 4 (InferenceObjective/o): spec.poolRef: is required"},
    {"priority not an integer", obj("  priority: high\n" + kPool), "priority:",
     "document 4 (InferenceObjective/o): spec.priority: must be an integer, got \"high\""},
    {"priority beyond int32", obj("  priority: 2147483648\n" + kPool), "priority:",
     "document 4 (InferenceObjective/o): spec.priority: must be between -2147483648 and "
     "2147483647"},
    {"objective dangling poolRef", obj("  poolRef: {name: nope}\n"), "poolRef:",
     "document 4 (InferenceObjective/o): spec.poolRef.name: InferencePool \"default/nope\" is "
     "not defined (a poolRef names a pool in the resource's own namespace)"},
    {"objective unknown field", obj("  criticality: Critical\n" + kPool), "criticality:",
     "document 4 (InferenceObjective/o): spec.criticality: unknown field \"criticality\", "
     "ignored",
     Kind::Warning},
    // --- InferenceModelRewrite -------------------------------------------------------------
    {"rewrite without rules", rw(kPool), "poolRef:",
     "document 4 (InferenceModelRewrite/rw): spec.rules: is required"},
    {"rewrite without poolRef", rw("  rules:\n  - matches: []\n" + kTargets), "rules:",
     "document 4 (InferenceModelRewrite/rw): spec.poolRef: is required"},
    {"rewrite dangling poolRef",
     rw("  poolRef: {name: nope}\n  rules:\n  - matches: []\n" + kTargets), "poolRef:",
     "document 4 (InferenceModelRewrite/rw): spec.poolRef.name: InferencePool \"default/nope\" "
     "is not defined (a poolRef names a pool in the resource's own namespace)"},
    {"bad match type",
     rw(kPool + "  rules:\n  - matches:\n    - model: {type: RegularExpression, value: a}\n" +
        kTargets),
     "- model:",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].matches[0].model.type: "
     "\"RegularExpression\" is not one of: Exact"},
    {"empty match value",
     rw(kPool + "  rules:\n  - matches:\n    - model: {value: \"\"}\n" + kTargets), "- model:",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].matches[0].model.value: must not be "
     "empty"},
    {"match without value", rw(kPool + "  rules:\n  - matches:\n    - model: {type: Exact}\n" +
                               kTargets),
     "- model:",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].matches[0].model.value: is required"},
    {"match without model", rw(kPool + "  rules:\n  - matches:\n    - {}\n" + kTargets), "- {}",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].matches[0].model: is required"},
    {"empty targets", rw(kPool + "  rules:\n  - matches: []\n    targets: []\n"), "targets:",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].targets: must have at least one "
     "target"},
    {"absent targets", rw(kPool + "  rules:\n  - matches: [{model: {value: a}}]\n"), "- matches:",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].targets: is required (at least one "
     "target)"},
    {"target without modelRewrite",
     rw(kPool + "  rules:\n  - matches: []\n    targets: [{weight: 3}]\n"), "targets:",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].targets[0].modelRewrite: is required"},
    {"empty modelRewrite",
     rw(kPool + "  rules:\n  - matches: []\n    targets: [{modelRewrite: \"\"}]\n"), "targets:",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].targets[0].modelRewrite: must not "
     "be empty"},
    {"rewrite weight out of range",
     rw(kPool + "  rules:\n  - matches: []\n    targets:\n    - modelRewrite: a\n"
                "      weight: 0\n"),
     "weight: 0",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].targets[0].weight: must be between 1 "
     "and 1000000"},
    {"duplicate model across rules",
     rw(kPool + "  rules:\n  - matches: [{model: {value: a}}]\n" + kTargets +
        "  - matches: [{model: {value: b}}, {model: {value: a}}]\n" + kTargets),
     "value: b",
     "document 4 (InferenceModelRewrite/rw): spec.rules[1].matches: model \"a\" is already "
     "matched by spec.rules[0], which wins",
     Kind::Warning},
    {"second generic rule",
     rw(kPool + "  rules:\n  - matches: []\n" + kTargets + "  - targets: [{modelRewrite: y}]\n"),
     "modelRewrite: y",
     "document 4 (InferenceModelRewrite/rw): spec.rules[1].matches: a generic rule (no matches) "
     "after spec.rules[0] is never used",
     Kind::Warning},
    {"some target weights",
     rw(kPool + "  rules:\n  - matches: []\n    targets: [{modelRewrite: a, weight: 9}, "
                "{modelRewrite: b}]\n"),
     "targets:",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].targets: weights are set on some "
     "targets only; each target without one counts as 1",
     Kind::Warning},
    {"empty rules", rw(kPool + "  rules: []\n"), "rules:",
     "document 4 (InferenceModelRewrite/rw): spec.rules: no rules: rewrites nothing",
     Kind::Warning},
    {"unknown rule field",
     rw(kPool + "  rules:\n  - matches: []\n    filters: []\n" + kTargets), "filters:",
     "document 4 (InferenceModelRewrite/rw): spec.rules[0].filters: unknown field \"filters\", "
     "ignored",
     Kind::Warning},
};

class InferenceDiagnostics : public ::testing::TestWithParam<Case> {};

TEST_P(InferenceDiagnostics, ReportedExactly) {
  const Case& k = GetParam();
  Loaded l = load(k.yaml);
  const std::string expected = l.diag(k.needle, k.rest);
  if (k.kind == Kind::Error) {
    EXPECT_FALSE(l.r.ok());
    EXPECT_TRUE(has_diagnostic(l.r.errors, expected))
        << "wanted " << expected << "\n" << render(l.r.errors);
  } else {
    ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
    EXPECT_TRUE(has_diagnostic(l.r.warnings, expected))
        << "wanted " << expected << "\n" << render(l.r.warnings);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, InferenceDiagnostics, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (char c : info.param.label)
                             name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

TEST(InferenceModels, DuplicateNamesPerKindAreErrors) {
  struct K {
    std::string kind;
    std::string yaml;
  };
  for (const K& k : {K{"InferenceModel", im("  modelName: a\n" + kPool, "name: x")},
                     K{"InferenceObjective", obj(kPool, "name: x")},
                     K{"InferenceModelRewrite",
                       rw(kPool + "  rules:\n  - matches: []\n" + kTargets, "name: x")}}) {
    Loaded l = load(k.yaml + "---\n" + k.yaml);
    EXPECT_TRUE(has_diagnostic(l.r.errors,
                               l.diag("apiVersion:",
                                      "document 5 (" + k.kind + "/x): metadata.name: duplicate " +
                                          k.kind + " \"default/x\" (first defined at " +
                                          l.at("apiVersion:") + ")",
                                      2)))
        << render(l.r.errors);
  }
  // The same name in another namespace, or of another kind, is another resource.
  Loaded l = load(im("  modelName: a\n" + kPool, "name: x") + "---\n" +
                  im("  modelName: a\n" + kPool, "name: x, namespace: team") + "---\n" +
                  obj(kPool, "name: x"));
  EXPECT_TRUE(l.r.ok()) << render(l.r.errors);
}

TEST(InferenceModels, DuplicateModelNameOnAPoolOldestWins) {
  // Written newest first: the warning goes to the newer one whatever the document order.
  Loaded l = load(im("  modelName: chat\n  criticality: Sheddable\n" + kPool,
                     "name: newer, creationTimestamp: \"2025-06-01T00:00:00Z\"") +
                  "---\n" +
                  im("  modelName: chat\n  criticality: Critical\n" + kPool,
                     "name: older, creationTimestamp: \"2024-01-01T00:00:00Z\"") +
                  "---\n" +
                  // Same modelName on another pool: no conflict.
                  im("  modelName: chat\n" + kPool, "name: elsewhere, namespace: team"));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  ASSERT_EQ(l.r.warnings.size(), 1u) << render(l.r.warnings);
  EXPECT_EQ(l.r.warnings[0].to_string(),
            l.diag("apiVersion:",
                   "document 4 (InferenceModel/newer): spec.modelName: modelName \"chat\" on "
                   "InferencePool \"default/pool\" is also claimed by InferenceModel/older (" +
                       l.at("apiVersion:", 2) +
                       "); the oldest one, InferenceModel/older, is used and "
                       "InferenceModel/newer is not"));
  const auto& models = l.r.config->inference_models;
  ASSERT_EQ(models.size(), 3u);
  EXPECT_EQ(models[0].meta.name, "older");
  EXPECT_EQ(models[1].meta.name, "newer");
  EXPECT_EQ(models[2].meta.name, "elsewhere");  // no timestamp: the newest
}

TEST(InferenceModels, RewritesSortOldestFirstAndLaterOverlapsWarn) {
  const std::string rules_a = "  rules:\n  - matches: [{model: {value: a}}]\n" + kTargets +
                              "  - matches: []\n" + kTargets;
  Loaded l = load(rw(kPool + rules_a, "name: young") + "---\n" +
                  rw(kPool + rules_a, "name: old, creationTimestamp: \"2024-01-01T00:00:00Z\"") +
                  "---\n" + rw(kPool + rules_a, "name: other-pool, namespace: team"));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  const auto& rws = l.r.config->model_rewrites;
  ASSERT_EQ(rws.size(), 3u);
  EXPECT_EQ(rws[0].meta.name, "old");
  EXPECT_EQ(rws[1].meta.name, "other-pool");  // no timestamp; ties by name
  EXPECT_EQ(rws[2].meta.name, "young");
  ASSERT_EQ(l.r.warnings.size(), 2u) << render(l.r.warnings);
  const std::string old_at = l.at("apiVersion:", 2);
  EXPECT_TRUE(has_diagnostic(
      l.r.warnings,
      l.diag("- matches: [{model",
             "document 4 (InferenceModelRewrite/young): spec.rules[0].matches: model \"a\" on "
             "InferencePool \"default/pool\" is already matched by InferenceModelRewrite/old (" +
                 old_at + "), which is older and wins")))
      << render(l.r.warnings);
  EXPECT_TRUE(has_diagnostic(
      l.r.warnings,
      l.diag("- matches: []",
             "document 4 (InferenceModelRewrite/young): spec.rules[1].matches: "
             "InferenceModelRewrite/old (" +
                 old_at +
                 ") already has a generic rule on InferencePool \"default/pool\"; the oldest "
                 "one is used and this one never is")))
      << render(l.r.warnings);
}

}  // namespace
}  // namespace infergate::config
