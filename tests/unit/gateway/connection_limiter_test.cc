// ConnectionLimiter: per-listener and per-source-IP limits, RAII release, IPv4/IPv6 keys,
// hot-reload limits, bounded table, exactness under concurrent accepts.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <barrier>
#include <string>
#include <thread>
#include <vector>

#include "gateway/net/connection_limiter.h"

namespace infergate::gateway {
namespace {

using Reason = ConnectionLimiter::Reason;
using Ticket = ConnectionLimiter::Ticket;

std::string ip4(int i) { return "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256); }

TEST(ConnectionLimiter, UnlimitedAdmitsEverythingAndCounts) {
  ConnectionLimiter cl(0, 0);
  std::vector<Ticket> held;
  for (int i = 0; i < 1000; ++i) {
    held.push_back(cl.try_acquire_text(0, "10.0.0.1"));
    ASSERT_TRUE(held.back());
  }
  EXPECT_EQ(cl.active(0), 1000u);
  held.clear();
  EXPECT_EQ(cl.active(0), 0u);
}

TEST(ConnectionLimiter, PerListenerLimitAndRelease) {
  ConnectionLimiter cl(3, 0);
  std::vector<Ticket> held;
  for (int i = 0; i < 3; ++i) held.push_back(cl.try_acquire_text(1, ip4(i)));
  for (const Ticket& t : held) EXPECT_TRUE(t);
  Ticket refused = cl.try_acquire_text(1, ip4(99));
  EXPECT_FALSE(refused);
  EXPECT_EQ(refused.reason(), Reason::ListenerFull);
  EXPECT_TRUE(cl.try_acquire_text(2, ip4(99)));  // another listener has its own count
  EXPECT_EQ(cl.active(1), 3u);
  held[0].release();
  held[0].release();  // idempotent
  EXPECT_EQ(cl.active(1), 2u);
  Ticket again = cl.try_acquire_text(1, ip4(99));
  EXPECT_TRUE(again);
  EXPECT_EQ(again.reason(), Reason::Ok);
  EXPECT_FALSE(cl.try_acquire_text(1, ip4(100)));
}

TEST(ConnectionLimiter, PerSourceIpLimitAndRelease) {
  ConnectionLimiter cl(0, 2);
  Ticket a1 = cl.try_acquire_text(0, "192.168.1.5");
  Ticket a2 = cl.try_acquire_text(1, "192.168.1.5");  // per IP across listeners
  EXPECT_TRUE(a1);
  EXPECT_TRUE(a2);
  Ticket a3 = cl.try_acquire_text(0, "192.168.1.5");
  EXPECT_FALSE(a3);
  EXPECT_EQ(a3.reason(), Reason::SourceIpFull);
  EXPECT_EQ(cl.active(0), 1u);  // the refused one gave its listener slot back
  EXPECT_TRUE(cl.try_acquire_text(0, "192.168.1.6"));
  EXPECT_EQ(cl.active_for_ip_text("192.168.1.5"), 2u);
  { Ticket gone = std::move(a1); }
  EXPECT_EQ(cl.active_for_ip_text("192.168.1.5"), 1u);
  EXPECT_TRUE(cl.try_acquire_text(0, "192.168.1.5"));
}

TEST(ConnectionLimiter, ListenerCheckedBeforeSourceIp) {
  ConnectionLimiter cl(1, 1);
  Ticket a = cl.try_acquire_text(0, "10.0.0.1");
  Ticket b = cl.try_acquire_text(0, "10.0.0.1");
  EXPECT_EQ(b.reason(), Reason::ListenerFull);
  Ticket c = cl.try_acquire_text(1, "10.0.0.1");
  EXPECT_EQ(c.reason(), Reason::SourceIpFull);
  EXPECT_EQ(cl.active(1), 0u);
}

TEST(ConnectionLimiter, Ipv4AndIpv6Keys) {
  ConnectionLimiter cl(0, 1);
  const std::array<uint8_t, 4> v4{10, 0, 0, 1};
  Ticket t = cl.try_acquire(0, v4);
  ASSERT_TRUE(t);
  // The same client through a dual-stack socket, as text, and as 16 bytes.
  EXPECT_EQ(cl.try_acquire_text(0, "10.0.0.1").reason(), Reason::SourceIpFull);
  EXPECT_EQ(cl.try_acquire_text(0, "::ffff:10.0.0.1").reason(), Reason::SourceIpFull);
  const std::array<uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
  EXPECT_EQ(cl.try_acquire(0, mapped).reason(), Reason::SourceIpFull);

  Ticket v6 = cl.try_acquire_text(0, "2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(cl.try_acquire_text(0, "2001:0db8:0:0::1").reason(), Reason::SourceIpFull);
  EXPECT_TRUE(cl.try_acquire_text(0, "2001:db8::2"));
  EXPECT_EQ(cl.active_for_ip_text("2001:db8::1"), 1u);

  // No address (Unix socket) or an unparseable one: not limited per IP.
  EXPECT_TRUE(cl.try_acquire(0, std::span<const uint8_t>{}));
  Ticket x1 = cl.try_acquire_text(0, "not-an-ip");
  Ticket x2 = cl.try_acquire_text(0, "not-an-ip");
  EXPECT_TRUE(x1);
  EXPECT_TRUE(x2);
}

TEST(ConnectionLimiter, TicketsMoveAndReleaseOnce) {
  ConnectionLimiter cl(2, 2);
  Ticket a = cl.try_acquire_text(0, "10.0.0.1");
  Ticket b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_TRUE(b);
  EXPECT_EQ(cl.active(0), 1u);
  Ticket c = cl.try_acquire_text(0, "10.0.0.1");
  c = std::move(b);  // c's own slot released, b's taken over
  EXPECT_EQ(cl.active(0), 1u);
  EXPECT_EQ(cl.active_for_ip_text("10.0.0.1"), 1u);
  std::vector<Ticket> v;
  v.push_back(std::move(c));
  v.reserve(100);  // relocation moves tickets without releasing
  EXPECT_EQ(cl.active(0), 1u);
  v.clear();
  EXPECT_EQ(cl.active(0), 0u);
  EXPECT_EQ(cl.active_for_ip_text("10.0.0.1"), 0u);
}

TEST(ConnectionLimiter, SetLimitsAtRunTime) {
  ConnectionLimiter cl(0, 0);
  std::vector<Ticket> held;
  for (int i = 0; i < 5; ++i) held.push_back(cl.try_acquire_text(0, ip4(i)));
  cl.set_limits(3, 0);  // lowered below what is open: existing stay, new are refused
  EXPECT_EQ(cl.try_acquire_text(0, ip4(9)).reason(), Reason::ListenerFull);
  held.resize(2);
  EXPECT_TRUE(cl.try_acquire_text(0, ip4(9)));  // 2 open + this one, released at once
  held.push_back(cl.try_acquire_text(0, ip4(9)));
  EXPECT_EQ(cl.try_acquire_text(0, ip4(10)).reason(), Reason::ListenerFull);

  cl.set_limits(0, 1);
  held.push_back(cl.try_acquire_text(0, "10.9.9.9"));
  EXPECT_EQ(cl.try_acquire_text(0, "10.9.9.9").reason(), Reason::SourceIpFull);
  cl.set_limits(0, 0);  // tickets taken under a per-IP limit still release their count
  EXPECT_TRUE(cl.try_acquire_text(0, "10.9.9.9"));
  held.clear();
  cl.set_limits(0, 1);
  EXPECT_EQ(cl.active_for_ip_text("10.9.9.9"), 0u);
  EXPECT_TRUE(cl.try_acquire_text(0, "10.9.9.9"));
  EXPECT_EQ(cl.active(0), 0u);
}

TEST(ConnectionLimiter, TableIsBoundedAndDeletionKeepsOthersFindable) {
  // 64 shards of 8 slots (7 usable each): at most 448 addresses counted at once.
  ConnectionLimiter cl(0, 1, 4, 1);
  std::vector<Ticket> held;
  for (int i = 0; i < 2000; ++i) held.push_back(cl.try_acquire_text(0, ip4(i)));
  for (const Ticket& t : held) EXPECT_TRUE(t);
  EXPECT_GE(cl.untracked(), 2000u - 448u);
  int counted = 0;
  for (int i = 0; i < 2000; ++i) counted += cl.active_for_ip_text(ip4(i));
  EXPECT_EQ(counted, static_cast<int>(2000 - cl.untracked()));
  // Releasing every other ticket (backward-shift deletion) keeps the rest findable.
  std::vector<bool> tracked(2000);
  for (int i = 0; i < 2000; ++i) tracked[i] = cl.active_for_ip_text(ip4(i)) == 1;
  for (int i = 0; i < 2000; i += 2) held[i].release();
  for (int i = 1; i < 2000; i += 2) {
    EXPECT_EQ(cl.active_for_ip_text(ip4(i)), tracked[i] ? 1u : 0u) << ip4(i);
    if (tracked[i]) {
      EXPECT_EQ(cl.try_acquire_text(0, ip4(i)).reason(), Reason::SourceIpFull) << ip4(i);
    }
  }
  held.clear();
  counted = 0;
  for (int i = 0; i < 2000; ++i) counted += cl.active_for_ip_text(ip4(i));
  EXPECT_EQ(counted, 0);
  EXPECT_EQ(cl.active(0), 0u);
  // Every slot came back: the same addresses again are counted exactly as the first time.
  const uint64_t untracked_before = cl.untracked();
  for (int i = 0; i < 2000; ++i) held.push_back(cl.try_acquire_text(0, ip4(i)));
  EXPECT_EQ(cl.untracked() - untracked_before, untracked_before);
}

TEST(ConnectionLimiter, ListenerIdsBeyondTheTableShareACounter) {
  ConnectionLimiter cl(1, 0, 4);
  Ticket a = cl.try_acquire_text(1, "10.0.0.1");
  EXPECT_EQ(cl.try_acquire_text(5, "10.0.0.2").reason(), Reason::ListenerFull);  // 5 % 4 == 1
}

TEST(ConnectionLimiter, ConcurrentAcceptsAreExact) {
  constexpr int kThreads = 8, kRounds = 2000;
  ConnectionLimiter cl(50, 5);
  std::atomic<int> peak_listener{0};
  std::atomic<int> over{0};
  std::barrier sync(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Ticket> mine;
      sync.arrive_and_wait();
      for (int r = 0; r < kRounds; ++r) {
        Ticket k = cl.try_acquire_text(0, ip4((r + t) % 16));
        if (k) mine.push_back(std::move(k));
        const int a = static_cast<int>(cl.active(0));
        if (a > 50) ++over;
        int p = peak_listener.load();
        while (a > p && !peak_listener.compare_exchange_weak(p, a)) {
        }
        if (mine.size() > 6 || (r % 3 == 0 && !mine.empty())) mine.erase(mine.begin());
      }
      sync.arrive_and_wait();  // all hold their last tickets: check the per-IP counts
      if (t == 0) {
        int total = 0;
        for (int i = 0; i < 16; ++i) {
          const uint32_t n = cl.active_for_ip_text(ip4(i));
          if (n > 5) ++over;
          total += static_cast<int>(n);
        }
        if (total != static_cast<int>(cl.active(0))) ++over;
      }
      sync.arrive_and_wait();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_LE(peak_listener.load(), 50);
  EXPECT_EQ(cl.active(0), 0u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(cl.active_for_ip_text(ip4(i)), 0u);
}

TEST(ConnectionLimiter, ConcurrentFillGetsExactlyTheLimit) {
  constexpr int kThreads = 8;
  ConnectionLimiter cl(1000, 7);
  std::vector<std::vector<Ticket>> held(kThreads);
  std::barrier sync(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      sync.arrive_and_wait();
      for (int r = 0; r < 500; ++r)
        if (Ticket k = cl.try_acquire_text(0, ip4(r % 10)); k) held[t].push_back(std::move(k));
    });
  }
  for (auto& th : threads) th.join();
  size_t total = 0;
  for (const auto& v : held) total += v.size();
  EXPECT_EQ(total, 70u);  // 10 addresses x 7
  for (int i = 0; i < 10; ++i) EXPECT_EQ(cl.active_for_ip_text(ip4(i)), 7u);
}

}  // namespace
}  // namespace infergate::gateway
