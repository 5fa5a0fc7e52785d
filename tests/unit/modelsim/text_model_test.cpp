#include "bench/modelsim/text_model.hpp"

#include <gtest/gtest.h>

namespace modelsim {
namespace {

TEST(TextModel, CountsAboutOneTokenPerFourCharacters) {
  EXPECT_EQ(count_tokens(""), 0u);
  EXPECT_EQ(count_tokens("a"), 1u);
  EXPECT_EQ(count_tokens("abcd"), 1u);
  EXPECT_EQ(count_tokens("abcde"), 2u);
  EXPECT_EQ(count_tokens(std::string(400, 'x')), 100u);
}

TEST(TextModel, SamePromptAndSeedGiveSameText) {
  const auto h = prompt_hash("hello", 7);
  EXPECT_EQ(h, prompt_hash("hello", 7));
  EXPECT_EQ(completion_text(h, 12), completion_text(prompt_hash("hello", 7), 12));
}

TEST(TextModel, PromptOrSeedChangeTheText) {
  const auto a = completion_text(prompt_hash("hello", 7), 16);
  EXPECT_NE(a, completion_text(prompt_hash("hello!", 7), 16));
  EXPECT_NE(a, completion_text(prompt_hash("hello", 8), 16));
}

TEST(TextModel, TokensConcatenateToTheWholeText) {
  const auto h = prompt_hash("prompt", 0);
  std::string joined;
  for (std::uint32_t i = 0; i < 5; ++i) append_token_text(joined, h, i);
  EXPECT_EQ(joined, completion_text(h, 5));
  // One word per token, separated by single spaces.
  EXPECT_EQ(std::count(joined.begin(), joined.end(), ' '), 4);
  EXPECT_EQ(joined.substr(0, token_word(h, 0).size()), token_word(h, 0));
}

}  // namespace
}  // namespace modelsim
