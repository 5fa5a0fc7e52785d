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

}  // namespace
}  // namespace modelsim
