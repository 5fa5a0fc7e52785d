#include "bench/modelsim/protocol_sniff.hpp"

#include <gtest/gtest.h>

namespace modelsim {
namespace {

TEST(ProtocolSniff, TellsPrefaceFromHttp1) {
  EXPECT_EQ(sniff_protocol("GET / HTTP/1.1\r\n"), Protocol::kHttp1);
  EXPECT_EQ(sniff_protocol("POST"), Protocol::kHttp1);
  EXPECT_EQ(sniff_protocol("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Protocol::kHttp2);
  EXPECT_EQ(sniff_protocol("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\x12"), Protocol::kHttp2);
  EXPECT_EQ(sniff_protocol("PRI * HT"), Protocol::kNeedMore);
  EXPECT_EQ(sniff_protocol("PRI * HTTP/1.1\r\n"), Protocol::kHttp1);
}

}  // namespace
}  // namespace modelsim
