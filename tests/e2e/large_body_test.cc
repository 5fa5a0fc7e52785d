// Large bodies stream through with bounded memory: a 100 MB upload and a 100 MB
// download over HTTP/1.1 and HTTP/2, and clients that read slowly (or not at all, on
// HTTP/2 flow control) must slow the upstream down instead of growing the gateway.
#include <fcntl.h>
#include <unistd.h>

#include <iostream>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

constexpr uint64_t kHundredMb = 100'000'000;

// The bound on the gateway's RSS growth while bodies stream through it. Its buffers are
// a few MiB per stream (read buffers, 1 MiB watermarks, 1 MiB h2 stream windows, see
// h2_server_codec.h); a gateway that buffered whole bodies would grow by 100 MB.
// Measured growth is 3-8 MiB. Sanitizer builds add shadow memory and an allocation
// quarantine on top.
uint64_t growth_bound_kb() { return (sanitized_build() ? 96 : 32) * 1024; }

// A file of `size` zero bytes that takes no disk space.
std::string sparse_file(const TempDir& dir, const std::string& name, uint64_t size) {
  const std::string path = dir.file(name);
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) throw std::runtime_error("cannot create " + path);
  ::close(fd);
  return path;
}

// RSS after start-up and a first request, when lazily-allocated state exists.
uint64_t warm_baseline(Gateway& gw) {
  EXPECT_EQ(http_request(gw.port(), "GET", "/bytes?n=100000").status, 200);
  std::this_thread::sleep_for(milliseconds(100));
  return rss_kb(gw.process().pid());
}

class LargeBodies : public ::testing::TestWithParam<bool> {
 protected:
  void report(uint64_t baseline, uint64_t peak, const char* what) {
    std::cout << "[   info   ] " << what << ": gateway RSS " << baseline / 1024 << " MiB -> peak " << peak / 1024
              << " MiB\n";
    EXPECT_LT(peak - std::min(peak, baseline), growth_bound_kb())
        << what << ": RSS grew from " << baseline / 1024 << " MiB to " << peak / 1024 << " MiB";
  }
  std::string proto() const { return GetParam() ? "--http2-prior-knowledge" : "--http1.1"; }
};

TEST_P(LargeBodies, HundredMegabyteUploadWithBoundedMemory) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const uint64_t baseline = warm_baseline(gw);
  ASSERT_GT(baseline, 0u);
  const std::string file = sparse_file(gw.dir(), "upload.bin", kHundredMb);

  RssSampler rss(gw.process().pid());
  CommandResult up = curl(curl_bin, {proto(), "-X", "POST", "-T", file, gw.url("/upload")}, scaled(60000));
  const uint64_t peak = rss.stop();
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "{\"bytes\":" + std::to_string(kHundredMb) + "}");
  report(baseline, peak, "upload");
  // Connection byte counters are added when the gateway closes its side, after curl is done.
  EXPECT_TRUE(gw.wait_stat_at_least("http.ingress_http.downstream_cx_rx_bytes_total", double(kHundredMb), scaled(5000)))
      << gw.stat("http.ingress_http.downstream_cx_rx_bytes_total");
}

TEST_P(LargeBodies, HundredMegabyteDownloadWithBoundedMemory) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const uint64_t baseline = warm_baseline(gw);
  ASSERT_GT(baseline, 0u);

  RssSampler rss(gw.process().pid());
  CommandResult down = curl(curl_bin, {proto(), "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                       gw.url("/bytes?n=" + std::to_string(kHundredMb))},
                            scaled(60000));
  const uint64_t peak = rss.stop();
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(down.out, "200 " + std::to_string(kHundredMb));
  report(baseline, peak, "download");
  EXPECT_TRUE(gw.wait_stat_at_least("http.ingress_http.downstream_cx_tx_bytes_total", double(kHundredMb), scaled(5000)))
      << gw.stat("http.ingress_http.downstream_cx_tx_bytes_total");
}

INSTANTIATE_TEST_SUITE_P(Protocols, LargeBodies, ::testing::Values(false, true),
                         [](const auto& info) { return std::string(info.param ? "h2" : "h1"); });

TEST(SlowClient, Http1ReaderKeepsGatewayMemoryBounded) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const uint64_t baseline = warm_baseline(gw);

  RssSampler rss(gw.process().pid());
  RawSocket s(gw.port(), /*rcvbuf=*/32 * 1024);
  ASSERT_TRUE(s.send("GET /bytes?n=" + std::to_string(kHundredMb) + " HTTP/1.1\r\nHost: e2e\r\n\r\n"));
  // About 3 MB/s for 1.5 s, while the model server could send at loopback speed.
  const auto until = Clock::now() + milliseconds(1500);
  while (Clock::now() < until && !s.closed()) {
    s.read_some(64 * 1024, milliseconds(100));
    std::this_thread::sleep_for(milliseconds(20));
  }
  const uint64_t peak = rss.stop();
  std::cout << "[   info   ] gateway RSS " << baseline / 1024 << " MiB -> peak " << peak / 1024 << " MiB\n";
  ASSERT_FALSE(s.closed()) << s.received().substr(0, 300);
  EXPECT_EQ(s.received().rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_LT(s.received().size(), kHundredMb / 4);
  EXPECT_LT(peak - std::min(peak, baseline), growth_bound_kb() / 2)
      << "RSS grew from " << baseline / 1024 << " MiB to " << peak / 1024 << " MiB";
}

TEST(SlowClient, Http2ReaderThatNeverOpensItsWindowKeepsGatewayMemoryBounded) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const uint64_t baseline = warm_baseline(gw);

  RssSampler rss(gw.process().pid());
  RawSocket s(gw.port());
  ASSERT_TRUE(s.send(h2::client_preface()));
  ASSERT_TRUE(s.send(h2::request_headers(1, "GET", "/bytes?n=" + std::to_string(kHundredMb))));
  // No WINDOW_UPDATE: the gateway may send 64 KiB, then must hold back.
  const auto until = Clock::now() + milliseconds(1500);
  while (Clock::now() < until && !s.closed()) s.read_some(65536, milliseconds(100));
  const uint64_t peak = rss.stop();
  std::cout << "[   info   ] gateway RSS " << baseline / 1024 << " MiB -> peak " << peak / 1024 << " MiB\n";
  EXPECT_FALSE(s.closed());
  size_t data = 0;
  for (const auto& f : h2::parse_frames(s.received()))
    if (f.type == h2::kData && f.stream == 1) data += f.payload.size();
  EXPECT_GT(data, 0u);
  EXPECT_LE(data, 65535u) << "sent beyond the client's flow-control window";
  EXPECT_LT(peak - std::min(peak, baseline), growth_bound_kb() / 2)
      << "RSS grew from " << baseline / 1024 << " MiB to " << peak / 1024 << " MiB";
}

}  // namespace
}  // namespace infergate::e2e
