// The routing issue's acceptance run: steady bounded load (about 2,000 requests/s for 60 s)
// while the canary weights change 100 times through POST /weights and the config file is
// rewritten 20 times, with an invalid change of each kind in the middle. Not one request may
// fail, and after every change the observed split must follow the new weights.
#include <cmath>
#include <csignal>
#include <iostream>

#include "tests/e2e/canary_util.h"
#include "tests/e2e/paced_load.h"

namespace infergate::e2e {
namespace {

struct Change {
  Clock::time_point applied;
  unsigned w1, w2;
  const char* how;
};

TEST(CanaryUnderLoad, WeightChangesAndReloadsLoseNoRequestAndSplitsFollow) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  // Sanitizer builds run several times slower: a shorter, slower run still crosses every
  // change with enough requests per window.
  const bool slow = sanitized_build();
  const double rps = slow ? 500 : 2000;
  const auto duration = std::chrono::seconds(slow ? 30 : 60);
  // 100 POST /weights + 20 file rewrites (half of each when slow, so every window still
  // holds a few hundred requests).
  const int changes = slow ? 60 : 120;
  const auto step = std::chrono::duration_cast<milliseconds>(duration) / changes;

  unsigned w1 = 90, w2 = 10;
  Gateway gw([&](uint16_t port, uint16_t admin) { return two_version_config(port, admin, v1.port(), v2.port(), w1, w2, 2); },
             {"--watch-debounce", "20"});
  const std::string body = chat_body(1, false);
  const std::string request = "POST /v1/chat/completions HTTP/1.1\r\nHost: llm\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  PacedLoad load(gw.port(), request, 8, rps);

  // v2's share walks a canary's steps, forward and back, never repeating itself.
  const unsigned steps[] = {5, 10, 25, 50, 75, 100, 50, 25, 10, 0, 5, 90, 30, 60, 1, 99};
  std::vector<Change> applied;
  applied.push_back({Clock::now(), w1, w2, "start"});
  load.start();
  int version = config_version(gw);
  for (int i = 0; i < changes; ++i) {
    std::this_thread::sleep_until(applied.front().applied + step * (i + 1));
    const unsigned share = steps[static_cast<size_t>(i) % std::size(steps)];
    w1 = 100 - share;
    w2 = share;
    if (i % 6 == 5) {
      gw.write_config(two_version_config(gw.port(), gw.admin_port(), v1.port(), v2.port(), w1, w2, 2));
      const auto until = Clock::now() + scaled(3000);
      while (config_version(gw) == version && Clock::now() < until) std::this_thread::sleep_for(milliseconds(5));
      const int now = config_version(gw);
      ASSERT_EQ(now, version + 1) << "file rewrite " << i << " not applied\n" << gw.process().describe();
      version = now;
      applied.push_back({Clock::now(), w1, w2, "file"});
    } else {
      HttpResponse r = set_canary_weights(gw, w1, w2);
      ASSERT_EQ(r.status, 200) << r.body;
      version = nlohmann::json::parse(r.body)["version"];
      applied.push_back({Clock::now(), w1, w2, "POST /weights"});
    }
    if (i == changes / 2) {
      // Invalid changes in the middle: each is refused and the split goes on as it was.
      HttpResponse bad = gw.admin("POST", "/config",
                                  "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: canary}\n"
                                  "spec:\n  parentRefs: [{name: nogw}]\n  rules:\n  - backendRefs: [{name: pool-v1}]\n");
      EXPECT_EQ(bad.status, 400) << bad.body;
      EXPECT_EQ(set_canary_weights(gw, 0, 0).status, 400);
      gw.write_config("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: [broken\n");
      std::this_thread::sleep_for(milliseconds(200));
      EXPECT_EQ(config_version(gw), version) << "a rejected change must not change the version";
    }
  }
  std::this_thread::sleep_until(applied.front().applied + duration + step);
  load.stop();

  const auto samples = load.samples();
  EXPECT_EQ(load.errors(), 0u) << (load.error_reasons().empty() ? "" : load.error_reasons()[0]);
  size_t not_ok = 0;
  for (const auto& s : samples) not_ok += s.status != 200;
  EXPECT_EQ(not_ok, 0u) << "of " << samples.size();
  EXPECT_GT(samples.size(), static_cast<size_t>(rps * duration.count() * 0.8)) << "the load did not keep its rate";
  EXPECT_GE(gw.stat("infergate.config.reload_failure"), 2);

  // Each window: from just after a change took effect to the next one. Requests in flight
  // when the change landed were routed before it, hence the guard time.
  int windows_checked = 0;
  double worst = 0;
  for (size_t i = 0; i < applied.size(); ++i) {
    const auto from = applied[i].applied + milliseconds(50);
    const auto to = i + 1 < applied.size() ? applied[i + 1].applied : samples.back().at;
    int n = 0, to_v2 = 0;
    for (const auto& s : samples) {
      if (s.at < from || s.at >= to) continue;
      ++n;
      to_v2 += s.instance == "v2";
    }
    if (n < 100) continue;
    const double expected = applied[i].w2 / double(applied[i].w1 + applied[i].w2);
    const double observed = to_v2 / double(n);
    EXPECT_NEAR(observed, expected, 0.05) << "change " << i << " (" << applied[i].how << ") " << applied[i].w1 << "/"
                                          << applied[i].w2 << ": " << to_v2 << " of " << n << " went to v2";
    ++windows_checked;
    worst = std::max(worst, std::abs(observed - expected));
  }
  std::cout << samples.size() << " requests in " << duration.count() << " s, " << applied.size() - 1
            << " changes, " << load.errors() << " errors, " << not_ok << " non-200; " << windows_checked
            << " windows checked, worst split deviation " << worst * 100 << " points\n";
  EXPECT_GE(windows_checked, changes * 9 / 10);
}

}  // namespace
}  // namespace infergate::e2e
