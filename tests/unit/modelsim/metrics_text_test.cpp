#include "bench/modelsim/metrics_text.hpp"

#include <gtest/gtest.h>

namespace modelsim {
namespace {

TEST(MetricsText, EveryFamilyHasHelpTypeAndLabelledSample) {
  MetricsSnapshot s;
  s.running = 3;
  s.waiting = 2;
  s.kv_cache_usage = 0.25;
  s.prompt_tokens = 100;
  s.generation_tokens = 50;
  s.request_success = 7;
  const std::string text = render_metrics(s, "sim-model");
  const std::pair<const char*, const char*> expected[] = {
      {"vllm:num_requests_running", "gauge"},  {"vllm:num_requests_waiting", "gauge"},
      {"vllm:kv_cache_usage_perc", "gauge"},   {"vllm:prompt_tokens_total", "counter"},
      {"vllm:generation_tokens_total", "counter"}, {"vllm:request_success_total", "counter"}};
  for (const auto& [name, type] : expected) {
    EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " " + type + "\n"), std::string::npos) << name;
  }
  EXPECT_NE(text.find("vllm:num_requests_running{model_name=\"sim-model\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("vllm:num_requests_waiting{model_name=\"sim-model\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("vllm:kv_cache_usage_perc{model_name=\"sim-model\"} 0.25\n"), std::string::npos);
  EXPECT_NE(text.find("vllm:prompt_tokens_total{model_name=\"sim-model\"} 100\n"), std::string::npos);
  EXPECT_NE(text.find("vllm:generation_tokens_total{model_name=\"sim-model\"} 50\n"), std::string::npos);
  EXPECT_NE(text.find("vllm:request_success_total{model_name=\"sim-model\"} 7\n"), std::string::npos);
}

TEST(MetricsText, LabelValuesAreEscapedAndUsageClamped) {
  MetricsSnapshot s;
  s.kv_cache_usage = 3.0;
  const std::string text = render_metrics(s, "a\"b\\c");
  EXPECT_NE(text.find(R"(model_name="a\"b\\c")"), std::string::npos);
  EXPECT_NE(text.find("vllm:kv_cache_usage_perc{model_name=\"a\\\"b\\\\c\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace modelsim
