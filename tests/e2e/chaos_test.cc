// Chaos at the edges (issue 20): clients and peers that misbehave on purpose. Each test asserts
// the gateway's answer and its bound in time, the counter that records it, and that the
// gateway still serves a normal request afterwards:
//   slowloris request heads and a trickled HTTP/2 preface (the request-headers timeout), an
//   HTTP/2 client trickling SETTINGS / WINDOW_UPDATE with no stream (the idle timeout);
//   upstreams that accept and never answer, half-close, stream without end, or answer h2 with
//   garbage; an EPP that hangs under concurrent requests and one that floods its answers;
//   thousands of connections at once against a listener connection limit.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <iostream>

#include "tests/e2e/e2e_test.h"
#include "tests/e2e/epp_pool.h"
#include "tests/e2e/scripted_upstream.h"

namespace infergate::e2e {
namespace {

using std::chrono::duration_cast;

milliseconds since(Clock::time_point t0) { return duration_cast<milliseconds>(Clock::now() - t0); }

// modelsim behind "/" and a scripted upstream behind "/chaos" (Service "chaos", its rule's
// timeouts from `chaos_timeouts`, e.g. "{request: 1s}"), both plain Services.
Gateway::Render chaos_config(uint16_t sim, uint16_t chaos, const std::string& spec_extra,
                             const std::string& chaos_timeouts = "", bool h2c = false) {
  return [=](uint16_t port, uint16_t admin) {
    std::string y = gateway_base_yaml(port, admin, 1, {{"sim-0", sim, "app: sim"}, {"chaos-0", chaos, "app: chaos"}},
                                      "  accessLog: {path: /dev/stdout, format: envoy}\n" + spec_extra);
    y += "---\napiVersion: v1\nkind: Service\nmetadata: {name: sim}\nspec:\n  selector: {app: sim}\n  ports: [{port: 8000}]\n";
    y += "---\napiVersion: v1\nkind: Service\nmetadata: {name: chaos}\nspec:\n  selector: {app: chaos}\n  ports: [{port: 8000";
    if (h2c) y += ", appProtocol: kubernetes.io/h2c";
    y += "}]\n";
    y += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: route}\nspec:\n"
         "  parentRefs: [{name: gw}]\n  rules:\n"
         "  - matches: [{path: {type: PathPrefix, value: /chaos}}]\n";
    if (!chaos_timeouts.empty()) y += "    timeouts: " + chaos_timeouts + "\n";
    y += "    backendRefs: [{name: chaos, port: 8000}]\n"
         "  - matches: [{path: {type: PathPrefix, value: /}}]\n"
         "    backendRefs: [{name: sim, port: 8000}]\n";
    return y;
  };
}

// The gateway still serves: a chat completion through modelsim answers 200.
void expect_serving(Gateway& gw) {
  HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {{"content-type", "application/json"}},
                                chat_body(4, false), scaled(10000));
  EXPECT_EQ(r.status, 200) << r.body << gw.process().describe();
  EXPECT_TRUE(gw.process().running());
}

// ---- Clients -------------------------------------------------------------------------------

TEST(Chaos, SlowlorisRequestHeadIsCutByTheRequestHeadersTimeout) {
  Modelsim sim;
  ScriptedUpstream unused([](int, const std::atomic<bool>&) {});
  Gateway gw(chaos_config(sim.port(), unused.port(), "  timeouts: {requestHeaders: 1s}\n"));
  RawSocket s(gw.port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(s.send("GET /v1/models HTTP/1.1\r\nhost: x\r\n"));
  // A header line every 200 ms, in bytes: each is activity, none completes the head.
  bool closed = false;
  for (int i = 0; i < 40 * time_scale() && !closed; ++i) {
    const std::string line = "x-slow-" + std::to_string(i) + ": a\r\n";
    for (size_t b = 0; b < line.size() && !closed; b += 4) {
      s.send(line.substr(b, 4));
      closed = s.read_until_closed(milliseconds(50));
    }
  }
  const milliseconds took = since(t0);
  ASSERT_TRUE(closed) << "a request head trickled for " << took.count() << " ms was never cut";
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, scaled(5000));
  EXPECT_NE(s.received().find("408"), std::string::npos) << s.received();
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_header_timeout"), 1);
  expect_serving(gw);
}

TEST(Chaos, TrickledHttp2PrefaceIsCutByTheRequestHeadersTimeout) {
  Modelsim sim;
  ScriptedUpstream unused([](int, const std::atomic<bool>&) {});
  Gateway gw(chaos_config(sim.port(), unused.port(), "  timeouts: {requestHeaders: 1s}\n"));
  RawSocket s(gw.port());
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const auto t0 = Clock::now();
  bool closed = false;
  for (size_t i = 0; i < preface.size() && !closed; ++i) {
    s.send(preface.substr(i, 1));
    closed = s.read_until_closed(milliseconds(200));
  }
  const milliseconds took = since(t0);
  ASSERT_TRUE(closed) << "an HTTP/2 preface trickled for " << took.count() << " ms was never cut";
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, scaled(5000));
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_header_timeout"), 1);
  expect_serving(gw);
}

TEST(Chaos, Http2SettingsAndWindowUpdateTrickleIsClosedByTheIdleTimeout) {
  Modelsim sim;
  ScriptedUpstream unused([](int, const std::atomic<bool>&) {});
  Gateway gw(chaos_config(sim.port(), unused.port(), "  timeouts: {idle: 1s}\n"));
  RawSocket s(gw.port());
  ASSERT_TRUE(s.send(h2::client_preface()));
  const auto t0 = Clock::now();
  // No stream ever: a WINDOW_UPDATE or an empty SETTINGS every 200 ms keeps bytes flowing.
  std::string increment("\x00\x00\x00\x01", 4);
  bool closed = false;
  for (int i = 0; i < 40 * time_scale() && !closed; ++i) {
    s.send(i % 2 ? h2::frame(h2::kSettings, 0, 0, "") : h2::frame(h2::kWindowUpdate, 0, 0, increment));
    closed = s.read_until_closed(milliseconds(200));
  }
  const milliseconds took = since(t0);
  ASSERT_TRUE(closed) << "a connection with no stream, trickling frames for " << took.count() << " ms, was never closed";
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, scaled(5000));
  bool goaway = false;
  std::string types;
  for (const auto& f : h2::parse_frames(s.received())) {
    goaway |= f.type == h2::kGoaway;
    types += std::to_string(f.type) + " ";
  }
  EXPECT_TRUE(goaway) << "closed without a GOAWAY; frames received: " << types << "(" << s.received().size() << " bytes)";
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_idle_timeout"), 1);
  expect_serving(gw);
}

// ---- Upstreams -----------------------------------------------------------------------------

TEST(Chaos, UpstreamThatAcceptsAndNeverAnswersGets504AtTheRouteTimeout) {
  Modelsim sim;
  ScriptedUpstream silent([](int fd, const std::atomic<bool>& stop) {
    ScriptedUpstream::read_head(fd, stop);
    ScriptedUpstream::hold(fd, stop);
  });
  Gateway gw(chaos_config(sim.port(), silent.port(), "", "{request: 1s}"));
  const auto t0 = Clock::now();
  HttpResponse r = http_request(gw.port(), "GET", "/chaos", {}, {}, scaled(10000));
  const milliseconds took = since(t0);
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.body, "upstream request timeout");
  EXPECT_GE(took, milliseconds(950));
  EXPECT_LT(took, scaled(5000));
  EXPECT_TRUE(gw.wait_log(" 504 UT ", scaled(2000))) << gw.process().out();
  EXPECT_EQ(gw.stat_sum("upstream_rq_timeout"), 1);
  // The attempt was abandoned: its connection is closed, not left to the silent server.
  EXPECT_TRUE(wait_until([&] { return silent.finished() == silent.accepted(); }, scaled(3000)));
  expect_serving(gw);
}

TEST(Chaos, UpstreamThatHalfClosesGets503UpstreamTerminationAtOnce) {
  Modelsim sim;
  ScriptedUpstream half([](int fd, const std::atomic<bool>& stop) {
    ScriptedUpstream::read_head(fd, stop);
    ::shutdown(fd, SHUT_WR);  // FIN, no answer; keeps reading
    ScriptedUpstream::hold(fd, stop);
  });
  Gateway gw(chaos_config(sim.port(), half.port(), "", "{request: 10s}"));
  const auto t0 = Clock::now();
  HttpResponse r = http_request(gw.port(), "GET", "/chaos", {}, {}, scaled(10000));
  const milliseconds took = since(t0);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_LT(took, scaled(5000)) << "the half-close was not noticed before the route timeout";
  EXPECT_TRUE(gw.wait_log(" 503 UC ", scaled(2000))) << gw.process().out();
  EXPECT_GE(gw.stat_sum("upstream_cx_destroy_remote_with_active_rq"), 1);
  // The gateway closes its side too.
  EXPECT_TRUE(wait_until([&] { return half.finished() == half.accepted(); }, scaled(3000)));
  expect_serving(gw);
}

// An upstream that answers 200 and then sends chunks forever (until its peer goes away).
ScriptedUpstream::Script endless_stream(std::atomic<uint64_t>& sent) {
  return [&sent](int fd, const std::atomic<bool>& stop) {
    ScriptedUpstream::read_head(fd, stop);
    if (!ScriptedUpstream::send_all(fd, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"))
      return;
    const std::string chunk = "4000\r\n" + std::string(0x4000, 'x') + "\r\n";
    while (!stop && ScriptedUpstream::send_all(fd, chunk)) sent += 0x4000;
  };
}

TEST(Chaos, EndlessResponseStopsWhenTheClientLeavesAndMemoryStaysBounded) {
  Modelsim sim;
  std::atomic<uint64_t> sent{0};
  ScriptedUpstream endless(endless_stream(sent));
  Gateway gw(chaos_config(sim.port(), endless.port(), ""));
  RssSampler rss(gw.process().pid());
  {
    RawSocket s(gw.port(), 64 * 1024);
    ASSERT_TRUE(s.send("GET /chaos HTTP/1.1\r\nhost: x\r\n\r\n"));
    ASSERT_TRUE(s.read_at_least(32u << 20, scaled(20000))) << "received " << s.received().size();
    EXPECT_EQ(s.received().rfind("HTTP/1.1 200", 0), 0u);
    // A client that stops reading: the gateway must stop reading upstream too (watermarks),
    // not buffer the endless body.
    const uint64_t at_stall = sent.load();
    std::this_thread::sleep_for(scaled(1500));
    EXPECT_LT(sent.load() - at_stall, 64u << 20) << "the upstream kept sending while the client read nothing";
  }  // the client leaves
  EXPECT_TRUE(wait_until([&] { return endless.finished() == 1; }, scaled(5000)))
      << "the upstream connection outlived its client";
  const uint64_t peak_kb = rss.stop();
  EXPECT_LT(peak_kb, (sanitized_build() ? 600u : 200u) * 1024) << "RSS peaked at " << peak_kb << " KiB";
  EXPECT_TRUE(gw.wait_log(" 200 DC ", scaled(2000))) << gw.process().out();
  expect_serving(gw);
}

TEST(Chaos, EndlessResponseIsCutByTheRouteTimeout) {
  Modelsim sim;
  std::atomic<uint64_t> sent{0};
  ScriptedUpstream endless(endless_stream(sent));
  Gateway gw(chaos_config(sim.port(), endless.port(), "", "{request: 1s}"));
  RawSocket s(gw.port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(s.send("GET /chaos HTTP/1.1\r\nhost: x\r\n\r\n"));
  // Read everything (keeping only the head and the last bytes): the stream must end, cut,
  // soon after the 1 s route timeout.
  std::string head, tail;
  bool closed = false;
  while (!closed && since(t0) < scaled(10000)) {
    s.read_some(1 << 20, milliseconds(100));
    closed = s.closed() || s.was_reset();
    if (head.empty()) head = s.received().substr(0, 64);
    tail += s.received();
    if (tail.size() > 16) tail.erase(0, tail.size() - 16);
    s.clear();
  }
  const milliseconds took = since(t0);
  ASSERT_TRUE(closed) << "an endless response under a 1 s route timeout ran " << took.count() << " ms";
  EXPECT_GE(took, milliseconds(950));
  EXPECT_LT(took, scaled(5000));
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_FALSE(tail.ends_with("0\r\n\r\n")) << "a cut response must not end as a complete one";
  EXPECT_EQ(gw.stat_sum("upstream_rq_timeout"), 1);
  EXPECT_TRUE(wait_until([&] { return endless.finished() == 1; }, scaled(3000)));
  expect_serving(gw);
}

TEST(Chaos, GarbageFromAnHttp2UpstreamIsAProtocolError) {
  Modelsim sim;
  ScriptedUpstream garbage([](int fd, const std::atomic<bool>& stop) {
    // Not a SETTINGS frame: an HTTP/1.1 answer and noise where the server preface belongs.
    ScriptedUpstream::read_some(fd, 2000);
    ScriptedUpstream::send_all(fd, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok\xff\xfe\x00\x01garbage");
    ScriptedUpstream::hold(fd, stop);
  });
  Gateway gw(chaos_config(sim.port(), garbage.port(), "", "{request: 10s}", /*h2c=*/true));
  const auto t0 = Clock::now();
  HttpResponse r = http_request(gw.port(), "GET", "/chaos", {}, {}, scaled(10000));
  EXPECT_TRUE(r.status == 502 || r.status == 503) << r.status << " " << r.body;
  EXPECT_LT(since(t0), scaled(5000)) << "garbage was not noticed before the route timeout";
  EXPECT_TRUE(gw.wait_log("UPE", scaled(2000)) || gw.wait_log(" UC ", scaled(100))) << gw.process().out();
  EXPECT_GE(gw.stat_sum("upstream_cx_protocol_error"), 1);
  EXPECT_TRUE(wait_until([&] { return garbage.finished() == garbage.accepted(); }, scaled(3000)));
  expect_serving(gw);
}

// ---- Endpoint picker ---------------------------------------------------------------------

TEST(Chaos, AHangingEppUnderConcurrentRequestsFailsOpenAtTheMessageTimeout) {
  Modelsim sim0{{"--name", "sim-0"}}, sim1{{"--name", "sim-1"}};
  EppSim epp({"--endpoints", endpoint(sim0.port()) + "," + endpoint(sim1.port()), "--mode", "slow", "--delay-ms",
              "600000"});
  Gateway gw(pool_with_epp(sim0.port(), sim1.port(), epp.port(), "FailOpen",
                           kPlaintextEpp + "      messageTimeout: 500ms\n"));
  constexpr int kRequests = 40;
  const auto t0 = Clock::now();
  std::vector<std::future<int>> answers;
  for (int i = 0; i < kRequests; ++i)
    answers.push_back(std::async(std::launch::async, [&] {
      return http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat_body(4, false), scaled(10000)).status;
    }));
  for (auto& a : answers) EXPECT_EQ(a.get(), 200);
  EXPECT_LT(since(t0), scaled(5000));
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.error.timeout"), kRequests);
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.fail_open"), kRequests);
  EXPECT_TRUE(gw.process().running());
}

TEST(Chaos, AFloodingEppIsRefusedWithACounterAndMemoryStaysBounded) {
  Modelsim sim0{{"--name", "sim-0"}}, sim1{{"--name", "sim-1"}};
  EppSim epp({"--endpoints", endpoint(sim0.port()) + "," + endpoint(sim1.port()), "--mode", "flood"});
  Gateway gw(pool_with_epp(sim0.port(), sim1.port(), epp.port(), "FailClose"));
  RssSampler rss(gw.process().pid());
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat_body(4, false), scaled(10000));
    EXPECT_EQ(r.status, 500) << r.body;
    EXPECT_LT(since(t0), scaled(5000));
  }
  EXPECT_EQ(gw.stat_sum("endpoint_picker.epp.error.protocol_error"), 5);
  const uint64_t peak_kb = rss.stop();
  EXPECT_LT(peak_kb, (sanitized_build() ? 600u : 200u) * 1024) << "RSS peaked at " << peak_kb << " KiB";
  // The same EPP answering normally: served.
  HttpResponse ok = http_request(gw.port(), "POST", "/v1/chat/completions", {{"x-epp-sim-mode", "normal"}},
                                 chat_body(4, false), scaled(10000));
  EXPECT_EQ(ok.status, 200) << ok.body;
}

// ---- Connections ---------------------------------------------------------------------------

// Raises RLIMIT_NOFILE as far as this process may (root: past the hard limit); the new soft limit.
uint64_t raise_nofile(uint64_t want) {
  rlimit l{};
  ::getrlimit(RLIMIT_NOFILE, &l);
  if (l.rlim_max < want) {
    rlimit higher{want, want};
    if (::setrlimit(RLIMIT_NOFILE, &higher) == 0) return want;
  }
  return raise_fd_limit();
}

TEST(Chaos, TwentyThousandConnectionsAtOnceAgainstAConnectionLimit) {
  constexpr uint64_t kWanted = 20000;
  constexpr uint32_t kLimit = 1000;
  const uint64_t fd_limit = raise_nofile(kWanted + 200);
  // Room for the harness's own files and the gateway's children's pipes.
  const size_t n = static_cast<size_t>(std::min<uint64_t>(kWanted, fd_limit - 200));
  if (n < kWanted) std::cout << "[ NOTE     ] RLIMIT_NOFILE allows " << fd_limit << ": " << n << " connections\n";
  ASSERT_GT(n, 2 * kLimit);
  Modelsim sim;
  ScriptedUpstream unused([](int, const std::atomic<bool>&) {});
  Gateway gw(chaos_config(sim.port(), unused.port(), "  connectionLimits: {perListener: " + std::to_string(kLimit) + "}\n"));
  RssSampler rss(gw.process().pid());
  const uint64_t rss_before = rss_kb(gw.process().pid());

  // Every connect at once, non-blocking; then wait for each to settle.
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(gw.port());
  std::vector<int> fds;
  fds.reserve(n);
  const auto t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0) << "socket " << i << ": " << std::strerror(errno);
    linger lg{1, 0};  // RST on close: 20,000 sockets in TIME_WAIT would outlive the test
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
    fds.push_back(fd);
  }
  // The gateway accepts every connection and keeps at most kLimit: the rest are closed at once.
  ASSERT_TRUE(wait_until([&] {
    return gw.stat("listener.downstream_cx_overflow") + gw.stat("http.ingress_http.downstream_cx_active") >=
           static_cast<double>(n);
  }, scaled(45000))) << "overflow " << gw.stat("listener.downstream_cx_overflow") << ", active "
                     << gw.stat("http.ingress_http.downstream_cx_active") << " after " << since(t0).count() << " ms";
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_active"), kLimit);
  EXPECT_EQ(gw.stat("listener.downstream_cx_overflow"), static_cast<double>(n - kLimit));

  // Which connections were kept: a request on each, answered only on those.
  const std::string req = "GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n";
  size_t served = 0, refused = 0;
  for (int fd : fds) {
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) ++refused;
  }
  const auto until = Clock::now() + scaled(20000);
  std::vector<bool> done(fds.size(), false);
  for (size_t left = fds.size() - refused; left > 0 && Clock::now() < until;) {
    std::vector<pollfd> p;
    std::vector<size_t> idx;
    for (size_t i = 0; i < fds.size(); ++i)
      if (!done[i]) {
        p.push_back({fds[i], POLLIN, 0});
        idx.push_back(i);
      }
    if (::poll(p.data(), p.size(), 200) <= 0) continue;
    for (size_t k = 0; k < p.size(); ++k) {
      if (!p[k].revents) continue;
      done[idx[k]] = true;
      char buf[4096];
      const ssize_t got = ::recv(fds[idx[k]], buf, sizeof buf, 0);
      if (got > 12 && std::string_view(buf, 12) == "HTTP/1.1 200") ++served;
      --left;
    }
    left = static_cast<size_t>(std::count(done.begin(), done.end(), false));
    if (left <= refused) break;
  }
  EXPECT_EQ(served, kLimit) << "each connection within the limit gets its answer";
  const uint64_t peak_kb = rss.stop();
  std::cout << "[ NOTE     ] " << n << " connections in " << since(t0).count() << " ms; RSS " << rss_before << " -> peak "
            << peak_kb << " KiB\n";
  EXPECT_LT(peak_kb, rss_before + (sanitized_build() ? 400u : 100u) * 1024) << "RSS grew by more than bounded";
  for (int fd : fds) ::close(fd);
  // Slots come back: a new connection is served.
  EXPECT_TRUE(wait_until([&] { return gw.stat("http.ingress_http.downstream_cx_active") == 0; }, scaled(10000)));
  expect_serving(gw);
}

}  // namespace
}  // namespace infergate::e2e
