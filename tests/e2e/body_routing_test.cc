// Body-based routing through the real binary: the JSON body's "model" becomes
// X-Gateway-Model-Name before route matching (HTTP/1.1 and HTTP/2), InferenceModelRewrite /
// InferenceModel targetModels rewrite it in the forwarded body, and request mirrors copy
// traffic without ever slowing or failing it.
#include "tests/e2e/canary_util.h"

namespace infergate::e2e {
namespace {

using nlohmann::json;

// Pool "pool-a" (modelsim "a" serving lora-a) gets requests for model lora-a; everything else
// goes to "pool-b" (modelsim "b" serving `b_model`).
std::string model_routes(uint16_t port, uint16_t admin, uint16_t a, uint16_t b, const std::string& extra_docs = {},
                         const std::string& gateway_extra = {}) {
  std::string y = gateway_base_yaml(port, admin, 1, {{"a", a, "pool: a"}, {"b", b, "pool: b"}}, gateway_extra);
  for (const char* p : {"a", "b"})
    y += std::string("---\napiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: pool-") +
         p + "}\nspec:\n  selector: {matchLabels: {pool: " + p + "}}\n  targetPorts: [{number: 8000}]\n";
  y += R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: models}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches:
    - headers: [{name: X-Gateway-Model-Name, value: lora-a}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-a}]
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-b}]
)";
  if (!extra_docs.empty()) y += "---\n" + extra_docs;
  return y;
}

std::string chat(const std::string& model, const std::string& padding = {}) {
  return R"({"messages":[{"role":"user","content":"hi)" + padding + R"("}],"max_tokens":1,"model":")" + model + "\"}";
}

TEST(BodyRouting, TheBodysModelChoosesTheRoute) {
  Modelsim a({"--name", "a", "--model", "lora-a"});
  Modelsim b({"--name", "b"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return model_routes(port, admin, a.port(), b.port()); });
  auto post = [&](const std::string& body) { return http_request(gw.port(), "POST", "/v1/chat/completions", {}, body); };

  HttpResponse r = post(chat("lora-a"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-modelsim-instance"), "a");
  r = post(chat("sim-model"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-modelsim-instance"), "b");
  // "model" after 300 KB of messages: still read before routing.
  r = post(chat("lora-a", std::string(300 * 1024, 'x')));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-modelsim-instance"), "a");
  // A nested "model" is not the request's model.
  r = post(R"({"metadata":{"model":"lora-a"},"model":"sim-model","messages":[],"max_tokens":1})");
  EXPECT_EQ(r.header("x-modelsim-instance"), "b");
  // The header the gateway set reaches the upstream; a non-JSON body passes through intact.
  HttpResponse echo = http_request(gw.port(), "POST", "/echo", {{"Content-Type", "application/json"}},
                                   R"({"model":"sim-model"})");
  ASSERT_EQ(echo.status, 200);
  EXPECT_EQ(json::parse(echo.body)["headers"]["x-gateway-model-name"], "sim-model");
  echo = http_request(gw.port(), "POST", "/echo", {}, "model=lora-a&x=1");
  EXPECT_EQ(json::parse(echo.body)["body_bytes"], 16);
  EXPECT_FALSE(json::parse(echo.body)["headers"].contains("x-gateway-model-name"));
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").header("x-modelsim-instance"), "b");

  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.found"), 5);
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.not_json"), 1);
}

TEST(BodyRouting, Http2RequestsAreRoutedByModelToo) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  Modelsim a({"--name", "a", "--model", "lora-a"});
  Modelsim b({"--name", "b"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return model_routes(port, admin, a.port(), b.port()); });
  for (const auto& [model, instance] : {std::pair{"lora-a", "a"}, std::pair{"sim-model", "b"}}) {
    CommandResult r = curl(curl_bin, {"--http2-prior-knowledge", "-i", "-H", "content-type: application/json", "-d",
                                      chat(model), gw.url("/v1/chat/completions")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("HTTP/2 200"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(std::string("x-modelsim-instance: ") + instance), std::string::npos) << r.out;
  }
}

TEST(BodyRouting, BiggerThanMaxBytesIsRoutedOnWhatWasRead) {
  Modelsim a({"--name", "a", "--model", "lora-a"});
  Modelsim b({"--name", "b"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return model_routes(port, admin, a.port(), b.port(), {}, "  bodyRouting: {maxBytes: 4096}\n");
  });
  // The model first, then more than maxBytes: routed on it, the whole body forwarded.
  const std::string body = R"({"model":"lora-a","max_tokens":1,"messages":[{"role":"user","content":")" +
                           std::string(64 * 1024, 'y') + "\"}]}";
  // Sent in two parts, so the gateway holds only the first when it decides.
  RawSocket s(gw.port());
  ASSERT_TRUE(s.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 8192)));
  std::this_thread::sleep_for(milliseconds(100));
  ASSERT_TRUE(s.send(body.substr(8192)));
  s.read_until_closed(scaled(5000));
  auto r = parse_http_response(s.received(), true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->header("x-modelsim-instance"), "a");
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.too_large"), 1);
}

TEST(BodyRouting, DisabledLeavesBodiesAndRoutesAlone) {
  Modelsim a({"--name", "a", "--model", "lora-a"});
  Modelsim b({"--name", "b"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return model_routes(port, admin, a.port(), b.port(), {}, "  bodyRouting: {enabled: false}\n");
  });
  HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("lora-a"));
  EXPECT_EQ(r.header("x-modelsim-instance"), "b");
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.found"), 0);
}

TEST(ModelRewrite, InferenceModelRewriteServesTheModelUnderItsNewName) {
  Modelsim a({"--name", "a", "--model", "lora-a"});
  Modelsim b({"--name", "b", "--model", "llama-v2"});
  const std::string rewrite = R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: alias}
spec:
  poolRef: {group: inference.networking.k8s.io, name: pool-b}
  rules:
  - matches: [{model: {type: Exact, value: llama}}]
    targets: [{modelRewrite: llama-v2}]
)";
  Gateway gw([&](uint16_t port, uint16_t admin) { return model_routes(port, admin, a.port(), b.port(), rewrite); });
  // modelsim answers 404 for a model it does not serve: a 200 means the body said llama-v2,
  // with a Content-Length that matched the rewritten body.
  HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("llama", std::string(1000, 'z')));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"model\":\"llama-v2\""), std::string::npos) << r.body;
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.model_rewritten"), 1);
  // Another pool's models are not its business.
  r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("lora-a"));
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST(ModelRewrite, InferenceModelTargetModelsSplitByWeight) {
  Modelsim a({"--name", "a", "--model", "lora-a"});
  Modelsim b({"--name", "b", "--model", "adapter-v1"});
  const std::string model = R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: {name: adapter}
spec:
  modelName: adapter
  criticality: Critical
  poolRef: {name: pool-b}
  targetModels:
  - {name: adapter-v1, weight: 75}
  - {name: adapter-v2, weight: 25}
)";
  Gateway gw([&](uint16_t port, uint16_t admin) { return model_routes(port, admin, a.port(), b.port(), model); });
  int v1 = 0, v2 = 0;
  for (int i = 0; i < 200; ++i) {
    HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("adapter"));
    if (r.status == 200) ++v1;
    else if (r.body.find("adapter-v2") != std::string::npos) ++v2;  // modelsim: "model `adapter-v2` does not exist"
  }
  EXPECT_NEAR(v1, 150, 3);
  EXPECT_NEAR(v2, 50, 3);
  EXPECT_EQ(v1 + v2, 200);
}

// ---- Session persistence -----------------------------------------------------------

std::string sticky(uint16_t port, uint16_t admin, uint16_t v1, uint16_t v2, unsigned w2, const std::string& type) {
  std::string y = two_version_config(port, admin, v1, v2, 100 - w2, w2);
  const std::string at = "  - backendRefs:\n";
  y.replace(y.find(at), at.size(),
            "  - sessionPersistence: {type: " + type + ", sessionName: " + (type == "Header" ? "x-user" : "llm-session") +
                "}\n    backendRefs:\n");
  return y;
}

TEST(SessionPersistence, AHeaderKeepsAUserOnOneVersionAndTheCanaryKeepsItsUsers) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return sticky(port, admin, v1.port(), v2.port(), 10, "Header"); });
  std::map<std::string, std::string> version_of;
  int on_v2 = 0;
  for (int u = 0; u < 200; ++u) {
    const std::string user = "user-" + std::to_string(u);
    auto seen = count_instances(gw.port(), 3, {{"x-user", user}});
    ASSERT_EQ(seen.size(), 1u) << user << " moved between versions";
    version_of[user] = seen.begin()->first;
    on_v2 += seen.begin()->first == "v2";
  }
  EXPECT_NEAR(on_v2, 20, 12) << "10 % of users on the canary";
  // The canary grows to 50 %: every user it had stays.
  ASSERT_EQ(set_canary_weights(gw, 50, 50).status, 200);
  int now_v2 = 0;
  for (const auto& [user, version] : version_of) {
    auto seen = count_instances(gw.port(), 1, {{"x-user", user}});
    if (version == "v2") {
      EXPECT_EQ(seen["v2"], 1) << user << " left the canary when it grew";
    }
    now_v2 += seen["v2"];
  }
  EXPECT_NEAR(now_v2, 100, 25);
}

TEST(SessionPersistence, ACookieIsIssuedOnceAndHonoured) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return sticky(port, admin, v1.port(), v2.port(), 50, "Cookie"); });
  std::map<std::string, int> first;
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("sim-model"));
    ASSERT_EQ(r.status, 200);
    const std::string cookie = r.header("set-cookie");
    ASSERT_EQ(cookie.rfind("llm-session=", 0), 0u) << cookie;
    const std::string value = cookie.substr(0, cookie.find(';'));
    auto seen = count_instances(gw.port(), 5, {{"Cookie", "theme=dark; " + value}});
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen.begin()->first, r.header("x-modelsim-instance")) << "the session stays where it started";
    ++first[r.header("x-modelsim-instance")];
    HttpResponse again = http_request(gw.port(), "POST", "/v1/chat/completions", {{"Cookie", value}}, chat("sim-model"));
    EXPECT_FALSE(again.has_header("set-cookie")) << "a session in progress gets no new cookie";
  }
  EXPECT_GE(first["v1"], 3);
  EXPECT_GE(first["v2"], 3);
}

// ---- Mirrors -----------------------------------------------------------------------

std::string mirrored(uint16_t port, uint16_t admin, uint16_t primary, uint16_t mirror, int percent) {
  std::string y = gateway_base_yaml(port, admin, 1, {{"p", primary, "app: primary"}, {"m", mirror, "app: mirror"}});
  y += "---\napiVersion: v1\nkind: Service\nmetadata: {name: primary}\nspec:\n  selector: {app: primary}\n"
       "  ports: [{port: 80, targetPort: 8000}]\n";
  y += "---\napiVersion: v1\nkind: Service\nmetadata: {name: shadow}\nspec:\n  selector: {app: mirror}\n"
       "  ports: [{port: 80, targetPort: 8000}]\n";
  y += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n";
  y += "  parentRefs: [{name: gw}]\n  rules:\n  - filters:\n    - type: RequestMirror\n";
  y += "      requestMirror: {backendRef: {name: shadow, port: 80}, percent: " + std::to_string(percent) + "}\n";
  y += "    backendRefs: [{name: primary, port: 80}]\n";
  return y;
}

int64_t endpoint_requests(Gateway& gw, uint16_t port) {
  json c = json::parse(gw.admin("GET", "/clusters?format=json").body);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  for (const auto& cl : c["cluster_statuses"])
    for (const auto& h : cl["host_statuses"])
      if (h["address"] == address) return h["rq_total"].get<int64_t>();
  return -1;
}

TEST(Mirror, EveryRequestIsCopiedAndOnlyThePrimaryAnswers) {
  Modelsim primary({"--name", "primary"});
  Modelsim shadow({"--name", "shadow"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return mirrored(port, admin, primary.port(), shadow.port(), 100); });
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("sim-model", std::to_string(i)));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("x-modelsim-instance"), "primary");
  }
  const auto until = Clock::now() + scaled(3000);
  while (endpoint_requests(gw, shadow.port()) < 20 && Clock::now() < until) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(endpoint_requests(gw, shadow.port()), 20);
  EXPECT_EQ(endpoint_requests(gw, primary.port()), 20);
  EXPECT_EQ(gw.stat("http.ingress_http.mirror.sent"), 20);
  EXPECT_EQ(gw.stat("http.ingress_http.mirror.failed"), 0);
}

TEST(Mirror, ADeadMirrorNeverFailsTheRequest) {
  Modelsim primary({"--name", "primary"});
  const uint16_t dead = free_port();  // nothing listens there
  Gateway gw([&](uint16_t port, uint16_t admin) { return mirrored(port, admin, primary.port(), dead, 100); });
  for (int i = 0; i < 10; ++i) ASSERT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("sim-model")).status, 200);
  ASSERT_TRUE(gw.wait_stat_at_least("http.ingress_http.mirror.failed", 10, scaled(5000)));
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_5xx"), 0);
}

TEST(Mirror, PercentMirrorsThatShare) {
  Modelsim primary({"--name", "primary"});
  Modelsim shadow({"--name", "shadow"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return mirrored(port, admin, primary.port(), shadow.port(), 25); });
  for (int i = 0; i < 400; ++i) ASSERT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
  EXPECT_NEAR(gw.stat("http.ingress_http.mirror.sent"), 100, 30);
}

// A held body answered by the gateway itself (no route for it) from inside the body's own
// callback: the request was read whole, so the keep-alive connection serves the next one.
TEST(BodyRouting, LocalReplyToAHeldBodyKeepsTheConnection) {
  Modelsim sim;
  GatewaySetup setup = one_upstream(sim);
  setup.route_prefix = "/v1";
  Gateway gw(setup);
  const std::string body = chat_body(1, false);
  const std::string request = "POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  RawSocket sock(gw.port());
  for (int i = 0; i < 3; ++i) {
    sock.clear();
    ASSERT_TRUE(sock.send(request));
    ASSERT_TRUE(sock.read_until("\r\n\r\n", scaled(3000))) << "answer " << i << ": " << sock.received();
    EXPECT_EQ(sock.received().rfind("HTTP/1.1 404", 0), 0u) << sock.received();
    EXPECT_FALSE(sock.closed()) << "closed after answer " << i;
  }
}

}  // namespace
}  // namespace infergate::e2e
