// The gateway's model must be the model server's model, through the real binary: a body whose
// "model" changes after the part the gateway routed on never completes at the server (400 before
// its end goes upstream); a held body with several "model" keys is routed, rewritten and labelled
// by the last, as the server reads it; X-Gateway-Model-Name from a client is dropped unless its
// mTLS principal is trusted; an AuthorizationPolicy limits who may name an objective.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "tests/e2e/canary_util.h"
#include "tests/e2e/tls_env.h"

namespace infergate::e2e {
namespace {

// A model server stand-in that keeps every byte it is sent and answers each complete HTTP/1.1
// request 200 `{}`: what reached "the server", exactly.
class RecordingUpstream {
 public:
  RecordingUpstream() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int tries = 0; tries < 20; ++tries) {
      port_ = free_port();
      a.sin_port = htons(port_);
      if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) break;
      port_ = 0;
    }
    if (port_ == 0 || ::listen(listen_fd_, 16) != 0) throw std::runtime_error("recording upstream: cannot listen");
    thread_ = std::thread([this] { loop(); });
  }
  ~RecordingUpstream() {
    stop_ = true;
    thread_.join();
    for (auto& c : conns_) ::close(c.fd);
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  std::string received() const {
    std::lock_guard<std::mutex> l(mu_);
    return all_;
  }
  std::vector<std::string> requests() const {  // complete ones, head and body
    std::lock_guard<std::mutex> l(mu_);
    return complete_;
  }

 private:
  struct Conn {
    int fd;
    std::string buf;
  };

  // Length of the first complete request in `b` (Content-Length or chunked), 0 while incomplete.
  static size_t complete_length(const std::string& b) {
    const size_t head_end = b.find("\r\n\r\n");
    if (head_end == std::string::npos) return 0;
    std::string head = b.substr(0, head_end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head.find("transfer-encoding: chunked") != std::string::npos) {
      const size_t end = b.find("\r\n0\r\n\r\n", head_end);
      return end == std::string::npos ? 0 : end + 7;
    }
    size_t length = 0;
    if (size_t at = head.find("content-length:"); at != std::string::npos) length = std::stoul(head.substr(at + 15));
    return b.size() >= head_end + 4 + length ? head_end + 4 + length : 0;
  }

  void loop() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto& c : conns_) fds.push_back({c.fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) conns_.push_back({fd, {}});
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        Conn& c = conns_[i - 1];
        char chunk[65536];
        const ssize_t n = ::read(c.fd, chunk, sizeof chunk);
        if (n <= 0) {
          ::close(c.fd);
          c.fd = -1;
          continue;
        }
        c.buf.append(chunk, static_cast<size_t>(n));
        std::lock_guard<std::mutex> l(mu_);
        all_.append(chunk, static_cast<size_t>(n));
        while (size_t len = complete_length(c.buf)) {
          complete_.push_back(c.buf.substr(0, len));
          c.buf.erase(0, len);
          static constexpr std::string_view kOk =
              "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
          if (::write(c.fd, kOk.data(), kOk.size()) < 0) break;
        }
      }
      std::erase_if(conns_, [](const Conn& c) { return c.fd < 0; });
    }
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<Conn> conns_;
  mutable std::mutex mu_;
  std::string all_;
  std::vector<std::string> complete_;
  std::thread thread_;
};

// One route to a Service of the recording upstream (and body routing's defaults: 1 MiB).
std::string to_recorder(uint16_t port, uint16_t admin, uint16_t recorder) {
  std::string y = gateway_base_yaml(port, admin, 1, {{"rec", recorder, "app: rec"}});
  y += "---\napiVersion: v1\nkind: Service\nmetadata: {name: rec}\nspec:\n  selector: {app: rec}\n"
       "  ports: [{port: 80, targetPort: 8000}]\n"
       "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n"
       "  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: rec, port: 80}]\n";
  return y;
}

// The quickstart reproduction: `first` at the start, 1.1 MB of message, then `last`.
std::string long_chat(const std::string& first, const std::string& last) {
  std::string body = R"({"model":")" + first + R"(","messages":[{"role":"user","content":")";
  body += std::string(1100 * 1000, 'a');
  body += R"("}])";
  if (!last.empty()) body += R"(,"model":")" + last + "\"";
  return body + "}";
}

// Sends the body's first `decided` bytes, waits until the gateway has routed on them (its
// body_routing.too_large counter reaches `decisions`), then the rest: the gateway must decide on
// part of the body, however the kernel would have batched one big write.
HttpResponse post_in_two_parts(Gateway& gw, const std::string& body, size_t decided, double decisions) {
  RawSocket s(gw.port());
  s.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
         "application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  for (size_t at = 0; at < decided; at += 64 * 1024)
    s.send(std::string_view(body).substr(at, std::min<size_t>(64 * 1024, decided - at)));
  EXPECT_TRUE(gw.wait_stat_at_least("http.ingress_http.body_routing.too_large", decisions, scaled(5000)));
  for (size_t at = decided; at < body.size(); at += 64 * 1024) s.send(std::string_view(body).substr(at, 64 * 1024));
  s.read_until_closed(scaled(10000));
  auto r = parse_http_response(s.received(), true);
  return r ? *r : HttpResponse{};
}

constexpr size_t kDecided = 1050 * 1000;  // past bodyRouting.maxBytes (1 MiB), before the body ends

TEST(ModelIntegrity, AModelChangedAfterMaxBytesNeverCompletesAtTheServer) {
  RecordingUpstream rec;
  Gateway gw([&](uint16_t port, uint16_t admin) { return to_recorder(port, admin, rec.port()); });

  // A long prompt that names its model once, or twice alike, is served: the rest streams on.
  HttpResponse ok = post_in_two_parts(gw, long_chat("llama-3.1-8b-instruct", ""), kDecided, 1);
  EXPECT_EQ(ok.status, 200) << ok.body;
  ok = post_in_two_parts(gw, long_chat("llama-3.1-8b-instruct", "llama-3.1-8b-instruct"), kDecided, 2);
  EXPECT_EQ(ok.status, 200) << ok.body;
  ASSERT_EQ(rec.requests().size(), 2u);
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.duplicate_model"), 1);

  // The reproduction: llama in the first MiB, food-review-premium last.
  const size_t before = rec.received().size();
  HttpResponse r = post_in_two_parts(gw, long_chat("llama-3.1-8b-instruct", "food-review-premium"), kDecided, 3);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("bodyRouting.maxBytes"), std::string::npos) << r.body;
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.model_conflict"), 1);
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.duplicate_model"), 2);
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.too_large"), 3);
  std::this_thread::sleep_for(milliseconds(200));  // anything still in flight arrives
  EXPECT_EQ(rec.requests().size(), 2u) << "the server completed a request the gateway did not route";
  EXPECT_EQ(rec.received().find("food-review-premium", before), std::string::npos)
      << "the body's end reached the server";

  // Over HTTP/2 the same: the stream is answered 400, the server never gets the end. (Each DATA
  // frame is at most 16 KiB and reaches the gateway as its own chunk: it decides at 1 MiB.)
  if (const std::string curl_bin = tool_path("curl"); !curl_bin.empty()) {
    const std::string file = gw.dir().write("body.json", long_chat("llama-3.1-8b-instruct", "food-review-premium"));
    CommandResult c = curl(curl_bin, {"--http2-prior-knowledge", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                                      "content-type: application/json", "--data-binary", "@" + file,
                                      gw.url("/v1/chat/completions")});
    EXPECT_EQ(c.out, "400") << c.err;
    EXPECT_EQ(gw.stat("http.ingress_http.body_routing.model_conflict"), 2);
    std::this_thread::sleep_for(milliseconds(200));
    EXPECT_EQ(rec.requests().size(), 2u);
    EXPECT_EQ(rec.received().find("food-review-premium", before), std::string::npos);
  }
}

TEST(ModelIntegrity, AHeldBodyIsRoutedRewrittenAndLabelledByItsLastModel) {
  RecordingUpstream premium, other;
  Gateway gw([&](uint16_t port, uint16_t admin) {
    std::string y = gateway_base_yaml(port, admin, 1, {{"p", premium.port(), "pool: p"}, {"o", other.port(), "pool: o"}},
                                      "  modelServerMetrics: {enabled: false}\n");
    for (const char* p : {"p", "o"})
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
    - headers: [{name: X-Gateway-Model-Name, value: premium}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-p}]
  - matches:
    - headers: [{name: X-Gateway-Model-Name, value: llama}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-o}]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: premium}
spec:
  poolRef: {group: inference.networking.k8s.io, name: pool-p}
  rules:
  - matches: [{model: {type: Exact, value: premium}}]
    targets: [{modelRewrite: premium-v2}]
)";
    return y;
  });
  const std::string body =
      R"({"model":"llama","messages":[{"role":"user","content":"hi"}],"model":"premium","max_tokens":1})";
  HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {{"Content-Type", "application/json"}}, body);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(premium.requests().size(), 1u) << "routed on the last model, as the server reads it";
  EXPECT_TRUE(other.requests().empty());
  const std::string got = premium.requests()[0];
  const std::string sent_body = got.substr(got.find("\r\n\r\n") + 4);
  EXPECT_EQ(sent_body, R"({"model":"premium-v2","messages":[{"role":"user","content":"hi"}],"model":"premium-v2","max_tokens":1})")
      << "every top-level model is rewritten";
  EXPECT_NE(got.find("x-gateway-model-name: premium\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("content-length: " + std::to_string(sent_body.size()) + "\r\n"), std::string::npos) << got;
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.duplicate_model"), 1);

  const std::string text = gw.admin("GET", "/stats/prometheus").body;
  EXPECT_NE(text.find("infergate_version_requests_total{adapter=\"premium-v2\",backend=\"pool-p\",model=\"premium\","),
            std::string::npos)
      << text.substr(0, 3000);
  // Series for llama exist ahead of time (a route names it); none may have counted.
  for (size_t at = text.find("model=\"llama\""); at != std::string::npos; at = text.find("model=\"llama\"", at + 1)) {
    const size_t begin = text.rfind('\n', at) + 1, end = text.find('\n', at);
    const std::string line = text.substr(begin, end - begin);
    EXPECT_EQ(line.substr(line.rfind(' ') + 1), "0") << line << ": the model the server did not see";
  }
}

TEST(ModelIntegrity, AClientsModelHeaderIsNeverTakenForTheBodys) {
  Modelsim premium({"--name", "premium", "--model", "premium"});
  Modelsim other({"--name", "other"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    std::string y = gateway_base_yaml(port, admin, 1, {{"p", premium.port(), "app: p"}, {"o", other.port(), "app: o"}},
                                      "  bodyRouting: {maxBytes: 4096}\n");
    for (const char* s : {"p", "o"})
      y += std::string("---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-") + s +
           "}\nspec:\n  selector: {app: " + s + "}\n  ports: [{port: 80, targetPort: 8000}]\n";
    y += R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches:
    - headers: [{name: X-Gateway-Model-Name, value: premium}]
    backendRefs: [{name: svc-p, port: 80}]
  - backendRefs: [{name: svc-o, port: 80}]
)";
    return y;
  });
  const Headers spoof = {{"X-Gateway-Model-Name", "premium"}, {"Content-Type", "application/json"}};
  struct Case {
    const char* name;
    std::string method, body;
  };
  const Case cases[] = {
      {"no model in the body", "POST", R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":1})"},
      {"not JSON", "POST", "model=premium"},
      {"oversized, no model read", "POST",
       R"({"messages":[{"role":"user","content":")" + std::string(8192, 'x') + R"("}],"max_tokens":1})"},
      {"no body", "GET", ""},
  };
  for (const Case& c : cases) {
    HttpResponse r = http_request(gw.port(), c.method, "/echo", spoof, c.body);
    ASSERT_EQ(r.status, 200) << c.name << ": " << r.body;
    EXPECT_EQ(r.header("x-modelsim-instance"), "other") << c.name << ": the premium route was taken";
    EXPECT_FALSE(nlohmann::json::parse(r.body)["headers"].contains("x-gateway-model-name"))
        << c.name << ": the client's header reached the server";
  }
  // The body's model still routes.
  HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", spoof,
                                R"({"model":"premium","messages":[],"max_tokens":1})");
  EXPECT_EQ(r.header("x-modelsim-instance"), "premium") << r.body;

  // Bodies the server's framework reads as JSON are read here too (any "+json" type), or refused
  // when the gateway cannot read them (JSON in UTF-16/32, which Python's json.loads decodes).
  r = http_request(gw.port(), "POST", "/v1/chat/completions", {{"Content-Type", "application/grpc+json"}},
                   R"({"model":"premium","messages":[],"max_tokens":1})");
  EXPECT_EQ(r.header("x-modelsim-instance"), "premium") << r.body;
  std::string utf16le;
  for (char c : std::string(R"({"model":"premium"})")) {
    utf16le += c;
    utf16le += '\0';
  }
  for (const std::string& body : {utf16le, "\xFF\xFE" + utf16le}) {
    r = http_request(gw.port(), "POST", "/echo", {{"Content-Type", "application/json"}}, body);
    EXPECT_EQ(r.status, 415) << r.body;
    EXPECT_EQ(r.header("x-modelsim-instance"), "") << "it reached a server";
  }
  EXPECT_EQ(gw.stat("http.ingress_http.body_routing.unsupported_encoding"), 2);
}

TEST(ModelIntegrity, ATrustedFrontProxysModelHeaderIsKept) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  Modelsim sim;
  Gateway gw([&](uint16_t port, uint16_t admin) {
    TlsGatewayYaml y = backend(sim.port());
    y.spec_extra = "  bodyRouting: {trustedModelHeaderPrincipals: [cluster.local/ns/frontend/sa/chat-ui]}\n";
    y.extra_documents = peer_authentication("STRICT");
    return tls_gateway_yaml(certs, y, port, admin);
  });
  auto seen = [&](const std::string& client, const std::string& body) {
    CommandResult r = curl_tls(curl_bin, certs, gw.port(), "/echo", client,
                               {"-s", "-H", "x-gateway-model-name: premium", "-H", "content-type: application/json",
                                "--data-binary", body});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j["headers"].contains("x-gateway-model-name")) return std::string("(none)");
    return j["headers"]["x-gateway-model-name"].get<std::string>();
  };
  EXPECT_EQ(seen("client-frontend", "hello"), "premium") << "the trusted principal's header is honoured";
  EXPECT_EQ(seen("client-llm", "hello"), "(none)") << "another principal's is dropped";
  EXPECT_EQ(seen("client-frontend", R"({"model":"small"})"), "small") << "the body still wins";
}

TEST(ModelIntegrity, AnAuthorizationPolicyDecidesWhoMayNameAnObjective) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  Modelsim sim;
  // docs/SECURITY.md shows this policy: only chat-ui may ask for the critical objective.
  Gateway gw([&](uint16_t port, uint16_t admin) {
    TlsGatewayYaml y = backend(sim.port());
    y.extra_documents = peer_authentication("STRICT") + R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: critical-objective, namespace: default}
spec:
  action: DENY
  rules:
  - from:
    - source: {notPrincipals: [cluster.local/ns/frontend/sa/chat-ui]}
    when:
    - key: request.headers[x-gateway-inference-objective]
      values: [critical-chat]
)";
    return tls_gateway_yaml(certs, y, port, admin);
  });
  auto status = [&](const std::string& client, std::vector<std::string> objectives) {
    std::vector<std::string> args = {"-s", "-o", "/dev/null", "-w", "%{http_code}"};
    for (const auto& o : objectives) {
      args.push_back("-H");
      args.push_back("x-gateway-inference-objective: " + o);
    }
    return curl_tls(curl_bin, certs, gw.port(), "/v1/models", client, args).out;
  };
  EXPECT_EQ(status("client-frontend", {"critical-chat"}), "200");
  EXPECT_EQ(status("client-llm", {"critical-chat"}), "403");
  EXPECT_EQ(status("client-llm", {"batch", "critical-chat"}), "403") << "a second value does not hide it";
  EXPECT_EQ(status("client-llm", {"batch"}), "200");
  EXPECT_EQ(status("client-llm", {}), "200");
  EXPECT_EQ(gw.stat("http.ingress_http.rbac.policy.default.critical-objective.denied"), 2);
}

}  // namespace
}  // namespace infergate::e2e
