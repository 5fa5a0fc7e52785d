// RedisClient (gateway/control/redis_client.h) against a real redis-server and fake servers:
// replies of each kind, every command answered exactly once (reply, timeout, protocol error,
// no connection, shutdown), connection events, and reconnection after a restart.
#include "gateway/control/redis_client.h"

#include <condition_variable>
#include <future>
#include <mutex>

#include "tests/e2e/redis_env.h"

namespace infergate::e2e {
namespace {

using gateway::RedisClient;
using gateway::RedisReply;

// Connection events, waited on by the test.
struct EventLog {
  std::mutex mu;
  std::condition_variable cv;
  int ups = 0;
  std::vector<std::string> downs;  // kinds
  RedisClient::Events events() {
    return {[this] {
              std::lock_guard l(mu);
              ++ups;
              cv.notify_all();
            },
            [this](std::string_view kind, const std::string&) {
              std::lock_guard l(mu);
              downs.emplace_back(kind);
              cv.notify_all();
            }};
  }
  bool wait_ups(int n, milliseconds timeout) {
    std::unique_lock l(mu);
    return cv.wait_for(l, timeout, [&] { return ups >= n; });
  }
  bool wait_down(const std::string& kind, milliseconds timeout) {
    std::unique_lock l(mu);
    return cv.wait_for(l, timeout, [&] { return std::find(downs.begin(), downs.end(), kind) != downs.end(); });
  }
};

RedisReply run(RedisClient& c, std::vector<std::string> argv, milliseconds timeout = milliseconds(5000)) {
  auto p = std::make_shared<std::promise<RedisReply>>();
  auto f = p->get_future();
  c.command(std::move(argv), [p](RedisReply r) { p->set_value(std::move(r)); });
  if (f.wait_for(timeout) != std::future_status::ready) {
    ADD_FAILURE() << "no answer";
    return {};
  }
  return f.get();
}

RedisClient::Options options(uint16_t port, milliseconds timeout = milliseconds(300)) {
  return RedisClient::Options{"127.0.0.1", port, timeout};
}

TEST(RedisClient, RepliesOfEachKind) {
  REQUIRE_REDIS();
  RedisServer redis(redis_bin, free_port());
  EventLog log;
  RedisClient c(options(redis.port()), log.events());
  ASSERT_TRUE(log.wait_ups(1, scaled(3000)));
  EXPECT_TRUE(c.connected());
  RedisReply r = run(c, {"INCRBY", "k", "5"});
  EXPECT_EQ(r.kind, RedisReply::Kind::Integer);
  EXPECT_EQ(r.integer, 5);
  r = run(c, {"MGET", "k", "absent"});
  ASSERT_EQ(r.kind, RedisReply::Kind::Array);
  ASSERT_EQ(r.elements.size(), 2u);
  EXPECT_EQ(r.elements[0].kind, RedisReply::Kind::String);
  EXPECT_EQ(r.elements[0].str, "5");
  EXPECT_EQ(r.elements[1].kind, RedisReply::Kind::Nil);
  r = run(c, {"PING"});
  EXPECT_EQ(r.kind, RedisReply::Kind::Status);
  EXPECT_EQ(r.str, "PONG");
  r = run(c, {"NOSUCHCOMMAND"});
  EXPECT_EQ(r.kind, RedisReply::Kind::Error);
  // Many commands from many threads: each answered once, in order per connection.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        if (run(c, {"INCRBY", "n", "1"}).kind == RedisReply::Kind::Integer) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
  EXPECT_EQ(run(c, {"GET", "n"}).str, "800");
}

TEST(RedisClient, WrongAddressFailsAndKeepsTrying) {
  EventLog log;
  RedisClient c(options(free_port()), log.events());
  ASSERT_TRUE(log.wait_down("connect", scaled(3000)));
  const RedisReply r = run(c, {"PING"});
  EXPECT_EQ(r.kind, RedisReply::Kind::Failed);
  EXPECT_NE(r.failure, RedisReply::Failure::None);
  std::this_thread::sleep_for(milliseconds(400));  // backoff 100, 200, ...: more attempts
  std::lock_guard l(log.mu);
  EXPECT_GE(log.downs.size(), 2u);
}

TEST(RedisClient, SilentServerTimesOutAndDestructionAnswersPending) {
  FakeRedis silent("");
  EventLog log;
  auto c = std::make_unique<RedisClient>(options(silent.port(), milliseconds(200)), log.events());
  ASSERT_TRUE(log.wait_ups(1, scaled(3000)));
  const auto start = Clock::now();
  RedisReply r = run(*c, {"PING"});
  EXPECT_EQ(r.failure, RedisReply::Failure::Timeout);
  EXPECT_LT(Clock::now() - start, scaled(2000));
  EXPECT_TRUE(log.wait_down("timeout", scaled(3000)));
  // A command still waiting when the client goes away is answered all the same.
  ASSERT_TRUE(log.wait_ups(2, scaled(3000)));  // reconnected
  auto p = std::make_shared<std::promise<RedisReply>>();
  auto f = p->get_future();
  c->command({"PING"}, [p](RedisReply reply) { p->set_value(std::move(reply)); });
  std::this_thread::sleep_for(milliseconds(20));
  c.reset();
  ASSERT_EQ(f.wait_for(scaled(3000)), std::future_status::ready);
  EXPECT_EQ(f.get().failure, RedisReply::Failure::Shutdown);
}

TEST(RedisClient, GarbageIsAProtocolError) {
  FakeRedis garbage("HTTP/1.1 400 Bad Request\r\n\r\n");
  EventLog log;
  RedisClient c(options(garbage.port()), log.events());
  const RedisReply r = run(c, {"PING"});
  EXPECT_EQ(r.kind, RedisReply::Kind::Failed);
  EXPECT_EQ(r.failure, RedisReply::Failure::Protocol) << r.str;
  EXPECT_TRUE(log.wait_down("protocol", scaled(3000)));
}

TEST(RedisClient, ReconnectsAfterARestart) {
  REQUIRE_REDIS();
  const uint16_t port = free_port();
  auto redis = std::make_unique<RedisServer>(redis_bin, port);
  EventLog log;
  RedisClient c(options(port), log.events());
  ASSERT_TRUE(log.wait_ups(1, scaled(3000)));
  redis->process().kill_now();
  redis.reset();
  EXPECT_TRUE(log.wait_down("disconnected", scaled(3000)));
  EXPECT_EQ(run(c, {"PING"}).kind, RedisReply::Kind::Failed);
  redis = std::make_unique<RedisServer>(redis_bin, port);
  ASSERT_TRUE(log.wait_ups(2, scaled(5000)));
  EXPECT_EQ(run(c, {"PING"}).str, "PONG");
}

}  // namespace
}  // namespace infergate::e2e
