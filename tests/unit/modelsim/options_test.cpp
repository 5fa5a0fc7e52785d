#include "bench/modelsim/options.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace modelsim {
namespace {

ParseResult parse(std::vector<std::string_view> args) { return parse_options(args); }

TEST(Options, DefaultsMatchTheDocumentedOnes) {
  auto result = parse({});
  ASSERT_TRUE(std::holds_alternative<Options>(result));
  const auto& o = std::get<Options>(result);
  EXPECT_EQ(o.port, 8000);
  EXPECT_EQ(o.address, "127.0.0.1");
  EXPECT_EQ(o.model, "sim-model");
  EXPECT_EQ(o.name, "");
  EXPECT_EQ(o.threads, 1u);
  EXPECT_EQ(o.max_num_seqs, 256u);
  EXPECT_EQ(o.ttft_ms, 0);
  EXPECT_EQ(o.itl_ms, 0);
  EXPECT_EQ(o.output_tokens, 16u);
}

TEST(Options, ReadsEveryFlagInBothSpellings) {
  auto result = parse({"--port", "0", "--address=0.0.0.0", "--model", "m", "--name=n", "--threads",
                       "3", "--max-num-seqs=7", "--ttft-ms", "12.5", "--itl-ms=3", "--output-tokens",
                       "9", "--seed=42"});
  ASSERT_TRUE(std::holds_alternative<Options>(result)) << std::get<ArgError>(result).message;
  const auto& o = std::get<Options>(result);
  EXPECT_EQ(o.port, 0);
  EXPECT_EQ(o.address, "0.0.0.0");
  EXPECT_EQ(o.model, "m");
  EXPECT_EQ(o.name, "n");
  EXPECT_EQ(o.threads, 3u);
  EXPECT_EQ(o.max_num_seqs, 7u);
  EXPECT_DOUBLE_EQ(o.ttft_ms, 12.5);
  EXPECT_DOUBLE_EQ(o.itl_ms, 3);
  EXPECT_EQ(o.output_tokens, 9u);
  EXPECT_EQ(o.seed, 42u);
}

TEST(Options, RequestLogNamesAFile) {
  EXPECT_EQ(std::get<Options>(parse({})).request_log, "");
  auto result = parse({"--request-log=/tmp/requests.log"});
  ASSERT_TRUE(std::holds_alternative<Options>(result)) << std::get<ArgError>(result).message;
  EXPECT_EQ(std::get<Options>(result).request_log, "/tmp/requests.log");
  result = parse({"--request-log", ""});
  ASSERT_TRUE(std::holds_alternative<ArgError>(result));
  EXPECT_NE(std::get<ArgError>(result).message.find("--request-log"), std::string::npos);
  EXPECT_NE(usage_text("modelsim").find("--request-log"), std::string::npos);
}

TEST(Options, EchoServerIdentityFlags) {
  const Options d = std::get<Options>(parse({}));
  EXPECT_EQ(d.pod_namespace, "");
  EXPECT_FALSE(d.echo_any_path);
  auto result = parse({"--namespace=ns-a", "--echo-any-path"});
  ASSERT_TRUE(std::holds_alternative<Options>(result)) << std::get<ArgError>(result).message;
  EXPECT_EQ(std::get<Options>(result).pod_namespace, "ns-a");
  EXPECT_TRUE(std::get<Options>(result).echo_any_path);
  EXPECT_TRUE(std::holds_alternative<ArgError>(parse({"--namespace", ""})));
  EXPECT_TRUE(std::holds_alternative<ArgError>(parse({"--echo-any-path=1"})));
  EXPECT_NE(usage_text("modelsim").find("--echo-any-path"), std::string::npos);
}

TEST(Options, HelpWins) { EXPECT_TRUE(std::holds_alternative<HelpRequested>(parse({"--help"}))); }

TEST(Options, BadInputNamesTheFlag) {
  struct Case {
    std::vector<std::string_view> args;
    std::string_view needle;
  };
  const std::vector<Case> cases = {
      {{"--port", "70000"}, "--port"},      {{"--port", "12x"}, "--port"},
      {{"--threads", "0"}, "--threads"},    {{"--ttft-ms", "-1"}, "--ttft-ms"},
      {{"--itl-ms", "nan"}, "--itl-ms"},    {{"--output-tokens"}, "missing value"},
      {{"--bogus", "1"}, "--bogus"},        {{"positional"}, "positional"},
      {{"--model", ""}, "--model"},         {{"--max-num-seqs", "-3"}, "--max-num-seqs"},
  };
  for (const auto& c : cases) {
    auto result = parse(c.args);
    ASSERT_TRUE(std::holds_alternative<ArgError>(result)) << c.args.front();
    EXPECT_NE(std::get<ArgError>(result).message.find(c.needle), std::string::npos)
        << std::get<ArgError>(result).message;
  }
}

TEST(Options, UsageListsTheFlags) {
  const std::string usage = usage_text("modelsim");
  for (const char* flag : {"--port", "--max-num-seqs", "--ttft-ms", "--itl-ms", "--output-tokens",
                           "--seed", "--threads"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

TEST(Options, EngineIsOffUnlessAnEngineFlagIsGiven) {
  EXPECT_FALSE(std::get<Options>(parse({"--ttft-ms", "5", "--lora", "a", "--metrics-format", "sglang"})).engine);
  for (std::vector<std::string_view> args :
       {std::vector<std::string_view>{"--engine"}, {"--kv-blocks", "10"}, {"--block-size=32"},
        {"--max-loras", "2"}, {"--lora-load-ms", "5"}, {"--decode-per-seq-ms", "0.1"},
        {"--prefill-tokens-per-s", "1000"}, {"--max-num-batched-tokens", "512"}, {"--no-prefix-caching"},
        {"--profile", "llama3-8b-a100"}}) {
    auto r = parse(args);
    ASSERT_TRUE(std::holds_alternative<Options>(r)) << args[0];
    EXPECT_TRUE(std::get<Options>(r).engine) << args[0];
  }
}

TEST(Options, ProfileSetsTheEngineNumbersAndLaterFlagsOverride) {
  auto r = parse({"--profile", "llama3-8b-h100", "--kv-blocks", "8192", "--time-scale=4", "--lora-dynamic"});
  ASSERT_TRUE(std::holds_alternative<Options>(r)) << std::get<ArgError>(r).message;
  const auto& o = std::get<Options>(r);
  EXPECT_EQ(o.profile, "llama3-8b-h100");
  EXPECT_DOUBLE_EQ(o.decode_base_ms, 6.5);
  EXPECT_DOUBLE_EQ(o.prefill_tokens_per_s, 20000);
  EXPECT_EQ(o.kv_blocks, 8192u);
  EXPECT_DOUBLE_EQ(o.time_scale, 4);
  EXPECT_TRUE(o.lora_dynamic);
  EXPECT_EQ(o.max_loras, 1u);
  // Without a profile the decode step defaults to --itl-ms.
  EXPECT_DOUBLE_EQ(std::get<Options>(parse({"--itl-ms", "7", "--engine"})).decode_base_ms, 7);
}

TEST(Options, BadEngineValuesAreErrors) {
  for (std::vector<std::string_view> args :
       {std::vector<std::string_view>{"--profile", "gpt-5"}, {"--kv-blocks", "0"}, {"--time-scale", "0"},
        {"--metrics-format", "tgi"}, {"--engine=1"}, {"--block-size", "x"}, {"--crash-after", "-1"}}) {
    EXPECT_TRUE(std::holds_alternative<ArgError>(parse(args))) << args[0];
  }
  auto e = std::get<ArgError>(parse({"--profile", "gpt-5"}));
  EXPECT_NE(e.message.find("llama3-8b-h100"), std::string::npos);
}

}  // namespace
}  // namespace modelsim
