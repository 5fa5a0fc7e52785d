// An InferencePool with an external Endpoint Picker (endpointPickerRef): the gateway speaks
// Envoy's ext_proc protocol to tests/epp_sim (which behaves like the GIE EPP) and follows its
// choice, reports the endpoint that served, and honours FailOpen / FailClose when the picker
// is down, slow or answers garbage.
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_test.h"
#include "tests/e2e/epp_pool.h"

namespace infergate::e2e {
namespace {

struct Fixture {
  Modelsim sim0{{"--name", "sim-0"}}, sim1{{"--name", "sim-1"}};
  std::string endpoints() const { return endpoint(sim0.port()) + "," + endpoint(sim1.port()); }
};

HttpResponse chat(Gateway& gw, const Headers& h = {}) {
  return http_request(gw.port(), "POST", "/v1/chat/completions", h, chat_body(4, false), scaled(10000));
}

TEST(EndpointPickerExtension, TheEppChoosesAndHearsWhichEndpointServed) {
  Fixture f;
  EppSim epp({"--endpoints", f.endpoints(), "--fallbacks", "1"});
  Gateway gw(pool_with_epp(f.sim0.port(), f.sim1.port(), epp.port(), "FailClose"));
  for (int pick : {1, 0, 1, 1}) {
    HttpResponse r = chat(gw, {{"x-epp-sim-pick", std::to_string(pick)}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-modelsim-instance"), "sim-" + std::to_string(pick));
  }
  // The EPP's header mutation reaches the model server, as Envoy applies it.
  HttpResponse echo = http_request(gw.port(), "POST", "/echo", {{"x-epp-sim-pick", "0"}}, "{}");
  ASSERT_EQ(echo.status, 200);
  const auto j = nlohmann::json::parse(echo.body, nullptr, false);
  EXPECT_NE(j.dump().find("x-gateway-destination-endpoint"), std::string::npos) << echo.body;
  // Every served endpoint was reported back in the response headers it is sent.
  EXPECT_TRUE(epp.process().wait_out("served " + endpoint(f.sim1.port()), scaled(3000))) << epp.process().out();
  EXPECT_TRUE(epp.process().wait_out("served " + endpoint(f.sim0.port()), scaled(3000))) << epp.process().out();
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.endpoint"), 5);
}

TEST(EndpointPickerExtension, ADeadPrimaryRetriesOnTheEppsFallback) {
  Fixture f;
  EppSim epp({"--endpoints", f.endpoints(), "--fallbacks", "1"});
  Gateway gw(pool_with_epp(f.sim0.port(), f.sim1.port(), epp.port(), "FailClose"));
  f.sim0.process().kill_now();
  HttpResponse r = chat(gw, {{"x-epp-sim-pick", "0"}});  // primary sim-0, fallback sim-1
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-modelsim-instance"), "sim-1");
}

TEST(EndpointPickerExtension, ShedAndNoneReadyAnswersAreTheEpps) {
  Fixture f;
  EppSim epp({"--endpoints", f.endpoints()});
  Gateway gw(pool_with_epp(f.sim0.port(), f.sim1.port(), epp.port(), "FailOpen"));
  EXPECT_EQ(chat(gw, {{"x-epp-sim-mode", "shed"}}).status, 429);
  EXPECT_EQ(chat(gw, {{"x-epp-sim-mode", "none-ready"}}).status, 503);
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.immediate_response"), 2);
}

TEST(EndpointPickerExtension, FailOpenUsesTheBuiltInPickerFailCloseAnswers500) {
  Fixture f;
  EppSim epp({"--endpoints", f.endpoints(), "--delay-ms", "3000"});
  for (const std::string mode : {"FailOpen", "FailClose"}) {
    SCOPED_TRACE(mode);
    Gateway gw(pool_with_epp(f.sim0.port(), f.sim1.port(), epp.port(), mode));
    const int expected = mode == "FailOpen" ? 200 : 500;
    // Slow (past the 1 s message timeout), garbage, a closed stream: each a failure.
    for (const char* how : {"slow", "garbage", "close"}) {
      HttpResponse r = chat(gw, {{"x-epp-sim-mode", how}});
      EXPECT_EQ(r.status, expected) << how << ": " << r.body;
      if (expected == 500) {
        EXPECT_NE(r.body.find("endpoint picker failed"), std::string::npos) << r.body;
      }
    }
    EXPECT_EQ(gw.stat_sum(mode == "FailOpen" ? "endpoint_picker.epp.fail_open" : "endpoint_picker.epp.fail_close"), 3);
  }
  // An EPP that picks outside the pool is not followed.
  Gateway gw(pool_with_epp(f.sim0.port(), f.sim1.port(), epp.port(), "FailClose"));
  EXPECT_EQ(chat(gw, {{"x-epp-sim-mode", "outside"}}).status, 500);
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.error.rejected_endpoint"), 1);
}

TEST(EndpointPickerExtension, AnEppThatIsDownFailsOpenOrClosed) {
  Fixture f;
  const uint16_t nobody = free_port();
  Gateway open(pool_with_epp(f.sim0.port(), f.sim1.port(), nobody, "FailOpen"));
  Gateway closed(pool_with_epp(f.sim0.port(), f.sim1.port(), nobody, "FailClose"));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(chat(open).status, 200);
    EXPECT_EQ(chat(closed).status, 500);
  }
  EXPECT_EQ(open.stat_sum("endpoint_picker.epp.fail_open"), 5);
}

}  // namespace
}  // namespace infergate::e2e
