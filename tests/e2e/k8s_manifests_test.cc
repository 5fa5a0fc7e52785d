// The Kubernetes deployment (docker/k8s) as `kubectl kustomize` renders it: the kinds it
// needs are there, the ClusterRole is least-privilege (writes only on */status, the three
// kinds a Rollout moves weights in, and leases only through the namespaced Role; no list or
// watch on Secrets), the edge Deployment runs in Kubernetes mode with its service account,
// probes on the stats port and a preStop hook that works against the real binary, the admin
// port is never exposed, and the CRD schemas are structural and accept every GatewayConfig
// and Rollout the project ships (checked by a small structural-schema walker below, which
// also has to refuse an unknown field, a wrong type, a bad enum or duration).
#include <yaml-cpp/yaml.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <regex>
#include <set>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

namespace fs = std::filesystem;

std::string str(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : std::string(); }
bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
std::vector<std::string> strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence())
    for (const auto& e : n) out.push_back(str(e));
  return out;
}

// ---- the rendered manifests --------------------------------------------------------------

struct Rendered {
  std::vector<YAML::Node> docs;
  std::string error;  // why rendering failed ("" when it worked)

  std::vector<YAML::Node> of(const std::string& kind) const {
    std::vector<YAML::Node> out;
    for (const auto& d : docs)
      if (str(d["kind"]) == kind) out.push_back(d);
    return out;
  }
  YAML::Node one(const std::string& kind, const std::string& name) const {
    for (const auto& d : of(kind))
      if (str(d["metadata"]["name"]) == name) return d;
    return YAML::Node();
  }
};

Rendered render(const std::string& kubectl) {
  Rendered r;
  CommandResult res = run_command({kubectl, "kustomize", source_path("docker/k8s")}, milliseconds(8000));
  if (res.exit_code != 0) {
    r.error = "kubectl kustomize docker/k8s failed (" + std::to_string(res.exit_code) + "): " + res.err;
    return r;
  }
  try {
    for (const auto& d : YAML::LoadAll(res.out))
      if (d.IsMap()) r.docs.push_back(d);
  } catch (const YAML::Exception& e) {
    r.error = std::string("rendered YAML does not parse: ") + e.what();
  }
  return r;
}

#define RENDER_OR_SKIP(r)                        \
  E2E_REQUIRE_TOOL(kubectl_, "kubectl");         \
  const Rendered r = render(kubectl_);           \
  ASSERT_TRUE(r.error.empty()) << r.error;       \
  ASSERT_FALSE(r.docs.empty())

// The GatewayConfig documents embedded in ConfigMaps: (ConfigMap/key, text).
std::vector<std::pair<std::string, std::string>> embedded_gateway_configs(const Rendered& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& cm : r.of("ConfigMap")) {
    if (!cm["data"]) continue;
    for (const auto& kv : cm["data"]) {
      const std::string text = str(kv.second);
      if (text.find("kind: GatewayConfig") != std::string::npos)
        out.emplace_back(str(cm["metadata"]["name"]) + "/" + str(kv.first), text);
    }
  }
  return out;
}

YAML::Node gateway_config_of(const std::string& text) {
  for (const auto& d : YAML::LoadAll(text))
    if (str(d["kind"]) == "GatewayConfig") return d;
  return YAML::Node();
}

YAML::Node infergate_container(const YAML::Node& workload) {
  for (const auto& c : workload["spec"]["template"]["spec"]["containers"])
    if (str(c["image"]).find("infergate") != std::string::npos && str(c["name"]) == "infergate") return c;
  return YAML::Node();
}

// ---- a structural-schema checker (the subset of OpenAPI v3 CRDs use) -----------------------

// How Kubernetes (JSON, or YAML 1.2's core schema) types a plain scalar.
std::string scalar_type(const YAML::Node& n) {
  if (n.Tag() == "!") return "string";  // quoted
  const std::string& s = n.Scalar();
  static const std::regex kInt(R"([-+]?[0-9]+)");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s == "true" || s == "false" || s == "True" || s == "False" || s == "TRUE" || s == "FALSE") return "boolean";
  if (std::regex_match(s, kInt)) return "integer";
  if (std::regex_match(s, kFloat)) return "number";
  return "string";
}

bool is_null(const YAML::Node& n) {
  if (!n || n.IsNull()) return true;
  return n.IsScalar() && n.Tag() != "!" && (n.Scalar() == "~" || n.Scalar() == "null" || n.Scalar() == "Null");
}

class SchemaChecker {
 public:
  std::vector<std::string> errors;

  void check(const YAML::Node& schema, const YAML::Node& value, const std::string& path) {
    if (is_null(value)) return;  // the API server drops nulls of non-nullable fields
    const bool preserve = schema["x-kubernetes-preserve-unknown-fields"].as<bool>(false);
    if (schema["x-kubernetes-int-or-string"].as<bool>(false)) {
      const std::string t = value.IsScalar() ? scalar_type(value) : "";
      if (t != "integer" && t != "string") fail(path, "must be an integer or a string");
      return;
    }
    const std::string type = str(schema["type"]);
    if (type.empty() && preserve) return;
    if (type == "object") {
      if (!value.IsMap()) return fail(path, "must be an object");
      for (const auto& kv : value) {
        const std::string key = str(kv.first);
        const std::string sub = path + "." + key;
        if (schema["properties"] && schema["properties"][key]) {
          check(schema["properties"][key], kv.second, sub);
        } else if (schema["additionalProperties"] && schema["additionalProperties"].IsMap()) {
          check(schema["additionalProperties"], kv.second, sub);
        } else if (schema["properties"] && !preserve) {
          fail(sub, "unknown field");
        }
        // An object without properties (metadata) is the API server's to judge.
      }
      for (const auto& req : schema["required"])
        if (is_null(value[str(req)])) fail(path + "." + str(req), "is required");
    } else if (type == "array") {
      if (!value.IsSequence()) return fail(path, "must be a list");
      if (schema["minItems"] && value.size() < schema["minItems"].as<size_t>()) fail(path, "too few items");
      if (schema["maxItems"] && value.size() > schema["maxItems"].as<size_t>()) fail(path, "too many items");
      for (size_t i = 0; i < value.size(); ++i) check(schema["items"], value[i], path + "[" + std::to_string(i) + "]");
    } else if (type == "string" || type == "integer" || type == "number" || type == "boolean") {
      if (!value.IsScalar()) return fail(path, "must be a " + type);
      const std::string t = scalar_type(value);
      const bool ok = t == type || (type == "number" && t == "integer");
      if (!ok) return fail(path, "must be a " + type + ", got " + t + " \"" + value.Scalar() + "\"");
      check_scalar(schema, value.Scalar(), type, path);
    } else {
      fail(path, "schema has no type \"" + type + "\"");
    }
    check_combinators(schema, value, path);
  }

 private:
  void fail(const std::string& path, const std::string& why) { errors.push_back(path + ": " + why); }

  void check_scalar(const YAML::Node& schema, const std::string& v, const std::string& type, const std::string& path) {
    if (schema["enum"] && !contains(strings(schema["enum"]), v)) fail(path, "\"" + v + "\" is not in the enum");
    if (type == "string") {
      if (schema["pattern"] && !std::regex_search(v, std::regex(str(schema["pattern"]))))
        fail(path, "\"" + v + "\" does not match " + str(schema["pattern"]));
      if (schema["minLength"] && v.size() < schema["minLength"].as<size_t>()) fail(path, "too short");
      if (schema["maxLength"] && v.size() > schema["maxLength"].as<size_t>()) fail(path, "too long");
    } else if (type == "integer" || type == "number") {
      const long double x = std::stold(v);
      if (schema["minimum"] && x < schema["minimum"].as<long double>()) fail(path, v + " is below the minimum");
      if (schema["maximum"] && x > schema["maximum"].as<long double>()) fail(path, v + " is above the maximum");
    }
  }

  // oneOf / anyOf of value validations (`required` lists): how many of them `value` passes.
  void check_combinators(const YAML::Node& schema, const YAML::Node& value, const std::string& path) {
    for (const char* key : {"oneOf", "anyOf"}) {
      if (!schema[key]) continue;
      size_t passed = 0;
      for (const auto& alt : schema[key]) {
        SchemaChecker sub;
        YAML::Node typed = YAML::Clone(alt);
        if (!typed["type"]) typed["type"] = schema["type"];
        if (schema["properties"] && !typed["properties"]) typed["x-kubernetes-preserve-unknown-fields"] = true;
        sub.check(typed, value, path);
        passed += sub.errors.empty();
      }
      if (std::string(key) == "oneOf" ? passed != 1 : passed == 0)
        fail(path, std::string("matches ") + std::to_string(passed) + " of its " + key + " alternatives");
    }
  }
};

// Kubernetes' rules for a structural schema: every property, item and additionalProperties
// has a type (or int-or-string / preserve-unknown-fields), and oneOf/anyOf/allOf/not hold
// value validations only (no type, description, default, additionalProperties, nullable).
void check_structural(const YAML::Node& s, const std::string& path, bool in_combinator,
                      std::vector<std::string>* errors) {
  const bool exempt = s["x-kubernetes-int-or-string"].as<bool>(false) ||
                      s["x-kubernetes-preserve-unknown-fields"].as<bool>(false);
  if (in_combinator) {
    for (const char* k : {"type", "description", "default", "additionalProperties", "nullable"})
      if (s[k]) errors->push_back(path + ": " + k + " inside a combinator");
  } else if (!s["type"] && !exempt) {
    errors->push_back(path + ": no type");
  }
  if (s["properties"])
    for (const auto& kv : s["properties"]) check_structural(kv.second, path + "." + str(kv.first), in_combinator, errors);
  if (s["items"]) check_structural(s["items"], path + "[]", in_combinator, errors);
  if (s["additionalProperties"] && s["additionalProperties"].IsMap())
    check_structural(s["additionalProperties"], path + ".*", in_combinator, errors);
  if (s["properties"] && s["additionalProperties"]) errors->push_back(path + ": properties and additionalProperties");
  for (const char* k : {"oneOf", "anyOf", "allOf"})
    for (const auto& alt : s[k]) check_structural(alt, path + "." + k, true, errors);
}

// kind -> the storage version's openAPIV3Schema, for infergate.dev's CRDs.
std::map<std::string, YAML::Node> infergate_schemas(const Rendered& r) {
  std::map<std::string, YAML::Node> out;
  for (const auto& crd : r.of("CustomResourceDefinition")) {
    if (str(crd["spec"]["group"]) != "infergate.dev") continue;
    for (const auto& v : crd["spec"]["versions"])
      if (v["storage"].as<bool>(false)) out[str(crd["spec"]["names"]["kind"])] = v["schema"]["openAPIV3Schema"];
  }
  return out;
}

std::vector<std::string> validate(const YAML::Node& schema, const std::string& yaml) {
  SchemaChecker c;
  c.check(schema, YAML::Load(yaml), "");
  return c.errors;
}

// ---- tests -------------------------------------------------------------------------------

TEST(K8sManifestsE2E, RenderHasEveryKindTheDeploymentNeeds) {
  RENDER_OR_SKIP(r);
  for (const char* kind : {"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                           "Role", "RoleBinding", "ConfigMap", "Deployment", "StatefulSet", "Service",
                           "PodDisruptionBudget", "GatewayClass", "Gateway", "HTTPRoute", "InferencePool"})
    EXPECT_FALSE(r.of(kind).empty()) << "no " << kind;
  const auto schemas = infergate_schemas(r);
  EXPECT_EQ(schemas.count("GatewayConfig"), 1u);
  EXPECT_EQ(schemas.count("Rollout"), 1u);
  // The GatewayClass is the one --controller-name selects by default.
  for (const auto& gc : r.of("GatewayClass"))
    EXPECT_EQ(str(gc["spec"]["controllerName"]), "infergate.dev/gateway-controller");
  // The PodDisruptionBudget keeps one edge replica through voluntary evictions.
  for (const auto& pdb : r.of("PodDisruptionBudget"))
    EXPECT_TRUE(pdb["spec"]["minAvailable"] || pdb["spec"]["maxUnavailable"]) << str(pdb["metadata"]["name"]);
}

TEST(K8sManifestsE2E, ClusterRoleWritesOnlyStatusAndRolloutWeights) {
  RENDER_OR_SKIP(r);
  const std::set<std::string> write = {"create", "update", "patch", "delete", "deletecollection",
                                       "escalate", "bind", "impersonate", "*"};
  const std::set<std::string> weight_kinds = {"gateway.networking.k8s.io/httproutes",
                                              "networking.istio.io/virtualservices",
                                              "inference.networking.x-k8s.io/inferencemodels"};
  std::map<std::string, std::set<std::string>> grants;  // group/resource -> verbs
  const auto roles = r.of("ClusterRole");
  ASSERT_EQ(roles.size(), 1u);
  for (const auto& rule : roles[0]["rules"]) {
    EXPECT_FALSE(rule["nonResourceURLs"]) << "nonResourceURLs";
    EXPECT_FALSE(rule["resourceNames"]) << "a ClusterRole rule limited by name is unexpected here";
    for (const auto& g : strings(rule["apiGroups"]))
      for (const auto& res : strings(rule["resources"]))
        for (const auto& v : strings(rule["verbs"])) grants[g + "/" + res].insert(v);
  }
  for (const auto& [what, verbs] : grants) {
    EXPECT_EQ(what.find('*'), std::string::npos) << "wildcard in " << what;
    const bool status = what.size() > 7 && what.ends_with("/status");
    for (const auto& v : verbs) {
      if (!write.count(v)) continue;
      if (status || weight_kinds.count(what)) {
        EXPECT_TRUE(v == "update" || v == "patch") << what << ": " << v;
      } else {
        ADD_FAILURE() << "ClusterRole grants " << v << " on " << what;
      }
    }
    if (what.ends_with("/leases")) ADD_FAILURE() << "leases belong in the namespaced Role, not the ClusterRole";
  }
  EXPECT_EQ(grants["/secrets"], std::set<std::string>{"get"}) << "Secrets: get only, no list or watch";
  // Everything the controller reads, it can list and watch.
  for (const char* read :
       {"gateway.networking.k8s.io/gatewayclasses", "gateway.networking.k8s.io/gateways",
        "gateway.networking.k8s.io/httproutes", "inference.networking.k8s.io/inferencepools",
        "inference.networking.x-k8s.io/inferencepools", "inference.networking.x-k8s.io/inferencemodels",
        "inference.networking.k8s.io/inferenceobjectives", "inference.networking.x-k8s.io/inferenceobjectives",
        "inference.networking.x-k8s.io/inferencemodelrewrites", "/services", "/pods", "discovery.k8s.io/endpointslices",
        "networking.istio.io/virtualservices", "networking.istio.io/destinationrules",
        "security.istio.io/peerauthentications", "security.istio.io/authorizationpolicies",
        "networking.gke.io/healthcheckpolicies", "infergate.dev/gatewayconfigs", "infergate.dev/rollouts"}) {
    EXPECT_TRUE(grants[read].count("list") && grants[read].count("watch")) << "cannot list+watch " << read;
  }
  for (const char* status : {"gateway.networking.k8s.io/gateways/status", "gateway.networking.k8s.io/httproutes/status",
                             "inference.networking.k8s.io/inferencepools/status", "infergate.dev/rollouts/status"})
    EXPECT_TRUE(grants[status].count("update") || grants[status].count("patch")) << "cannot write " << status;
  for (const auto& w : weight_kinds) EXPECT_TRUE(grants[w].count("patch") || grants[w].count("update")) << w;

  // Leases: get/create/update, in the install namespace only.
  const auto ns_roles = r.of("Role");
  ASSERT_EQ(ns_roles.size(), 1u);
  std::set<std::string> lease_verbs;
  for (const auto& rule : ns_roles[0]["rules"]) {
    EXPECT_EQ(strings(rule["apiGroups"]), std::vector<std::string>{"coordination.k8s.io"});
    EXPECT_EQ(strings(rule["resources"]), std::vector<std::string>{"leases"});
    for (const auto& v : strings(rule["verbs"])) {
      EXPECT_TRUE(v == "get" || v == "create" || v == "update") << "Role grants " << v << " on leases";
      lease_verbs.insert(v);
    }
  }
  EXPECT_EQ(lease_verbs, (std::set<std::string>{"create", "get", "update"}));
  // Both bindings name the service account the Deployment runs as.
  for (const char* kind : {"ClusterRoleBinding", "RoleBinding"}) {
    for (const auto& b : r.of(kind)) {
      ASSERT_EQ(b["subjects"].size(), 1u) << kind;
      EXPECT_EQ(str(b["subjects"][0]["kind"]), "ServiceAccount");
      EXPECT_EQ(str(b["subjects"][0]["name"]), "infergate");
    }
  }
}

TEST(K8sManifestsE2E, DeploymentsRunInKubernetesModeWithProbesAndADrainingStop) {
  RENDER_OR_SKIP(r);
  const auto configs = embedded_gateway_configs(r);
  ASSERT_FALSE(configs.empty());
  std::set<std::string> stats_ports = {"stats"};
  for (const auto& [where, text] : configs)
    stats_ports.insert(str(gateway_config_of(text)["spec"]["stats"]["port"]));
  int deployments = 0;
  for (const auto& kind : {"Deployment", "StatefulSet"}) {
    for (const auto& w : r.of(kind)) {
      const std::string name = std::string(kind) + "/" + str(w["metadata"]["name"]);
      const YAML::Node pod = w["spec"]["template"]["spec"];
      const YAML::Node c = infergate_container(w);
      ASSERT_TRUE(c.IsMap()) << name << ": no infergate container";
      const auto args = strings(c["args"]);
      const bool api_mode = contains(args, "--kubernetes");
      if (std::string(kind) == "Deployment") {
        ++deployments;
        EXPECT_TRUE(api_mode) << name << " does not run with --kubernetes";
        EXPECT_GE(w["spec"]["replicas"].as<int>(1), 2) << name;
      }
      if (api_mode) {
        EXPECT_EQ(str(pod["serviceAccountName"]), "infergate") << name;
        EXPECT_FALSE(r.one("ServiceAccount", "infergate").IsNull()) << "no ServiceAccount infergate";
        std::set<std::string> env;
        for (const auto& e : c["env"])
          if (e["valueFrom"]["fieldRef"]) env.insert(str(e["name"]) + "=" + str(e["valueFrom"]["fieldRef"]["fieldPath"]));
        EXPECT_TRUE(env.count("POD_NAME=metadata.name")) << name;
        EXPECT_TRUE(env.count("POD_NAMESPACE=metadata.namespace")) << name;
      } else {
        // A file-configured gateway has no business with the API: no token in the pod.
        EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>(true)) << name;
      }
      EXPECT_EQ(str(c["readinessProbe"]["httpGet"]["path"]), "/ready") << name;
      EXPECT_TRUE(stats_ports.count(str(c["readinessProbe"]["httpGet"]["port"]))) << name << ": readiness not on stats";
      // preStop, and a grace period that covers it and the drain.
      const std::vector<std::string> hook = strings(c["lifecycle"]["preStop"]["exec"]["command"]);
      ASSERT_FALSE(hook.empty()) << name << ": no preStop";
      int sleep_s = 0;
      std::smatch m;
      static const std::regex kSleep(R"(sleep ([0-9]+))");
      if (std::regex_search(hook.back(), m, kSleep)) sleep_s = std::stoi(m[1]);
      int drain_s = 0;
      for (size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--drain-timeout") drain_s = std::stoi(args[i + 1]);
      EXPECT_GT(drain_s, 0) << name << ": no --drain-timeout";
      EXPECT_GT(pod["terminationGracePeriodSeconds"].as<int>(30), sleep_s + 2 + drain_s) << name;
    }
  }
  EXPECT_GE(deployments, 1);
}

TEST(K8sManifestsE2E, NoServiceOrContainerExposesTheAdminPort) {
  RENDER_OR_SKIP(r);
  std::set<std::string> admin = {"admin"};
  for (const auto& [where, text] : embedded_gateway_configs(r)) {
    const YAML::Node a = gateway_config_of(text)["spec"]["admin"];
    EXPECT_TRUE(str(a["address"]).starts_with("127.")) << where << ": admin off loopback";
    admin.insert(a["port"] ? str(a["port"]) : "9901");
  }
  for (const auto& svc : r.of("Service"))
    for (const auto& p : svc["spec"]["ports"])
      for (const char* f : {"port", "targetPort", "name"})
        EXPECT_EQ(admin.count(str(p[f])), 0u) << "Service " << str(svc["metadata"]["name"]) << " exposes admin";
  for (const auto& kind : {"Deployment", "StatefulSet"})
    for (const auto& w : r.of(kind))
      for (const auto& c : w["spec"]["template"]["spec"]["containers"])
        for (const auto& p : c["ports"]) {
          EXPECT_EQ(admin.count(str(p["containerPort"])), 0u) << str(w["metadata"]["name"]);
          EXPECT_EQ(admin.count(str(p["name"])), 0u) << str(w["metadata"]["name"]);
        }
}

// The embedded GatewayConfigs pass `infergate --check`, and the preStop hook does what its
// comment says with the binary as it is: /ready turns 503, and SIGTERM then drains and exits 0.
TEST(K8sManifestsE2E, EmbeddedConfigChecksAndThePreStopHookTakesTheGatewayOutOfRotation) {
  RENDER_OR_SKIP(r);
  const std::string bash = "/bin/bash";  // what the hook runs in the image
  if (!fs::exists(bash)) GTEST_SKIP() << "no /bin/bash";
  TempDir dir;
  for (const auto& [where, text] : embedded_gateway_configs(r)) {
    const std::string file = dir.write("check.yaml", text);
    CommandResult check = run_command({infergate_path(), "--check", "--config", file});
    EXPECT_EQ(check.exit_code, 0) << where << ":\n" << check.out << check.err;
  }
  const YAML::Node edge = r.of("Deployment").at(0);
  const YAML::Node c = infergate_container(edge);
  std::string hook = strings(c["lifecycle"]["preStop"]["exec"]["command"]).back();
  const std::string cm_name = str(edge["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]);
  std::string config;
  for (const auto& [where, text] : embedded_gateway_configs(r))
    if (where.starts_with(cm_name + "/")) config = text;
  ASSERT_FALSE(config.empty()) << "the edge Deployment's ConfigMap has no GatewayConfig";
  const YAML::Node spec = gateway_config_of(config)["spec"];
  const std::string admin_port = str(spec["admin"]["port"]), stats_port = str(spec["stats"]["port"]);
  ASSERT_NE(hook.find("/dev/tcp/127.0.0.1/" + admin_port), std::string::npos) << "the hook does not call admin:\n" << hook;
  // Same config and hook on free ports, without the wait.
  const uint16_t admin = free_port(), stats = free_port();
  auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
    return s;
  };
  config = replace_all(config, "port: " + admin_port, "port: " + std::to_string(admin));
  config = replace_all(config, "port: " + stats_port, "port: " + std::to_string(stats));
  config = replace_all(config, "path: /dev/stdout", "path: \"\"");
  hook = replace_all(hook, "/dev/tcp/127.0.0.1/" + admin_port, "/dev/tcp/127.0.0.1/" + std::to_string(admin));
  hook = std::regex_replace(hook, std::regex(R"(sleep [0-9]+)"), "sleep 0");
  Process gw({infergate_path(), "--config", dir.write("gateway.yaml", config), "--drain-timeout", "5"});
  HttpResponse ready;
  for (auto until = Clock::now() + scaled(5000); Clock::now() < until && ready.status != 200;) {
    ready = http_request(stats, "GET", "/ready", {}, {}, milliseconds(1000));
    if (ready.status != 200) std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(ready.status, 200) << gw.describe();
  CommandResult pre = run_command({bash, "-c", hook}, milliseconds(5000));
  EXPECT_EQ(pre.exit_code, 0) << pre.out << pre.err;
  ready = http_request(stats, "GET", "/ready");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("HEALTHCHECK_FAILED"), std::string::npos) << ready.body;
  gw.signal(SIGTERM);
  EXPECT_EQ(gw.wait_exit(scaled(7000)), std::optional<int>(0)) << gw.describe();
}

TEST(K8sManifestsE2E, CrdSchemasAreStructuralAndAcceptTheProjectsExamples) {
  RENDER_OR_SKIP(r);
  const auto schemas = infergate_schemas(r);
  ASSERT_EQ(schemas.size(), 2u);
  for (const auto& crd : r.of("CustomResourceDefinition")) {
    if (str(crd["spec"]["group"]) != "infergate.dev") continue;
    const std::string kind = str(crd["spec"]["names"]["kind"]);
    EXPECT_EQ(str(crd["spec"]["scope"]), "Namespaced") << kind;
    EXPECT_FALSE(strings(crd["spec"]["names"]["shortNames"]).empty()) << kind;
    std::vector<std::string> errors;
    check_structural(schemas.at(kind), kind, false, &errors);
    EXPECT_TRUE(errors.empty()) << kind << " is not structural:\n" << testing::PrintToString(errors);
  }
  // Rollout: a status subresource, and printer columns that point at fields the schema has.
  const YAML::Node rollout = r.one("CustomResourceDefinition", "rollouts.infergate.dev");
  ASSERT_TRUE(rollout.IsMap());
  const YAML::Node version = rollout["spec"]["versions"][0];
  EXPECT_TRUE(version["subresources"]["status"]) << "Rollout has no status subresource";
  std::set<std::string> columns;
  for (const auto& col : version["additionalPrinterColumns"]) {
    const std::string jp = str(col["jsonPath"]);
    columns.insert(jp);
    if (jp.starts_with(".metadata.")) continue;
    // reset(), not =: assigning a Node writes into the tree it points at.
    YAML::Node s;
    s.reset(schemas.at("Rollout"));
    std::string rest = jp.substr(1);
    while (s && !rest.empty()) {
      const size_t dot = rest.find('.');
      const YAML::Node& cs = s;
      s.reset(cs["properties"][rest.substr(0, dot)]);
      rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
    }
    EXPECT_TRUE(s) << "printer column " << jp << " is not in the schema";
  }
  for (const char* want : {".status.phase", ".status.step", ".status.canaryWeight"})
    EXPECT_TRUE(columns.count(want)) << "no printer column " << want;

  // Every GatewayConfig and Rollout under examples/, and those the ConfigMaps embed.
  std::map<std::string, int> checked;
  auto check_doc = [&](const YAML::Node& d, const std::string& where) {
    const std::string kind = str(d["kind"]);
    if (!str(d["apiVersion"]).starts_with("infergate.dev/") || !schemas.count(kind)) return;
    SchemaChecker c;
    c.check(schemas.at(kind), d, "");
    EXPECT_TRUE(c.errors.empty()) << where << " (" << kind << "):\n" << testing::PrintToString(c.errors);
    ++checked[kind];
  };
  for (const auto& entry : fs::recursive_directory_iterator(source_path("examples"))) {
    const std::string p = entry.path().string();
    if (!entry.is_regular_file() || !(p.ends_with(".yaml") || p.ends_with(".yml"))) continue;
    for (const auto& d : YAML::LoadAllFromFile(p)) check_doc(d, p);
  }
  for (const auto& [where, text] : embedded_gateway_configs(r))
    for (const auto& d : YAML::LoadAll(text)) check_doc(d, where);
  EXPECT_GE(checked["GatewayConfig"], 5);
  EXPECT_GE(checked["Rollout"], 3);
}

// The checker (and the schemas) refuse what the parsers refuse.
TEST(K8sManifestsE2E, CrdSchemasRefuseWhatTheParsersRefuse) {
  RENDER_OR_SKIP(r);
  const auto schemas = infergate_schemas(r);
  ASSERT_EQ(schemas.size(), 2u);
  const YAML::Node gc = schemas.at("GatewayConfig"), ro = schemas.at("Rollout");
  const std::string gc_head = "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: x}\n";
  EXPECT_TRUE(validate(gc, gc_head + "spec: {workers: 2, admin: {address: 127.0.0.1, port: 9901}}").empty());
  EXPECT_FALSE(validate(gc, gc_head + "spec: {admin: {adress: 127.0.0.1}}").empty()) << "unknown field";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {workers: two}").empty()) << "wrong type";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {workers: \"2\"}").empty()) << "quoted integer";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {workers: 2000}").empty()) << "above the parser's maximum";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {accessLog: {format: xml}}").empty()) << "enum";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {timeouts: {request: 10 seconds}}").empty()) << "duration";
  EXPECT_TRUE(validate(gc, gc_head + "spec: {timeouts: {request: 1h30m, idle: 1.5s, connect: 250ms}}").empty());
  EXPECT_FALSE(validate(gc, gc_head + "spec: {endpoints: [{name: a, port: 80}]}").empty()) << "required address";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {endpoints: [{name: a, address: b, labels: {v: [1]}}]}").empty())
      << "labels are strings";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {admin: {auth: {requireForReadOnly: true}}}").empty())
      << "auth needs tokenFile or allowedPrincipals";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {tls: {minProtocolVersion: TLSV1_1}}").empty()) << "TLS 1.1";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {localRateLimits: [{name: a, tokenBucket: {maxTokens: 1}}]}").empty())
      << "fillInterval is required";
  EXPECT_TRUE(validate(gc, gc_head + "spec: {endpointPicker: {healthCheck: {path: /health, interval: 2s, "
                                     "expectedStatuses: [200, {start: 200, end: 300}]}, "
                                     "pools: [{name: p, healthCheck: {enabled: false}}]}}")
                  .empty());
  EXPECT_FALSE(validate(gc, gc_head + "spec: {endpointPicker: {healthCheck: {path: health}}}").empty())
      << "a health check path starts with /";
  EXPECT_FALSE(validate(gc, gc_head + "spec: {endpointPicker: {pools: [{name: p, healthCheck: {unhealthyThreshold: 0}}]}}")
                   .empty())
      << "thresholds are at least 1";

  const std::string ro_head = "apiVersion: infergate.dev/v1alpha1\nkind: Rollout\nmetadata: {name: x}\n";
  const std::string ok_spec = "spec: {targetRef: {kind: HTTPRoute, name: r, rule: 0}, stable: a, canary: b, ";
  EXPECT_TRUE(validate(ro, ro_head + ok_spec + "steps: [{setWeight: 5}, {pause: {}}]}").empty());
  EXPECT_TRUE(validate(ro, ro_head + ok_spec + "steps: [{setWeight: 5}], analysis: {gates: [{metric: ttftP90, max: 2s}, "
                                               "{metric: errorRate, max: 0.05}, {prometheus: {address: http://p:9090, "
                                               "query: q, max: 1}}]}}")
                  .empty());
  EXPECT_FALSE(validate(ro, ro_head + ok_spec + "steps: [{setWeight: 5, pause: {}}]}").empty()) << "both in one step";
  EXPECT_FALSE(validate(ro, ro_head + ok_spec + "steps: [{setWeight: 150}]}").empty()) << "weight over 100";
  EXPECT_FALSE(validate(ro, ro_head + ok_spec + "steps: []}").empty()) << "no steps";
  EXPECT_FALSE(validate(ro, ro_head + "spec: {targetRef: {kind: Service, name: r}, stable: a, canary: b, "
                                      "steps: [{setWeight: 5}]}")
                   .empty())
      << "target kind";
  EXPECT_FALSE(validate(ro, ro_head + ok_spec + "steps: [{setWeight: 5}], analysis: {gates: [{metric: p50}]}}").empty())
      << "metric enum";
  EXPECT_FALSE(validate(ro, ro_head + ok_spec + "steps: [{setWeight: 5}], analysis: {gates: [{metric: errorRate}]}}").empty())
      << "a gate without a bound";
  EXPECT_FALSE(validate(ro, ro_head + ok_spec + "steps: [{setWeight: 5}], analysis: {gates: [{prometheus: "
                                                "{address: http://p:9090, query: q}}]}}")
                   .empty())
      << "a prometheus gate without max or min";
  EXPECT_FALSE(validate(ro, ro_head + "spec: {targetRef: {kind: HTTPRoute, name: r}, stable: a, steps: [{setWeight: 1}]}")
                   .empty())
      << "canary is required";
}

}  // namespace
}  // namespace infergate::e2e
