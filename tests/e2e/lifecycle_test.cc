// Process lifecycle: draining on SIGTERM and on POST /drain_listeners (in-flight
// requests finish, new connections are refused, exit 0), `infergate --check`, and
// SIGHUP reloads that apply a good config and keep the old one on a broken file.
#include <csignal>
#include <future>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

// Starts a request the model server holds for `delay_ms`, and waits until the gateway
// has it in flight.
std::future<HttpResponse> start_slow_request(Gateway& gw, int delay_ms) {
  auto f = std::async(std::launch::async, [port = gw.port(), delay_ms] {
    return http_request(port, "GET", "/echo?slow", {{"x-modelsim-delay-ms", std::to_string(delay_ms)}}, {},
                        milliseconds(20000));
  });
  gw.wait_stat_at_least("http.ingress_http.downstream_rq_active", 1, scaled(5000));
  return f;
}

// Polls until connecting to `port` is refused.
bool refused_soon(uint16_t port, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  do {
    if (RawSocket::connect_error(port) == ECONNREFUSED) return true;
    std::this_thread::sleep_for(milliseconds(10));
  } while (Clock::now() < until);
  return false;
}

TEST(Drain, SigtermFinishesInFlightRefusesNewAndExitsZero) {
  Modelsim sim;
  Gateway gw(one_upstream(sim), {"--drain-timeout", "10"});
  // An idle HTTP/2 connection: draining must tell it to go away.
  RawSocket idle(gw.port());
  ASSERT_TRUE(idle.send(h2::client_preface()));
  ASSERT_TRUE(idle.read_until(std::string("\x04\x00\x00\x00\x00\x00", 6), scaled(3000)));  // server SETTINGS
  auto slow = start_slow_request(gw, 1500);
  ASSERT_EQ(gw.stat("http.ingress_http.downstream_rq_active"), 1);

  const auto signalled = Clock::now();
  gw.process().signal(SIGTERM);
  EXPECT_TRUE(refused_soon(gw.port(), scaled(2000))) << "still accepting after SIGTERM";
  EXPECT_EQ(gw.admin("GET", "/ready").status, 503);

  HttpResponse r = slow.get();
  EXPECT_EQ(r.status, 200) << "the in-flight request was cut by the drain";
  EXPECT_NE(r.body.find("/echo?slow"), std::string::npos);

  // The idle HTTP/2 client gets the two-step GOAWAY: a shutdown notice with a PING,
  // then (once the PING comes back, as any client answers it) the final GOAWAY.
  const auto until = Clock::now() + scaled(5000);
  bool pinged = false, goaway = false;
  while (!idle.closed() && Clock::now() < until) {
    idle.read_some(65536, milliseconds(100));
    for (const auto& f : h2::parse_frames(idle.received())) {
      goaway = goaway || f.type == h2::kGoaway;
      if (f.type == h2::kPing && !(f.flags & h2::kAck) && !pinged) {
        pinged = true;
        idle.send(h2::frame(h2::kPing, h2::kAck, 0, f.payload));
      }
    }
  }
  EXPECT_TRUE(idle.closed()) << "idle h2 connection kept open";
  EXPECT_TRUE(goaway) << "idle h2 connection closed without GOAWAY";

  auto code = gw.process().wait_exit(scaled(10000));
  ASSERT_TRUE(code) << "did not exit within the drain timeout";
  EXPECT_EQ(*code, 0) << gw.process().describe();
  EXPECT_LT(Clock::now() - signalled, milliseconds(10000));
  EXPECT_NE(gw.process().out().find("\"GET /echo?slow HTTP/1.1\" 200"), std::string::npos) << gw.process().out();
}

TEST(Drain, DrainListenersAdminKeepsProcessAndAdminUp) {
  Modelsim sim;
  Gateway gw(one_upstream(sim), {"--drain-timeout", "10"});
  auto slow = start_slow_request(gw, 1500);

  EXPECT_EQ(gw.admin("POST", "/drain_listeners").status, 200);
  EXPECT_TRUE(refused_soon(gw.port(), scaled(2000))) << "still accepting after /drain_listeners";
  HttpResponse r = slow.get();
  EXPECT_EQ(r.status, 200) << "the in-flight request was cut by the drain";

  // Drained, but the process and its admin stay up.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(gw.process().running());
  HttpResponse ready = gw.admin("GET", "/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body, "DRAINING\n");
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_2xx"), 1);

  // A later SIGTERM is an ordinary shutdown: nothing is left to lose.
  auto code = gw.terminate(scaled(5000));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << gw.process().describe();
}

TEST(Drain, QuitQuitQuitExitsZero) {
  Modelsim sim;
  Gateway gw(one_upstream(sim), {"--drain-timeout", "10"});
  auto slow = start_slow_request(gw, 1000);
  EXPECT_EQ(gw.admin("POST", "/quitquitquit").status, 200);
  EXPECT_EQ(slow.get().status, 200);
  auto code = gw.process().wait_exit(scaled(10000));
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << gw.process().describe();
}

TEST(Drain, DrainTimeoutCutsRequestsThatRunTooLong) {
  Modelsim sim;
  Gateway gw(one_upstream(sim), {"--drain-timeout", "1"});
  auto slow = start_slow_request(gw, 8000);
  const auto signalled = Clock::now();
  gw.process().signal(SIGTERM);
  auto code = gw.process().wait_exit(scaled(6000));
  ASSERT_TRUE(code) << "did not exit at the drain timeout";
  EXPECT_LT(Clock::now() - signalled, milliseconds(6000 * time_scale()));
  EXPECT_NE(slow.get().status, 200);
}

// ---- --check ----------------------------------------------------------------------

TEST(Check, AcceptsTheQuickstartConfig) {
  CommandResult r =
      run_command({infergate_path(), "--check", "--config", source_path("examples/quickstart/gateway.yaml")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("configuration OK"), std::string::npos) << r.out;
}

TEST(Check, NamesFileDocumentAndFieldOfAnError) {
  TempDir dir;
  GatewaySetup setup;
  setup.endpoints = {Upstream{"sim-1", 20001}};
  std::string yaml = render_config(setup, 20002, 20003);
  // Third document (InferencePool), a value that is not allowed.
  const size_t at = yaml.find("appProtocol: http");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 17, "appProtocol: grpc");
  const std::string path = dir.write("broken.yaml", yaml);

  CommandResult r = run_command({infergate_path(), "--check", "--config", path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("broken.yaml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("document 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("InferencePool/pool"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spec.appProtocol"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("configuration invalid"), std::string::npos) << r.err;
}

TEST(Check, ReportsYamlSyntaxErrorsWithTheirLine) {
  TempDir dir;
  const std::string path = dir.write("syntax.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: [x\n");
  CommandResult r = run_command({infergate_path(), "--check", "--config", path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("syntax.yaml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("document 1"), std::string::npos) << r.err;

  CommandResult missing = run_command({infergate_path(), "--check", "--config", dir.file("absent.yaml")});
  EXPECT_EQ(missing.exit_code, 1) << missing.out << missing.err;
  EXPECT_NE(missing.err.find("absent.yaml"), std::string::npos) << missing.err;
}

TEST(Check, ServingRefusesToStartOnABrokenConfig) {
  TempDir dir;
  const std::string path = dir.write("broken.yaml", "apiVersion: v1\nkind: Service\nmetadata: {}\n");
  CommandResult r = run_command({infergate_path(), "--config", path, "--admin-port", "0"}, scaled(10000));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("broken.yaml"), std::string::npos) << r.err;
}

// ---- SIGHUP reload ----------------------------------------------------------------

TEST(Reload, SighupAppliesAGoodConfigAndKeepsServingOnABrokenOne) {
  Modelsim sim;
  GatewaySetup setup = one_upstream(sim);
  setup.route_prefix = "/v1";
  Gateway gw(setup);
  EXPECT_EQ(http_request(gw.port(), "GET", "/echo").status, 404);
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);

  // A good change: the route now covers everything.
  setup.route_prefix = "/";
  gw.write_config(gw.render(setup));
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.version", 2, scaled(5000))) << gw.process().describe();
  EXPECT_EQ(http_request(gw.port(), "GET", "/echo").status, 200);
  EXPECT_EQ(gw.stat("infergate.config.reload_success"), 2);  // start-up counts as one

  // A broken file: rejected whole, version 2 keeps serving.
  std::string broken = gw.render(setup);
  broken.replace(broken.find("appProtocol: http"), 17, "appProtocol: grpc");
  gw.write_config(broken);
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.reload_failure", 1, scaled(5000))) << gw.process().describe();
  EXPECT_TRUE(gw.process().wait_err("spec.appProtocol", scaled(2000))) << gw.process().err();
  EXPECT_EQ(gw.stat("infergate.config.version"), 2);
  EXPECT_EQ(http_request(gw.port(), "GET", "/echo").status, 200);
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);

  // Not even YAML.
  gw.write_config("kind: [\n");
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.reload_failure", 2, scaled(5000)));
  EXPECT_EQ(gw.stat("infergate.config.version"), 2);
  EXPECT_EQ(http_request(gw.port(), "GET", "/echo").status, 200);
  EXPECT_TRUE(gw.process().running());
  nlohmann::json dump = nlohmann::json::parse(gw.admin("GET", "/config_dump").body);
  EXPECT_EQ(dump["version"], 2);
}

}  // namespace
}  // namespace infergate::e2e
