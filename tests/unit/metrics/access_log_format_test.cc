#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "metrics/access_log.h"

namespace infergate::metrics {
namespace {

using namespace std::chrono;

AccessLogEntry sample_entry() {
  AccessLogEntry e;
  e.start_time = sys_days{year{2024} / 1 / 2} + hours{3} + minutes{4} + seconds{5} + milliseconds{678} +
                 microseconds{999};
  e.method = "POST";
  e.path = "/v1/chat/completions";
  e.protocol = "HTTP/1.1";
  e.response_code = 200;
  e.response_flags = "-";
  e.bytes_received = 154;
  e.bytes_sent = 2048;
  e.duration_ms = 226;
  e.upstream_service_time_ms = 100;
  e.x_forwarded_for = "10.0.35.28";
  e.user_agent = "curl/8.0";
  e.request_id = "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2";
  e.authority = "llm.local:8080";
  e.upstream_host = "127.0.0.1:18001";
  e.upstream_cluster = "llm";
  e.route_name = "llm-route";
  return e;
}

TEST(AccessLogFormat, EnvoyDefaultFormat) {
  EXPECT_EQ(format_envoy(sample_entry()),
            "[2024-01-02T03:04:05.678Z] \"POST /v1/chat/completions HTTP/1.1\" 200 - 154 2048 226 100 "
            "\"10.0.35.28\" \"curl/8.0\" \"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2\" \"llm.local:8080\" "
            "\"127.0.0.1:18001\"\n");
}

TEST(AccessLogFormat, EnvoyMissingValuesPrintDash) {
  AccessLogEntry e;  // epoch, nothing set, no response
  EXPECT_EQ(format_envoy(e), "[1970-01-01T00:00:00.000Z] \"- - -\" 0 - 0 0 0 - \"-\" \"-\" \"-\" \"-\" \"-\"\n");
}

TEST(AccessLogFormat, EnvoyFlagsAndHttp2) {
  AccessLogEntry e = sample_entry();
  e.protocol = "HTTP/2";
  e.response_code = 503;
  e.response_flags = "UF,URX";
  e.upstream_service_time_ms = -1;
  e.upstream_host.clear();
  EXPECT_EQ(format_envoy(e),
            "[2024-01-02T03:04:05.678Z] \"POST /v1/chat/completions HTTP/2\" 503 UF,URX 154 2048 226 - "
            "\"10.0.35.28\" \"curl/8.0\" \"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2\" \"llm.local:8080\" \"-\"\n");
}

TEST(AccessLogFormat, EnvoyKeepsOneLinePerEntry) {
  AccessLogEntry e = sample_entry();
  e.user_agent = "evil\r\nagent";
  const std::string line = format_envoy(e);
  EXPECT_NE(line.find("\"evil  agent\""), std::string::npos);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(AccessLogFormat, JsonKeysOrderAndTypes) {
  EXPECT_EQ(format_json(sample_entry()),
            "{\"start_time\":\"2024-01-02T03:04:05.678Z\",\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
            "\"protocol\":\"HTTP/1.1\",\"response_code\":200,\"response_flags\":null,\"bytes_received\":154,"
            "\"bytes_sent\":2048,\"duration\":226,\"upstream_service_time\":100,\"x_forwarded_for\":\"10.0.35.28\","
            "\"user_agent\":\"curl/8.0\",\"request_id\":\"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2\","
            "\"authority\":\"llm.local:8080\",\"upstream_host\":\"127.0.0.1:18001\",\"upstream_cluster\":\"llm\","
            "\"route_name\":\"llm-route\"}\n");
}

TEST(AccessLogFormat, JsonMissingValuesAreNull) {
  AccessLogEntry e;
  const nlohmann::json j = nlohmann::json::parse(format_json(e));
  EXPECT_EQ(j["start_time"], "1970-01-01T00:00:00.000Z");
  EXPECT_TRUE(j["method"].is_null());
  EXPECT_TRUE(j["response_flags"].is_null());
  EXPECT_EQ(j["response_code"], 0);
  EXPECT_TRUE(j["upstream_service_time"].is_null());
  EXPECT_TRUE(j["route_name"].is_null());
  EXPECT_EQ(j.size(), 17u);
}

TEST(AccessLogFormat, JsonEscapesHostileValues) {
  AccessLogEntry e = sample_entry();
  e.user_agent = std::string("quote\" back\\slash \n ctl\x01 bad\xff utf8 h\xc3\xa9");
  e.response_flags = "UF,URX";
  const std::string line = format_json(e);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["user_agent"], "quote\" back\\slash \n ctl\x01 bad\xEF\xBF\xBD utf8 h\xc3\xa9");
  EXPECT_EQ(j["response_flags"], "UF,URX");
}

}  // namespace
}  // namespace infergate::metrics
