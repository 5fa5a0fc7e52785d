// End-to-end checks of the modelsim binary over real loopback sockets (curl for HTTP/1.1 and
// h2c, a raw client where arrival order matters).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "sim_process.hpp"

namespace modelsim::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Response {
  int curl_exit = -1;
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// curl -i output: possibly a "100 Continue" block, then the real head, then the body.
Response curl(const std::string& args) {
  auto result = run_command("curl -s -S -i --max-time 20 " + args);
  Response response;
  response.curl_exit = result.exit_code;
  std::string out = result.output;
  for (;;) {
    const auto end = out.find("\r\n\r\n");
    if (end == std::string::npos) return response;
    std::string head = out.substr(0, end);
    out = out.substr(end + 4);
    if (head.find(" 100") != std::string::npos && head.find("HTTP/") == 0 &&
        head.substr(head.find(' ') + 1, 3) == "100") {
      continue;
    }
    response.status = std::atoi(head.c_str() + head.find(' ') + 1);
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
      const auto next = head.find("\r\n", pos + 2);
      std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        response.headers[name] = value;
      }
      pos = next;
    }
    response.body = out;
    return response;
  }
}

std::vector<std::string> sse_events(const std::string& body) {
  std::vector<std::string> events;
  std::size_t pos = 0;
  while (true) {
    const auto end = body.find("\n\n", pos);
    if (end == std::string::npos) break;
    events.push_back(body.substr(pos, end - pos));
    pos = end + 2;
  }
  return events;
}

json event_json(const std::string& event) {
  EXPECT_TRUE(event.starts_with("data: ")) << event;
  return json::parse(event.substr(6));
}

double metric(const std::string& text, const std::string& name) {
  const auto pos = text.find("\n" + name + "{");
  if (pos == std::string::npos) return -1;
  const auto space = text.find("} ", pos);
  return std::stod(text.substr(space + 2));
}

const std::string kChat =
    R"('{"model":"sim-model","messages":[{"role":"user","content":"hello there, simulator"}],"max_tokens":5}')";
const std::string kChatStream =
    R"('{"messages":[{"role":"user","content":"hello"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":4}')";

class ModelsimServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sim_ = std::make_unique<SimProcess>(std::vector<std::string>{"--seed", "3"}); }
  static void TearDownTestSuite() { sim_.reset(); }
  static std::string url(const std::string& path) {
    // Built with append: GCC 12 warns falsely (-Wrestrict) on "'" + std::string at -O3.
    std::string quoted(1, '\'');
    quoted.append(sim_->url(path)).push_back('\'');
    return quoted;
  }
  static std::unique_ptr<SimProcess> sim_;
};
std::unique_ptr<SimProcess> ModelsimServer::sim_;

TEST_F(ModelsimServer, NonStreamChatHasOpenAiShapeAndUsage) {
  auto r = curl("-d " + kChat + " " + url("/v1/chat/completions"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.headers["x-modelsim-instance"], "modelsim-" + std::to_string(sim_->port()));
  const json body = json::parse(r.body);
  EXPECT_TRUE(body["id"].get<std::string>().starts_with("chatcmpl-"));
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_TRUE(body["created"].is_number_integer());
  EXPECT_EQ(body["model"], "sim-model");
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  const std::string content = body["choices"][0]["message"]["content"];
  EXPECT_EQ(std::count(content.begin(), content.end(), ' '), 4);
  EXPECT_EQ(body["usage"]["prompt_tokens"], 6);  // 23 characters
  EXPECT_EQ(body["usage"]["completion_tokens"], 5);
  EXPECT_EQ(body["usage"]["total_tokens"], 11);

  // Deterministic: the same prompt gives the same text.
  auto again = curl("-d " + kChat + " " + url("/v1/chat/completions"));
  EXPECT_EQ(json::parse(again.body)["choices"][0]["message"]["content"], content);
}

TEST_F(ModelsimServer, CompletionsEndpointUsesTextChoices) {
  auto r = curl(R"(-d '{"prompt":"abcdefgh","max_tokens":3}' )" + url("/v1/completions"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_TRUE(body["id"].get<std::string>().starts_with("cmpl-"));
  EXPECT_TRUE(body["choices"][0]["text"].is_string());
  EXPECT_EQ(body["usage"]["prompt_tokens"], 2);
}

TEST_F(ModelsimServer, StreamWithUsageEndsWithUsageChunkThenDone) {
  auto r = curl("-N -d " + kChatStream + " " + url("/v1/chat/completions"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/event-stream");
  const auto events = sse_events(r.body);
  ASSERT_EQ(events.size(), 6u) << r.body;  // 4 tokens, usage, [DONE]
  std::string text;
  for (int i = 0; i < 4; ++i) {
    const json chunk = event_json(events[i]);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    text += chunk["choices"][0]["delta"]["content"].get<std::string>();
    EXPECT_EQ(chunk["choices"][0]["finish_reason"].is_null(), i < 3);
  }
  EXPECT_EQ(event_json(events[0])["choices"][0]["delta"]["role"], "assistant");
  const json usage = event_json(events[4]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 4);
  EXPECT_EQ(usage["usage"]["total_tokens"], 6);
  EXPECT_EQ(events[5], "data: [DONE]");
  EXPECT_EQ(std::count(text.begin(), text.end(), ' '), 3);
}

TEST_F(ModelsimServer, ModelsHealthAndMetrics) {
  auto models = curl(url("/v1/models"));
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(json::parse(models.body)["data"][0]["id"], "sim-model");
  EXPECT_EQ(curl(url("/health")).status, 200);

  curl("-d " + kChat + " " + url("/v1/chat/completions"));
  auto metrics = curl(url("/metrics"));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_TRUE(metrics.headers["content-type"].starts_with("text/plain; version=0.0.4"));
  for (const char* name : {"vllm:num_requests_running", "vllm:num_requests_waiting",
                           "vllm:kv_cache_usage_perc", "vllm:prompt_tokens_total",
                           "vllm:generation_tokens_total", "vllm:request_success_total"}) {
    EXPECT_NE(metrics.body.find(std::string("# TYPE ") + name), std::string::npos) << name;
    EXPECT_NE(metrics.body.find(std::string(name) + "{model_name=\"sim-model\"}"), std::string::npos)
        << name;
  }
  EXPECT_GE(metric(metrics.body, "vllm:request_success_total"), 1);
  EXPECT_GE(metric(metrics.body, "vllm:generation_tokens_total"), 5);
  EXPECT_EQ(metric(metrics.body, "vllm:num_requests_running"), 0);
}

TEST_F(ModelsimServer, ErrorsAreOpenAiShaped) {
  auto wrong_model = curl(R"(-d '{"model":"other","messages":[{"role":"user","content":"x"}]}' )" +
                          url("/v1/chat/completions"));
  EXPECT_EQ(wrong_model.status, 404);
  const json e404 = json::parse(wrong_model.body);
  EXPECT_EQ(e404["error"]["code"], "model_not_found");
  EXPECT_NE(e404["error"]["message"].get<std::string>().find("other"), std::string::npos);

  auto bad_json = curl("-d '{\"messages\": [' " + url("/v1/chat/completions"));
  EXPECT_EQ(bad_json.status, 400);
  const json e400 = json::parse(bad_json.body);
  EXPECT_EQ(e400["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(e400["error"].contains("param"));
  EXPECT_TRUE(e400["error"].contains("code"));

  auto unknown = curl(url("/nothing/here"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(json::parse(unknown.body).contains("error"));
  EXPECT_EQ(unknown.headers.count("x-modelsim-instance"), 1u);
}

TEST_F(ModelsimServer, BytesStreamsTheExactCount) {
  auto r = run_command("curl -s -o /dev/null -w '%{http_code} %{size_download}' " + url("/bytes?n=10485760"));
  EXPECT_EQ(r.output, "200 10485760");
  auto h2 = run_command("curl -s --http2-prior-knowledge -o /dev/null -w '%{http_version} %{size_download}' " +
                        url("/bytes?n=3000000"));
  EXPECT_EQ(h2.output, "2 3000000");
  EXPECT_EQ(curl(url("/bytes?n=abc")).status, 400);
}

TEST_F(ModelsimServer, UploadCountsAStreamedBody) {
  const std::string path = ::testing::TempDir() + "modelsim_upload.bin";
  {
    std::ofstream file(path, std::ios::binary);
    const std::string block(1 << 20, 'u');
    for (int i = 0; i < 20; ++i) file << block;
  }
  auto h1 = curl("--data-binary @" + path + " " + url("/upload"));
  ASSERT_EQ(h1.status, 200) << h1.body;
  EXPECT_EQ(json::parse(h1.body)["bytes"], 20 << 20);
  auto h2 = curl("--http2-prior-knowledge --data-binary @" + path + " " + url("/upload"));
  ASSERT_EQ(h2.status, 200) << h2.body;
  EXPECT_EQ(json::parse(h2.body)["bytes"], 20 << 20);
  std::remove(path.c_str());
}

TEST_F(ModelsimServer, EchoReportsHeadersAsReceived) {
  auto r = curl("-H 'X-Trace: abc' -H 'x-gateway-model-name: sim-model' -d 'hello' " + url("/echo?q=1"));
  ASSERT_EQ(r.status, 200);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["method"], "POST");
  EXPECT_EQ(body["path"], "/echo?q=1");
  EXPECT_EQ(body["headers"]["x-trace"], "abc");
  EXPECT_EQ(body["headers"]["x-gateway-model-name"], "sim-model");
  EXPECT_EQ(body["body_bytes"], 5);
  auto h2 = curl("--http2-prior-knowledge -H 'X-Trace: h2' " + url("/echo"));
  EXPECT_EQ(json::parse(h2.body)["headers"]["x-trace"], "h2");
  EXPECT_EQ(json::parse(h2.body)["method"], "GET");
}

// What the Gateway API conformance echo server says, for tests that ask which pod served.
TEST(ModelsimEchoServer, ReportsPodNamespacePortAndSetsAskedHeadersOnAnyPath) {
  SimProcess sim({"--name", "pod-a", "--namespace", "ns-a", "--echo-any-path"});
  std::string target = "'http://127.0.0.1:";
  target.append(std::to_string(sim.port())).append("/some/route?x=1'");
  for (const std::string proto : {"", "--http2-prior-knowledge "}) {
    SCOPED_TRACE(proto);
    auto r = curl(proto + "-H 'Host: h.example.com' -H 'X-Echo-Set-Header: X-Served-By:10.0.0.1:3000, bad name:x,x-two:2' -d '{}' " + target);
    ASSERT_EQ(r.status, 200) << r.body;
    const json body = json::parse(r.body);
    EXPECT_EQ(body["pod"], "pod-a");
    EXPECT_EQ(body["namespace"], "ns-a");
    EXPECT_EQ(body["httpPort"], std::to_string(sim.port()));
    EXPECT_EQ(body["path"], "/some/route?x=1");
    EXPECT_EQ(body["host"], "h.example.com");
    EXPECT_EQ(body["method"], "POST");
    EXPECT_EQ(r.headers["x-served-by"], "10.0.0.1:3000");
    EXPECT_EQ(r.headers["x-two"], "2");
    EXPECT_EQ(r.headers.count("bad name"), 0u);
  }
  // The next request on a kept-alive connection does not inherit the headers.
  auto two = run_command("curl -s -S -i --max-time 20 -H 'X-Echo-Set-Header: x-once:1' " + target + " --next -s -i " + target);
  const auto second = two.output.find("HTTP/1.1", 1);
  ASSERT_NE(second, std::string::npos) << two.output;
  EXPECT_NE(two.output.substr(0, second).find("x-once: 1"), std::string::npos) << two.output;
  EXPECT_EQ(two.output.find("x-once", second), std::string::npos) << two.output;
}

TEST_F(ModelsimServer, UnroutedPathsAre404WithoutEchoAnyPath) {
  EXPECT_EQ(curl(url("/some/route")).status, 404);
}

TEST_F(ModelsimServer, H2cPriorKnowledgeServesCompletionsAndStreams) {
  auto r = curl("--http2-prior-knowledge -d " + kChat + " " + url("/v1/chat/completions"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.count("x-modelsim-instance"), 1u);
  EXPECT_EQ(json::parse(r.body)["usage"]["completion_tokens"], 5);

  auto stream = curl("--http2-prior-knowledge -N -d " + kChatStream + " " + url("/v1/chat/completions"));
  ASSERT_EQ(stream.status, 200);
  const auto events = sse_events(stream.body);
  ASSERT_EQ(events.size(), 6u) << stream.body;
  EXPECT_TRUE(event_json(events[4])["choices"].empty());
  EXPECT_EQ(events[5], "data: [DONE]");
}

TEST_F(ModelsimServer, StatusAndDelayHooks) {
  auto r = curl("-H 'x-modelsim-status: 503' " + url("/v1/models"));
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(json::parse(r.body).contains("error"));
  auto h2 = curl("--http2-prior-knowledge -H 'x-modelsim-status: 429' " + url("/health"));
  EXPECT_EQ(h2.status, 429);
  auto delayed = curl("-H 'x-modelsim-delay-ms: 50' " + url("/health"));
  EXPECT_EQ(delayed.status, 200);
  EXPECT_EQ(curl("-H 'x-modelsim-delay-ms: soon' " + url("/health")).status, 400);
}

TEST_F(ModelsimServer, AbortAfterCutsTheStream) {
  auto r = curl("-N -H 'x-modelsim-abort-after: 2' -d " + kChatStream + " " + url("/v1/chat/completions"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.curl_exit, 0);  // the chunked body never ended
  EXPECT_EQ(sse_events(r.body).size(), 2u) << r.body;
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  auto h2 = curl("--http2-prior-knowledge -N -H 'x-modelsim-abort-after: 2' -d " + kChatStream + " " +
                 url("/v1/chat/completions"));
  EXPECT_NE(h2.curl_exit, 0);  // RST_STREAM
  EXPECT_EQ(h2.body.find("[DONE]"), std::string::npos);
}

TEST_F(ModelsimServer, TrailersCarryTheTokenCount) {
  auto r = run_command("curl -s --raw -N -H 'x-modelsim-trailers: 1' -d " + kChatStream + " " +
                       url("/v1/chat/completions"));
  EXPECT_NE(r.output.find("\r\n0\r\nx-modelsim-tokens: 4\r\n\r\n"), std::string::npos) << r.output;
  auto whole = run_command("curl -s --raw -H 'x-modelsim-trailers: 1' -d " + kChat + " " +
                           url("/v1/chat/completions"));
  EXPECT_NE(whole.output.find("x-modelsim-tokens: 5"), std::string::npos) << whole.output;
  auto h2 = run_command("curl -s -v --http2-prior-knowledge -H 'x-modelsim-trailers: 1' -d " + kChatStream +
                        " " + url("/v1/chat/completions") + " 2>&1");
  EXPECT_NE(h2.output.find("x-modelsim-tokens: 4"), std::string::npos) << h2.output;
}

TEST_F(ModelsimServer, MalformedAndOversizedRequests) {
  {
    RawClient client(sim_->port());
    client.send("NOT HTTP AT ALL\r\n\r\n");
    ASSERT_TRUE(client.read_until("\r\n\r\n", 5s));
    EXPECT_TRUE(client.received().starts_with("HTTP/1.1 400")) << client.received();
  }
  {
    RawClient client(sim_->port());
    client.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n");
    ASSERT_TRUE(client.read_until("\r\n\r\n", 5s));
    EXPECT_TRUE(client.received().starts_with("HTTP/1.1 431")) << client.received().substr(0, 100);
  }
}

TEST_F(ModelsimServer, KeepAliveAndPipelining) {
  RawClient client(sim_->port());
  client.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(client.read_until("\"object\":\"list\"", 5s)) << client.received();
  const auto first = client.received().find("HTTP/1.1 200");
  EXPECT_NE(client.received().find("HTTP/1.1 200", first + 1), std::string::npos);
}

// With --itl-ms 50 and 10 tokens, the first event must reach the client while the request
// is still generating: checked by order (metrics still show it running), not by timing.
TEST(ModelsimStreaming, FirstEventArrivesBeforeTheLastIsGenerated) {
  SimProcess sim({"--itl-ms", "50", "--output-tokens", "10"});
  RawClient client(sim.port());
  const std::string body = R"({"messages":[{"role":"user","content":"hi"}],"stream":true})";
  client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_TRUE(client.read_until("data: {", 10s));
  EXPECT_EQ(client.received().find("[DONE]"), std::string::npos);
  auto metrics = run_command("curl -s " + sim.url("/metrics"));
  EXPECT_EQ(metric(metrics.output, "vllm:num_requests_running"), 1) << metrics.output;
  EXPECT_LT(metric(metrics.output, "vllm:generation_tokens_total"), 10);

  ASSERT_TRUE(client.read_until("\r\n0\r\n\r\n", 10s)) << client.received();
  const std::string& all = client.received();
  EXPECT_NE(all.find("Transfer-Encoding: chunked"), std::string::npos);
  std::size_t events = 0;
  for (auto pos = all.find("data: "); pos != std::string::npos; pos = all.find("data: ", pos + 1)) ++events;
  EXPECT_EQ(events, 11u);  // 10 tokens + [DONE]
  metrics = run_command("curl -s " + sim.url("/metrics"));
  EXPECT_EQ(metric(metrics.output, "vllm:num_requests_running"), 0);
  EXPECT_EQ(metric(metrics.output, "vllm:generation_tokens_total"), 10);
  EXPECT_EQ(sim.stop(), 0);  // SIGTERM is a clean exit
}

TEST(ModelsimQueueing, RequestsBeyondMaxNumSeqsWaitFifo) {
  SimProcess sim({"--max-num-seqs", "1", "--ttft-ms", "400", "--name", "queued"});
  const std::string cmd = "curl -s -o /dev/null -d " + kChat + " " + sim.url("/v1/chat/completions");
  std::thread a([&] { run_command(cmd); });
  std::thread b([&] { run_command(cmd); });
  bool saw_queue = false;
  for (int i = 0; i < 100 && !saw_queue; ++i) {
    auto metrics = run_command("curl -s " + sim.url("/metrics")).output;
    saw_queue = metric(metrics, "vllm:num_requests_running") == 1 &&
                metric(metrics, "vllm:num_requests_waiting") == 1 &&
                metric(metrics, "vllm:kv_cache_usage_perc") > 0;
    if (!saw_queue) std::this_thread::sleep_for(10ms);
  }
  a.join();
  b.join();
  EXPECT_TRUE(saw_queue);
  auto after = run_command("curl -s " + sim.url("/metrics")).output;
  EXPECT_EQ(metric(after, "vllm:num_requests_waiting"), 0);
  EXPECT_EQ(metric(after, "vllm:request_success_total"), 2);
  auto r = curl("-d " + kChat + " " + sim.url("/v1/chat/completions"));
  EXPECT_EQ(r.headers["x-modelsim-instance"], "queued");
}

TEST(ModelsimArgs, BadArgumentsExitTwoWithAMessage) {
  auto r = run_command(std::string(MODELSIM_BINARY) + " --port nope 2>&1; echo \" rc=$?\"");
  EXPECT_NE(r.output.find("--port"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rc=2"), std::string::npos) << r.output;
  auto help = run_command(std::string(MODELSIM_BINARY) + " --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--max-num-seqs"), std::string::npos);
}

}  // namespace
}  // namespace modelsim::testing
