// The engine flags, the LoRA adapter API, both metrics formats and the stall/crash faults,
// end to end through the modelsim binary.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "sim_process.hpp"

namespace modelsim::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  std::string body;
  double seconds = 0;  // curl's time_total
};

// curl with the body in a file (prompts are long), status and time on the last line.
Reply post(const SimProcess& sim, const std::string& path, const std::string& body) {
  static int n = 0;
  // The pid too: CTest runs the tests of this file as parallel processes sharing TempDir().
  const std::string file =
      ::testing::TempDir() + "engine_body_" + std::to_string(getpid()) + "_" + std::to_string(++n) + ".json";
  std::ofstream(file) << body;
  auto r = run_command("curl -s --max-time 30 -w '\\n%{http_code} %{time_total}' --data-binary @" + file + " " +
                       sim.url(path));
  std::remove(file.c_str());
  Reply reply;
  const auto nl = r.output.rfind('\n');
  if (nl == std::string::npos) return reply;
  reply.body = r.output.substr(0, nl);
  std::sscanf(r.output.c_str() + nl + 1, "%d %lf", &reply.status, &reply.seconds);
  return reply;
}

Reply get(const SimProcess& sim, const std::string& path) {
  auto r = run_command("curl -s --max-time 30 -w '\\n%{http_code} %{time_total}' " + sim.url(path));
  Reply reply;
  const auto nl = r.output.rfind('\n');
  if (nl == std::string::npos) return reply;
  reply.body = r.output.substr(0, nl);
  std::sscanf(r.output.c_str() + nl + 1, "%d %lf", &reply.status, &reply.seconds);
  return reply;
}

std::string chat(const std::string& model, const std::string& content, int max_tokens = 3) {
  return json{{"model", model},
              {"messages", json::array({json{{"role", "user"}, {"content", content}}})},
              {"max_tokens", max_tokens}}
      .dump();
}

double metric(const std::string& text, const std::string& name) {
  const auto pos = text.find("\n" + name + "{");
  if (pos == std::string::npos) return -1;
  const auto space = text.find("} ", pos);
  return std::stod(text.substr(space + 2));
}

bool has_family(const std::string& text, const std::string& name) {
  return text.find("# TYPE " + name + " ") != std::string::npos;
}

TEST(ModelsimEngine, LoadAndUnloadLoraAdapterLikeVllm) {
  SimProcess sim({"--engine", "--max-loras", "2"});
  auto unknown = post(sim, "/v1/chat/completions", chat("sql-lora", "hi"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body)["error"]["code"], "model_not_found");

  auto load = post(sim, "/v1/load_lora_adapter", R"({"lora_name":"sql-lora","lora_path":"/adapters/sql"})");
  EXPECT_EQ(load.status, 200);
  EXPECT_EQ(load.body, "Success: LoRA adapter 'sql-lora' added successfully.");
  auto twice = post(sim, "/v1/load_lora_adapter", R"({"lora_name":"sql-lora","lora_path":"/adapters/sql"})");
  EXPECT_EQ(twice.status, 400);
  EXPECT_NE(json::parse(twice.body)["error"]["message"].get<std::string>().find("already been loaded"),
            std::string::npos);
  EXPECT_EQ(post(sim, "/v1/load_lora_adapter", R"({"lora_name":"x"})").status, 400);

  const json models = json::parse(get(sim, "/v1/models").body);
  ASSERT_EQ(models["data"].size(), 2u);
  EXPECT_EQ(models["data"][0]["id"], "sim-model");
  EXPECT_EQ(models["data"][1]["id"], "sql-lora");
  EXPECT_EQ(models["data"][1]["parent"], "sim-model");
  EXPECT_EQ(models["data"][1]["root"], "/adapters/sql");

  auto served = post(sim, "/v1/chat/completions", chat("sql-lora", "hi"));
  ASSERT_EQ(served.status, 200) << served.body;
  EXPECT_EQ(json::parse(served.body)["usage"]["completion_tokens"], 3);
  const std::string metrics = get(sim, "/metrics").body;
  EXPECT_EQ(metric(metrics, "modelsim_lora_loads_total"), 1);
  EXPECT_NE(metrics.find("vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"\",waiting_lora_adapters=\"\"} "),
            std::string::npos)
      << metrics;

  auto unload = post(sim, "/v1/unload_lora_adapter", R"({"lora_name":"sql-lora"})");
  EXPECT_EQ(unload.status, 200);
  EXPECT_EQ(unload.body, "Success: LoRA adapter 'sql-lora' removed successfully.");
  EXPECT_EQ(post(sim, "/v1/unload_lora_adapter", R"({"lora_name":"sql-lora"})").status, 404);
  EXPECT_EQ(post(sim, "/v1/unload_lora_adapter", R"({})").status, 400);
  EXPECT_EQ(post(sim, "/v1/chat/completions", chat("sql-lora", "hi")).status, 404);
  EXPECT_EQ(json::parse(get(sim, "/v1/models").body)["data"].size(), 1u);
}

TEST(ModelsimEngine, LoraDynamicServesAnyNameAndLoraFlagNamesAreListed) {
  SimProcess sim({"--lora", "a,b", "--lora-dynamic"});
  EXPECT_EQ(post(sim, "/v1/chat/completions", chat("anything", "hi")).status, 200);
  const json models = json::parse(get(sim, "/v1/models").body);
  ASSERT_EQ(models["data"].size(), 4u);
  EXPECT_EQ(models["data"][1]["id"], "a");
  EXPECT_EQ(models["data"][3]["id"], "anything");
}

TEST(ModelsimEngine, VllmMetricsOfTheEngine) {
  SimProcess sim({"--kv-blocks", "500", "--block-size", "16"});
  const std::string prompt(4000, 'p');  // 1000 tokens, 62 full blocks
  ASSERT_EQ(post(sim, "/v1/chat/completions", chat("sim-model", prompt)).status, 200);
  ASSERT_EQ(post(sim, "/v1/chat/completions", chat("sim-model", prompt)).status, 200);
  const std::string m = get(sim, "/metrics").body;
  for (const char* name : {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                           "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:request_success_total",
                           "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total",
                           "vllm:num_preemptions_total", "vllm:cache_config_info", "modelsim_lora_loads_total"}) {
    EXPECT_TRUE(has_family(m, name)) << name << "\n" << m;
  }
  EXPECT_FALSE(has_family(m, "vllm:lora_requests_info"));  // no adapters in use
  EXPECT_NE(m.find("vllm:cache_config_info{block_size=\"16\",cache_dtype=\"auto\",enable_prefix_caching=\"True\","
                   "gpu_memory_utilization=\"0.9\",num_gpu_blocks=\"500\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_EQ(metric(m, "vllm:prefix_cache_queries_total"), 2000);
  EXPECT_EQ(metric(m, "vllm:prefix_cache_hits_total"), 992);  // 62 blocks of the second request
  EXPECT_EQ(metric(m, "vllm:request_success_total"), 2);
  EXPECT_EQ(metric(m, "vllm:kv_cache_usage_perc"), 0);
}

TEST(ModelsimEngine, WithoutEngineFlagsMetricsKeepTheirSixFamilies) {
  SimProcess sim;
  const std::string m = get(sim, "/metrics").body;
  std::size_t families = 0;
  for (auto pos = m.find("# TYPE "); pos != std::string::npos; pos = m.find("# TYPE ", pos + 1)) ++families;
  EXPECT_EQ(families, 6u) << m;
  EXPECT_FALSE(has_family(m, "vllm:prefix_cache_queries_total"));
}

TEST(ModelsimEngine, SglangMetricsFormat) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--metrics-format", "sglang"},
        std::vector<std::string>{"--metrics-format", "sglang", "--engine"}}) {
    SimProcess sim(args);
    const std::string prompt(4000, 'q');
    post(sim, "/v1/chat/completions", chat("sim-model", prompt));
    post(sim, "/v1/chat/completions", chat("sim-model", prompt));
    const std::string m = get(sim, "/metrics").body;
    for (const char* name : {"sglang:num_queue_reqs", "sglang:num_running_reqs", "sglang:token_usage",
                             "sglang:cache_hit_rate"}) {
      EXPECT_TRUE(has_family(m, name)) << name << "\n" << m;
      EXPECT_NE(m.find(std::string(name) + "{model_name=\"sim-model\"} "), std::string::npos) << name;
    }
    EXPECT_EQ(m.find("vllm:"), std::string::npos) << m;
    if (args.size() == 3) {
      EXPECT_NEAR(metric(m, "sglang:cache_hit_rate"), 992.0 / 2000.0, 1e-9);
    }
  }
}

// Relative, with a wide margin: an 8000-token prompt costs 800 ms of prefill at 10k tokens/s,
// its cached repeat about 1 ms.
TEST(ModelsimEngine, LongUncachedPromptsWaitForPrefillAndCachedOnesDoNot) {
  SimProcess sim({"--engine", "--prefill-tokens-per-s", "10000", "--decode-base-ms", "1"});
  const std::string prompt(32000, 'r');
  auto cold = post(sim, "/v1/chat/completions", chat("sim-model", prompt, 2));
  auto warm = post(sim, "/v1/chat/completions", chat("sim-model", prompt, 2));
  ASSERT_EQ(cold.status, 200);
  ASSERT_EQ(warm.status, 200);
  EXPECT_GE(cold.seconds, 0.75);
  EXPECT_LT(warm.seconds, cold.seconds / 2);
}

TEST(ModelsimEngine, TimeScaleDividesSimulatedTime) {
  SimProcess sim({"--engine", "--prefill-tokens-per-s", "1000", "--time-scale", "10"});
  auto r = post(sim, "/v1/chat/completions", chat("sim-model", std::string(4000, 's'), 1));
  ASSERT_EQ(r.status, 200);
  EXPECT_GE(r.seconds, 0.09);  // 1000 tokens = 1 s of prefill, a tenth of it in real time
}

TEST(ModelsimEngine, RequestsLargerThanTheKvCacheAreRejected) {
  SimProcess sim({"--kv-blocks", "4"});  // 64 tokens
  auto r = post(sim, "/v1/chat/completions", chat("sim-model", std::string(400, 'x'), 5));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("maximum context length is 64 tokens"), std::string::npos) << r.body;
}

TEST(ModelsimFaults, StallHoldsEveryAnswerButTheFaultApi) {
  SimProcess sim;
  auto set = post(sim, "/modelsim/faults", R"({"stall_ms": 700})");
  ASSERT_EQ(set.status, 200);
  EXPECT_GT(json::parse(set.body)["stall_ms"].get<double>(), 0);
  EXPECT_LT(get(sim, "/modelsim/faults").seconds, 0.5);
  auto held = get(sim, "/health");
  EXPECT_EQ(held.status, 200);
  EXPECT_GE(held.seconds, 0.3);
  const json after = json::parse(get(sim, "/modelsim/faults").body);
  EXPECT_EQ(after["stall_ms"], 0.0);
  EXPECT_EQ(after["error_rate"], 0.0);
  EXPECT_EQ(after["crash_after"], 0);
  EXPECT_EQ(post(sim, "/modelsim/faults", R"({"stall_ms": -1})").status, 400);
}

TEST(ModelsimFaults, HealthStatusFailsOnlyTheHealthPath) {
  SimProcess sim;
  auto set = post(sim, "/modelsim/faults", R"({"health_status": 503})");
  ASSERT_EQ(set.status, 200);
  EXPECT_EQ(json::parse(set.body)["health_status"], 503);
  EXPECT_EQ(get(sim, "/health").status, 503);
  EXPECT_EQ(get(sim, "/metrics").status, 200);
  EXPECT_EQ(post(sim, "/v1/chat/completions", chat("sim-model", "hi", 2)).status, 200);
  EXPECT_EQ(post(sim, "/modelsim/faults", R"({"health_status": 0})").status, 200);
  EXPECT_EQ(get(sim, "/health").status, 200);
  EXPECT_EQ(post(sim, "/modelsim/faults", R"({"health_status": 100})").status, 400);
  EXPECT_EQ(post(sim, "/modelsim/faults", R"({"health_status": 503.5})").status, 400);
}

TEST(ModelsimFaults, CrashKillsTheProcess) {
  SimProcess sim({"--engine"});
  auto r = post(sim, "/modelsim/faults", R"({"crash": true})");
  EXPECT_EQ(r.status, 200);
  const auto status = sim.wait_exit(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
}

TEST(ModelsimFaults, CrashAfterNCompletions) {
  SimProcess sim({"--crash-after", "2"});
  EXPECT_EQ(post(sim, "/v1/chat/completions", chat("sim-model", "one")).status, 200);
  EXPECT_EQ(post(sim, "/v1/chat/completions", chat("sim-model", "two")).status, 200);
  EXPECT_EQ(get(sim, "/health").status, 200);  // only completions count
  EXPECT_EQ(post(sim, "/v1/chat/completions", chat("sim-model", "three")).status, 0);
  const auto status = sim.wait_exit(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
}

TEST(ModelsimEngine, StreamsThroughTheEngineWithUsage) {
  SimProcess sim({"--profile", "llama3-8b-h100", "--time-scale", "20"});
  auto r = post(sim, "/v1/chat/completions",
                R"({"messages":[{"role":"user","content":"hello"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":6})");
  ASSERT_EQ(r.status, 200);
  std::size_t events = 0;
  for (auto pos = r.body.find("data: "); pos != std::string::npos; pos = r.body.find("data: ", pos + 1)) ++events;
  EXPECT_EQ(events, 8u) << r.body;  // 6 tokens, usage, [DONE]
  EXPECT_NE(r.body.find("\"completion_tokens\":6"), std::string::npos);
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
}

TEST(ModelsimEngine, StreamIntervalGroupsTokensAfterTheFirst) {
  SimProcess sim({"--engine", "--stream-interval", "4"});
  auto r = post(sim, "/v1/chat/completions",
                R"({"messages":[{"role":"user","content":"hello"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":10})");
  ASSERT_EQ(r.status, 200);
  std::vector<json> chunks;
  for (auto pos = r.body.find("data: {"); pos != std::string::npos; pos = r.body.find("data: {", pos + 1)) {
    chunks.push_back(json::parse(r.body.substr(pos + 6, r.body.find("\n\n", pos) - pos - 6)));
  }
  ASSERT_EQ(chunks.size(), 5u) << r.body;  // 1 + 4 + 4 + 1 tokens, then usage
  std::string text;
  for (int i = 0; i < 4; ++i) text += chunks[i]["choices"][0]["delta"]["content"].get<std::string>();
  EXPECT_EQ(std::count(text.begin(), text.end(), ' '), 9);
  EXPECT_EQ(chunks[3]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(chunks[4]["usage"]["completion_tokens"], 10);
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
}

}  // namespace
}  // namespace modelsim::testing
