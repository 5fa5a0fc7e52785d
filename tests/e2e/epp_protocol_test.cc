// The Endpoint Picker protocol (GIE proposal 004) end to end, item by item, against
// tests/epp_sim: TLS to the EPP (verified, and unverified with a warning), a body mutation
// reaching the model server, the subset hint, trailers, the served endpoint reported in
// metadata with the EPP's answer applied to the response, mode_override, the message
// timeout from config, gRPC health readiness, and bad answers refused with counters.
#include <chrono>

#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_test.h"
#include "tests/e2e/epp_pool.h"
#include "tests/e2e/tls_env.h"

namespace infergate::e2e {
namespace {

struct Pool {
  Modelsim sim0{{"--name", "sim-0"}}, sim1{{"--name", "sim-1"}};
  std::string endpoints() const { return endpoint(sim0.port()) + "," + endpoint(sim1.port()); }
};

HttpResponse chat(Gateway& gw, const Headers& h = {}) {
  return http_request(gw.port(), "POST", "/v1/chat/completions", h, chat_body(4, false), scaled(10000));
}

// spec.endpointPicker.extProc with `body`; plaintext (epp_sim's default) unless it says tls.
// The pool's endpoint_picker object of admin /pools.
nlohmann::json epp_admin(Gateway& gw) {
  HttpResponse r = http_request(gw.admin_port(), "GET", "/pools");
  EXPECT_EQ(r.status, 200) << r.body;
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("pools") || j["pools"].empty()) return nlohmann::json::object();
  return j["pools"][0]["endpoint_picker"];
}

std::string ext_proc(const std::string& body) {
  std::string y = "  endpointPicker:\n    extProc:\n" + body;
  if (body.find("tls:") == std::string::npos) y += "      tls: {enabled: false}\n";
  return y;
}

TEST(EppProtocol, TlsToTheEppVerifiesItsCertificate) {
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  Pool p;
  EppSim epp({"--endpoints", p.endpoints(), "--tls-cert", certs.path("upstream-server.crt"), "--tls-key",
              certs.path("upstream-server.key")});
  {
    Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose",
                             ext_proc("      tls: {caFile: " + certs.path("ca.crt") + ", serverName: model.internal}\n")));
    HttpResponse r = chat(gw);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(epp.process().wait_out("picked ", scaled(3000)));
  }
  {
    // Another CA signed the EPP's certificate: no connection, the pool fails closed.
    Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose",
                             ext_proc("      tls: {caFile: " + certs.path("other-ca.crt") + ", serverName: model.internal}\n")));
    HttpResponse r = chat(gw);
    EXPECT_EQ(r.status, 500) << r.body;
    EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.error.unavailable"), 1);
  }
  {
    // Plaintext to a TLS EPP does not work either.
    Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose"));
    EXPECT_EQ(chat(gw).status, 500);
  }
}

TEST(EppProtocol, ByDefaultTlsWithoutVerificationAndAWarning) {
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  Pool p;
  EppSim epp({"--endpoints", p.endpoints(), "--tls-cert", certs.path("upstream-server.crt"), "--tls-key",
              certs.path("upstream-server.key")});
  // No extProc settings at all: how GIE's EPP (--secure-serving) is reached out of the box.
  Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose", "  metrics: {perVersion: true}\n"));
  HttpResponse r = chat(gw, {{"x-epp-sim-pick", "1"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-modelsim-instance"), "sim-1");
  EXPECT_NE(gw.process().err().find("insecureSkipVerify"), std::string::npos) << gw.process().err();
  const auto admin = epp_admin(gw);
  EXPECT_EQ(admin.value("tls", ""), "unverified") << admin.dump();
  EXPECT_EQ(admin.value("target", ""), endpoint(epp.port())) << admin.dump();
  EXPECT_GE(admin["stats"].value("endpoints", 0), 1) << admin.dump();
  // Said explicitly, the same.
  Gateway explicit_skip(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose",
                                      ext_proc("      tls: {insecureSkipVerify: true}\n")));
  EXPECT_EQ(chat(explicit_skip).status, 200);
}

TEST(EppProtocol, TheBodyTheEppStreamsBackIsWhatTheModelServerGets) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints()});
  Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose"));
  const std::string mutated = R"({"model":"rewritten-by-the-epp","messages":[]})";
  HttpResponse r = http_request(gw.port(), "POST", "/echo", {{"x-epp-sim-body", mutated}}, R"({"model":"m","x":1234567890})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_EQ(j["body_bytes"], mutated.size()) << r.body;
  EXPECT_EQ(j["headers"]["content-length"], std::to_string(mutated.size())) << r.body;
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.body_mutation"), 1);
  // An unchanged echo is no mutation.
  ASSERT_EQ(http_request(gw.port(), "POST", "/echo", {}, R"({"model":"m"})").status, 200);
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.body_mutation"), 1);
}

TEST(EppProtocol, AnOversizeBodyMutationIsRefused) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints()});
  for (const std::string mode : {"FailClose", "FailOpen"}) {
    SCOPED_TRACE(mode);
    Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), mode,
                             ext_proc("      maxBodyMutationBytes: 1048576\n")));
    HttpResponse r = chat(gw, {{"x-epp-sim-mode", "big-body"}});
    EXPECT_EQ(r.status, mode == "FailOpen" ? 200 : 500) << r.body;
    EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.error.protocol_error"), 1);
  }
}

TEST(EppProtocol, TheSubsetHintNamesThePoolsReadyEndpoints) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints()});
  {
    Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose"));
    ASSERT_EQ(chat(gw).status, 200);
    EXPECT_TRUE(epp.process().wait_out("subset " + p.endpoints(), scaled(3000))) << epp.process().out();
  }
  const size_t from = epp.process().out_size();
  Gateway off(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose", ext_proc("      subsetHint: false\n")));
  ASSERT_EQ(chat(off).status, 200);
  ASSERT_TRUE(epp.process().wait_out("picked ", scaled(3000), from));
  EXPECT_EQ(epp.process().out().find("subset ", from), std::string::npos);
}

TEST(EppProtocol, RequestAndResponseTrailersReachTheEpp) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints()});
  Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose"));
  RawSocket s(gw.port());
  const std::string body = chat_body(4, false);
  std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "TE: trailers\r\nx-modelsim-trailers: 1\r\n"
                    "Connection: close\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n";
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", body.size());
  req += size + body + "\r\n0\r\nx-checksum: abc123\r\n\r\n";
  ASSERT_TRUE(s.send(req));
  ASSERT_TRUE(s.read_until_closed(scaled(10000))) << s.received();
  EXPECT_EQ(s.received().rfind("HTTP/1.1 200", 0), 0u) << s.received();
  EXPECT_TRUE(epp.process().wait_out("trailers x-checksum=abc123", scaled(3000))) << epp.process().out();
  // The model server's response trailers go to the EPP too (after its response headers answer).
  EXPECT_TRUE(epp.process().wait_out("response-trailers x-modelsim-tokens=", scaled(3000))) << epp.process().out();
}

TEST(EppProtocol, TheServedEndpointGoesBackInMetadataAndTheAnswerShapesTheResponse) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints(), "--fallbacks", "1"});
  Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose"));
  HttpResponse r = chat(gw, {{"x-epp-sim-pick", "1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-conformance-test-served-endpoint"), endpoint(p.sim1.port()));
  EXPECT_EQ(r.header("x-epp-sim-response"), "seen");
  EXPECT_TRUE(epp.process().wait_out("served " + endpoint(p.sim1.port()), scaled(3000))) << epp.process().out();
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.response_mutation"), 1);
  // The primary is down: the fallback serves, and the EPP hears the fallback.
  p.sim0.process().kill_now();
  r = chat(gw, {{"x-epp-sim-pick", "0"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-conformance-test-served-endpoint"), endpoint(p.sim1.port()));
}

TEST(EppProtocol, ModeOverrideSkipsTheResponseHeaders) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints()});
  Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose"));
  HttpResponse r = chat(gw, {{"x-epp-sim-mode", "skip-response"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.has_header("x-epp-sim-response"));
  EXPECT_FALSE(r.has_header("x-conformance-test-served-endpoint"));
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.response_mutation"), 0);
}

TEST(EppProtocol, TheMessageTimeoutComesFromConfig) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints(), "--delay-ms", "1500"});
  {
    Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose", ext_proc("      messageTimeout: 300ms\n")));
    const auto t0 = std::chrono::steady_clock::now();
    HttpResponse r = chat(gw, {{"x-epp-sim-mode", "slow"}});
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.status, 500) << r.body;
    EXPECT_LT(took, std::chrono::milliseconds(1400));
    EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.error.timeout"), 1);
  }
  Gateway patient(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose", ext_proc("      messageTimeout: 5s\n")));
  EXPECT_EQ(chat(patient, {{"x-epp-sim-mode", "slow"}}).status, 200);
}

TEST(EppProtocol, AnEppNotServingIsSkippedUntilItServesAgain) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints(), "--health", "not-serving"});
  const std::string health = ext_proc("      healthCheck: {interval: 200ms}\n");
  Gateway open(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailOpen", health));
  Gateway closed(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose", health));
  ASSERT_TRUE(wait_until([&] { return open.stat_sum("endpoint_picker.epp.error.not_serving") > 0 || chat(open).status == 200; },
                         scaled(5000)));
  ASSERT_TRUE(wait_until([&] { return chat(closed).status == 500; }, scaled(5000)));
  const size_t from = epp.process().out_size();
  EXPECT_EQ(chat(open).status, 200);  // its own picker
  EXPECT_GE(open.stat_sum("endpoint_picker.epp.error.not_serving"), 1);
  EXPECT_GE(closed.stat_sum("endpoint_picker.epp.error.not_serving"), 1);
  EXPECT_EQ(epp.process().out().find("picked ", from), std::string::npos) << "a NOT_SERVING EPP was called";
  EXPECT_EQ(epp_admin(closed).value("ready", true), false) << epp_admin(closed).dump();
  // SERVING again: the EPP picks again.
  epp.process().signal(SIGUSR2);
  EXPECT_TRUE(wait_until([&] { return chat(closed).status == 200; }, scaled(5000)));
  EXPECT_TRUE(epp.process().wait_out("picked ", scaled(3000), from));
}

TEST(EppProtocol, HeaderAndMetadataDisagreeingFollowsTheHeader) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints()});
  Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose"));
  HttpResponse r = chat(gw, {{"x-epp-sim-mode", "conflict"}, {"x-epp-sim-pick", "1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-modelsim-instance"), "sim-1");
}

TEST(EppProtocol, BadAnswersAreRefusedWithACounter) {
  Pool p;
  EppSim epp({"--endpoints", p.endpoints()});
  Gateway gw(pool_with_epp(p.sim0.port(), p.sim1.port(), epp.port(), "FailClose"));
  EXPECT_EQ(chat(gw, {{"x-epp-sim-mode", "garbage"}}).status, 500);
  EXPECT_EQ(chat(gw, {{"x-epp-sim-mode", "outside"}}).status, 500);
  EXPECT_EQ(chat(gw, {{"x-epp-sim-mode", "noendpoint"}}).status, 500);
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.error.protocol_error"), 2);
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.error.rejected_endpoint"), 1);
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.fail_close"), 3);
}

}  // namespace
}  // namespace infergate::e2e
