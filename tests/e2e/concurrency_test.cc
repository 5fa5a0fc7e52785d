// A thousand concurrent client connections, over HTTP/2 and HTTP/1.1, all answered.
#include <regex>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

class ThousandConnections : public ::testing::TestWithParam<bool> {};

TEST_P(ThousandConnections, AllRequestsSucceed) {
  E2E_REQUIRE_TOOL(h2load_bin, "h2load");
  const bool h1 = GetParam();
  // The gateway and modelsim inherit this limit: 1000 client plus up to 1000 upstream
  // connections need more descriptors than a default 1024.
  ASSERT_GE(raise_fd_limit(), 2500u) << "RLIMIT_NOFILE hard limit too low for this test";
  Modelsim sim;
  GatewaySetup setup = one_upstream(sim);
  setup.workers = 2;
  Gateway gw(setup);

  std::vector<std::string> argv = {h2load_bin, "-c", "1000", "-n", "2000", "-m", "1", "-T", "30"};
  if (h1) argv.push_back("--h1");
  argv.push_back(gw.url("/v1/models"));
  CommandResult r = run_command(argv, scaled(60000));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("2000 succeeded, 0 failed, 0 errored, 0 timeout"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("status codes: 2000 2xx"), std::string::npos) << r.out;

  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_total"), 1000);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_2xx"), 2000);
  EXPECT_EQ(gw.stat(h1 ? "http.ingress_http.downstream_cx_http1_total" : "http.ingress_http.downstream_cx_http2_total"),
            1000);
  // All connections are gone again.
  const auto until = Clock::now() + scaled(5000);
  while (gw.stat("http.ingress_http.downstream_cx_active") != 0 && Clock::now() < until)
    std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_active"), 0);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_active"), 0);
}

INSTANTIATE_TEST_SUITE_P(Protocols, ThousandConnections, ::testing::Values(false, true),
                         [](const auto& info) { return std::string(info.param ? "h1" : "h2"); });

}  // namespace
}  // namespace infergate::e2e
