#include "pools/model_server_metrics.h"

#include <gtest/gtest.h>

#include <limits>

namespace infergate::pools {
namespace {

TEST(ModelServerMetrics, VllmNamesAreSummedOverModels) {
  const auto s = parse_model_server_metrics(
      "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
      "# TYPE vllm:num_requests_waiting gauge\n"
      "vllm:num_requests_waiting{model_name=\"a\"} 3\n"
      "vllm:num_requests_waiting{model_name=\"b\"} 2.0\n"
      "vllm:num_requests_running{model_name=\"a\"} 7 1700000000000\n"
      "vllm:kv_cache_usage_perc{model_name=\"a\"} 0.42\r\n"
      "vllm:num_requests_waiting_by_reason{reason=\"x\"} 100\n"
      "vllm:cache_config_info{block_size=\"16\",num_gpu_blocks=\"4096\",other=\"a,b\"} 1\n");
  EXPECT_EQ(s.waiting, 5);
  EXPECT_EQ(s.running, 7);
  EXPECT_DOUBLE_EQ(*s.kv_cache, 0.42);
  EXPECT_EQ(s.block_size, 16u);
  EXPECT_EQ(s.gpu_blocks, 4096u);
  EXPECT_EQ(s.malformed_lines, 0u);
  EXPECT_FALSE(s.empty());
}

TEST(ModelServerMetrics, OlderVllmCacheNameAndLoraInfoNewestSeriesWins) {
  const auto s = parse_model_server_metrics(
      "vllm:gpu_cache_usage_perc 0.9\n"
      "vllm:lora_requests_info{max_lora=\"4\",running_lora_adapters=\"old\",waiting_lora_adapters=\"\"} 1.7e9\n"
      "vllm:lora_requests_info{max_lora=\"4\",running_lora_adapters=\"sql-lora, chat-lora\","
      "waiting_lora_adapters=\"tweet\"} 1.8e9\n"
      "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"older\",waiting_lora_adapters=\"\"} 1.6e9\n");
  EXPECT_DOUBLE_EQ(*s.kv_cache, 0.9);
  EXPECT_EQ(s.max_loras, 4u);
  EXPECT_EQ(s.running_adapters, (std::vector<std::string>{"sql-lora", "chat-lora"}));
  EXPECT_EQ(s.waiting_adapters, (std::vector<std::string>{"tweet"}));
}

TEST(ModelServerMetrics, SglangAndTensorRtLlmNames) {
  const auto sg = parse_model_server_metrics(
      "sglang:num_queue_reqs{model_name=\"m\"} 4\nsglang:num_running_reqs{model_name=\"m\"} 8\n"
      "sglang:token_usage{model_name=\"m\"} 0.25\n");
  EXPECT_EQ(sg.waiting, 4);
  EXPECT_EQ(sg.running, 8);
  EXPECT_DOUBLE_EQ(*sg.kv_cache, 0.25);
  const auto trt = parse_model_server_metrics(
      "nv_trt_llm_request_metrics{model=\"ensemble\",request_type=\"waiting\",version=\"1\"} 6\n"
      "nv_trt_llm_request_metrics{model=\"ensemble\",request_type=\"active\",version=\"1\"} 3\n"
      "nv_trt_llm_request_metrics{model=\"ensemble\",request_type=\"max\",version=\"1\"} 64\n"
      "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"used\",model=\"ensemble\"} 300\n"
      "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"max\",model=\"ensemble\"} 1200\n");
  EXPECT_EQ(trt.waiting, 6);
  EXPECT_EQ(trt.running, 3);
  EXPECT_DOUBLE_EQ(*trt.kv_cache, 0.25);
}

TEST(ModelServerMetrics, GarbageIsSkippedAndCounted) {
  const auto s = parse_model_server_metrics(
      "vllm:num_requests_waiting{model_name=\"a} 3\n"  // unterminated label value
      "vllm:num_requests_running{model_name=\"a\"} lots\n"
      "vllm:kv_cache_usage_perc NaN\n"
      "\x01\x02\x03 binary\n"
      "vllm:num_requests_waiting{model_name=\"a\\\"b\"} 1\n");
  EXPECT_EQ(s.malformed_lines, 3u);
  EXPECT_EQ(s.waiting, 1);
  EXPECT_FALSE(s.running);
  EXPECT_TRUE(parse_model_server_metrics("<html>not metrics</html>").empty());
  EXPECT_TRUE(parse_model_server_metrics("").empty());
}

// Found by fuzz_model_server_metrics: each value is finite, but their sum was not.
TEST(ModelServerMetrics, SumsAndRatiosStayFinite) {
  const auto s = parse_model_server_metrics(
      "vllm:num_requests_running{model_name=\"a\"} 1e308\nvllm:num_requests_running{model_name=\"b\"} 1e308\n"
      "vllm:num_requests_waiting{model_name=\"a\"} -1e308\nvllm:num_requests_waiting{model_name=\"b\"} -1e308\n");
  ASSERT_TRUE(s.running);
  EXPECT_EQ(*s.running, std::numeric_limits<double>::max());
  ASSERT_TRUE(s.waiting);
  EXPECT_EQ(*s.waiting, -std::numeric_limits<double>::max());
  const auto trt = parse_model_server_metrics(
      "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"used\"} 1e308\n"
      "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"max\"} 1e-308\n");
  EXPECT_FALSE(trt.kv_cache) << "an infinite ratio is no reading";
}

}  // namespace
}  // namespace infergate::pools
