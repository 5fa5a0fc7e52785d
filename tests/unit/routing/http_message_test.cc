// The message heads every codec and filter share: what a head's Content-Length declares.
#include "routing/http_message.h"

#include <gtest/gtest.h>

namespace infergate {
namespace {

std::optional<uint64_t> declared(std::initializer_list<std::pair<const char*, const char*>> headers) {
  HeaderMap h;
  for (const auto& [name, value] : headers) h.add(name, value);
  return declared_content_length(h);
}

TEST(HttpMessage, DeclaredContentLengthIsTheFirstValueWhenAllDigits) {
  EXPECT_EQ(declared({{"Content-Length", "0"}}), 0u);
  EXPECT_EQ(declared({{"content-length", "1234"}}), 1234u);
  EXPECT_EQ(declared({{"content-length", "18446744073709551615"}}), UINT64_MAX);
  EXPECT_EQ(declared({{"content-length", "7"}, {"content-length", "9"}}), 7u);
  EXPECT_FALSE(declared({}));
  EXPECT_FALSE(declared({{"content-length", ""}}));
  EXPECT_FALSE(declared({{"content-length", "12abc"}})) << "a number followed by junk is no length";
  EXPECT_FALSE(declared({{"content-length", "-1"}}));
  EXPECT_FALSE(declared({{"content-length", " 5"}}));
  EXPECT_FALSE(declared({{"content-length", "5, 5"}}));
  EXPECT_FALSE(declared({{"content-length", "18446744073709551616"}})) << "past 64 bits";
}

}  // namespace
}  // namespace infergate
