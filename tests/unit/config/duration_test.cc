#include "config/duration.h"

#include <gtest/gtest.h>

namespace infergate::config {
namespace {

using std::chrono::milliseconds;

TEST(Duration, GatewayApiFormat) {
  EXPECT_EQ(parse_duration("10s"), milliseconds(10'000));
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(parse_duration("1h2m3s4ms"), milliseconds(3'723'004));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
}

TEST(Duration, IstioAndGoFormat) {
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration("0.25s"), milliseconds(250));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120'000));
}

TEST(Duration, SubMillisecondRoundsUpSoItNeverMeansNoTimeout) {
  EXPECT_EQ(parse_duration("250us"), milliseconds(1));
  EXPECT_EQ(parse_duration("1ns"), milliseconds(1));
  EXPECT_EQ(parse_duration("1500us"), milliseconds(2));
}

TEST(Duration, RejectsBadValuesWithReason) {
  for (const char* bad : {"", "10", "s", "10 s", "-1s", "+1s", "inf", "1d", "ten seconds", "1.s.s",
                          "99999999999h"}) {
    std::string why;
    EXPECT_EQ(parse_duration(bad, &why), std::nullopt) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(Duration, FormatsShortestSpelling) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(5'400'000)), "1h30m");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
}

}  // namespace
}  // namespace infergate::config
