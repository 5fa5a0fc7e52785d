// Token budgets (GatewayConfig spec.tokenBudgets) end to end: the real gateway in front of
// modelsim (which reports `usage`; max_tokens sets the output tokens), and for the budgets
// shared across replicas a real redis-server started here on a free loopback port.
//  - one gateway, 2 workers: a budget of 1,000 output tokens serves exactly until the usage
//    reaches it, then 429, with exact x-ratelimit-* headers, and starts over with the window;
//    concurrent clients overshoot by at most their requests in flight; a reload keeps counts;
//  - two gateways share one budget through Redis exactly;
//  - Redis killed under load: fail-open serves and counts, one log line; Redis back: the
//    charges made meanwhile are flushed and sharing resumes exactly;
//  - garbage replies, wrong replies, no replies and a wrong address: a clear log line and a counter,
//    never a crash; FailClose answers 503;
//  - config errors name the file, document and field path.
#include <csignal>
#include <thread>

#include "tests/e2e/e2e_test.h"
#include "tests/e2e/redis_env.h"

namespace infergate::e2e {
namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Budgets count in windows aligned to the Unix epoch: start a test at the beginning of one so
// that it cannot roll over in the middle (at most `window_ms` of waiting).
void wait_window_start(int64_t window_ms, int64_t need_ms) {
  const int64_t left = window_ms - unix_ms() % window_ms;
  if (left < need_ms) std::this_thread::sleep_for(milliseconds(left + 20));
}

// One RESP command on a fresh connection; the raw reply.
std::string redis_command(uint16_t port, const std::vector<std::string>& argv) {
  RawSocket s(port);
  std::string req = "*";
  req.append(std::to_string(argv.size())).append("\r\n");
  for (const auto& a : argv) req.append("$").append(std::to_string(a.size())).append("\r\n").append(a).append("\r\n");
  s.send(req);
  // Simple replies end with their line; a bulk string ($len) after its bytes.
  const auto until = Clock::now() + milliseconds(2000);
  while (Clock::now() < until) {
    const std::string& got = s.received();
    const size_t eol = got.find("\r\n");
    if (eol != std::string::npos) {
      if (got[0] != '$') return got.substr(0, eol);
      const long len = std::stol(got.substr(1, eol - 1));
      if (len < 0) return "";
      if (got.size() >= eol + 2 + static_cast<size_t>(len)) return got.substr(eol + 2, static_cast<size_t>(len));
    }
    if (s.read_some(65536, milliseconds(100)) == 0 && s.closed()) break;
  }
  return s.received();
}

// The sum of every budget key's count in Redis (-1 when Redis does not answer).
int64_t redis_sum(uint16_t port, const std::string& prefix) {
  try {
    const std::string r = redis_command(
        port, {"EVAL",
               "local s = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do s = s + tonumber(redis.call('GET', k)) end "
               "return s",
               "0", prefix + "*"});
    if (r.size() < 2 || r[0] != ':') return -1;
    return std::stoll(r.substr(1));
  } catch (...) {
    return -1;
  }
}

bool wait_redis_sum(uint16_t port, const std::string& prefix, int64_t want, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (redis_sum(port, prefix) == want) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return false;
}

HttpResponse chat(Gateway& gw, unsigned max_tokens, const Headers& extra = {}) {
  Headers h = {{"content-type", "application/json"}};
  h.insert(h.end(), extra.begin(), extra.end());
  return http_request(gw.port(), "POST", "/v1/chat/completions", h, chat_body(max_tokens, false));
}

HttpResponse chat_streamed(Gateway& gw, unsigned max_tokens) {
  std::string body = chat_body(max_tokens, true);
  body.pop_back();  // the closing brace
  body.append(R"(,"stream_options":{"include_usage":true}})");
  return http_request(gw.port(), "POST", "/v1/chat/completions", {{"content-type", "application/json"}}, body);
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string store_yaml(uint16_t port, const std::string& extra = {}) {
  std::string y = "  tokenBudgetStore:\n    redis: {address: \"127.0.0.1:";
  y.append(std::to_string(port)).append("\", timeout: 500ms").append(extra).append("}\n");
  return y;
}

GatewaySetup budget_setup(const Modelsim& sim, unsigned workers, const std::string& spec) {
  GatewaySetup s = one_upstream(sim);
  s.workers = workers;
  s.gateway_spec_extra = spec;
  return s;
}

TEST(TokenBudget, ExactAcrossTwoWorkersWithHeadersAndTheWindowReset) {
  Modelsim sim({"--output-tokens", "1000"});
  Gateway gw(budget_setup(sim, 2,
                          "  tokenBudgets:\n"
                          "  - {name: output-1000, cost: outputTokens, window: 2s, limit: 1000}\n"));
  wait_window_start(2000, 1500);
  // A response without usage is charged nothing, and counted.
  HttpResponse models = http_request(gw.port(), "GET", "/v1/models");
  ASSERT_EQ(models.status, 200) << models.body;
  EXPECT_EQ(models.header("x-ratelimit-remaining"), "1000");
  // Each request on a fresh connection: the kernel spreads them over both workers. Some
  // stream (SSE): their usage comes in the last event, as with OpenAI's include_usage.
  for (int i = 0; i < 10; ++i) {
    HttpResponse r = i % 3 == 1 ? chat_streamed(gw, 100) : chat(gw, 100);
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;
    if (i % 3 == 1) {
      EXPECT_NE(r.body.find("\"usage\""), std::string::npos) << r.body;
    }
    EXPECT_EQ(r.header("x-ratelimit-limit"), "1000");
    EXPECT_EQ(r.header("x-ratelimit-remaining"), std::to_string(1000 - 100 * i)) << "request " << i;
    const std::string reset = r.header("x-ratelimit-reset");
    EXPECT_TRUE(reset == "1" || reset == "2") << reset;
  }
  HttpResponse refused = chat(gw, 100);
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_NE(refused.body.find("output-1000"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.header("x-ratelimit-limit"), "1000");
  EXPECT_EQ(refused.header("x-ratelimit-remaining"), "0");
  EXPECT_EQ(refused.header("x-envoy-ratelimited"), "true");
  EXPECT_EQ(gw.stat("token_budget.output-1000.tokens_charged"), 1000);
  EXPECT_EQ(gw.stat("token_budget.output-1000.allowed"), 11);
  EXPECT_EQ(gw.stat("token_budget.output-1000.refused"), 1);
  EXPECT_EQ(gw.stat("token_budget.output-1000.without_usage"), 1);
  EXPECT_TRUE(gw.wait_log("\" 429 RL ", scaled(3000)));  // the access log flags the refusal

  // The next window starts over.
  std::this_thread::sleep_for(milliseconds(2000 - unix_ms() % 2000 + 20));
  HttpResponse again = chat(gw, 100);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.header("x-ratelimit-remaining"), "1000");
}

// Concurrent clients over both workers: the count is one, so nothing is lost or counted twice;
// a request is admitted while the count is under the limit and charged when it ends, so the
// budget can overshoot by at most what the other clients have in flight.
TEST(TokenBudget, ConcurrentClientsOvershootAtMostTheirRequestsInFlight) {
  Modelsim sim({"--output-tokens", "1000"});
  Gateway gw(budget_setup(sim, 2,
                          "  tokenBudgets:\n"
                          "  - {name: b, cost: outputTokens, window: 1h, limit: 1000}\n"));
  wait_window_start(3600 * 1000, 60 * 1000);
  constexpr int kClients = 4;
  std::atomic<int> served{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        const int status = chat(gw, 100).status;
        if (status != 200) {
          EXPECT_EQ(status, 429);
          return;
        }
        ++served;
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_GE(served.load(), 10);
  EXPECT_LE(served.load(), 10 - 1 + kClients);
  EXPECT_EQ(gw.stat("token_budget.b.tokens_charged"), 100.0 * served.load());
  EXPECT_EQ(gw.stat("token_budget.b.allowed"), served.load());
  EXPECT_EQ(gw.stat("token_budget.b.refused"), kClients);

  // A reload that leaves the budget as it is keeps its count (no fresh budget on reload).
  GatewaySetup changed = budget_setup(sim, 2,
                                      "  tokenBudgets:\n"
                                      "  - {name: b, cost: outputTokens, window: 1h, limit: 1000}\n"
                                      "  - {name: other, window: 1m, limit: 5, match: {pathPrefix: /none}}\n");
  gw.write_config(gw.render(changed));
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.version", 2, scaled(5000))) << gw.process().describe();
  EXPECT_EQ(chat(gw, 100).status, 429);
}

TEST(TokenBudget, TwoGatewaysShareOneBudgetThroughRedis) {
  REQUIRE_REDIS();
  RedisServer redis(redis_bin, free_port());
  Modelsim sim({"--output-tokens", "1000"});
  const std::string spec = "  tokenBudgets:\n"
                           "  - {name: tenant, key: apiKey, cost: outputTokens, window: 1h, limit: 1000}\n" +
                           store_yaml(redis.port());
  Gateway a(budget_setup(sim, 2, spec));
  Gateway b(budget_setup(sim, 2, spec));
  wait_window_start(3600 * 1000, 60 * 1000);
  const Headers key = {{"authorization", "Bearer sk-secret-tenant-1"}};
  for (int i = 0; i < 10; ++i) {
    Gateway& gw = i % 2 ? b : a;
    HttpResponse r = chat(gw, 100, key);
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.body;
    EXPECT_EQ(r.header("x-ratelimit-remaining"), std::to_string(1000 - 100 * i)) << "request " << i;
    // The charge is asynchronous (a worker never waits on Redis): let it land before the
    // other replica reads the count.
    ASSERT_TRUE(wait_redis_sum(redis.port(), "infergate:budget:", 100 * (i + 1), scaled(3000)));
  }
  for (Gateway* gw : {&a, &b}) {
    HttpResponse r = chat(*gw, 100, key);
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.header("x-ratelimit-remaining"), "0");
  }
  // Another API key has its own budget.
  EXPECT_EQ(chat(b, 100, {{"x-api-key", "sk-secret-tenant-2"}}).status, 200);
  // The store never sees an API key: keys hold its digest, and expire with the window.
  const std::string keys =
      redis_command(redis.port(), {"EVAL", "return table.concat(redis.call('KEYS', '*'), ' ')", "0"});
  EXPECT_EQ(keys.find("sk-secret"), std::string::npos) << keys;
  EXPECT_NE(keys.find("infergate:budget:tenant:"), std::string::npos) << keys;
  const std::string ttl = redis_command(redis.port(), {"EVAL", "return redis.call('PTTL', redis.call('KEYS', '*')[1])", "0"});
  ASSERT_EQ(ttl[0], ':') << ttl;
  EXPECT_GT(std::stoll(ttl.substr(1)), 0);
  EXPECT_LE(std::stoll(ttl.substr(1)), 3600 * 1000 + 10000);
  // The store's thread never holds a shutdown up.
  EXPECT_EQ(a.terminate(scaled(5000)), 0);
}

TEST(TokenBudget, RedisKilledFailOpenCountsThenSharingResumes) {
  REQUIRE_REDIS();
  const uint16_t port = free_port();
  auto redis = std::make_unique<RedisServer>(redis_bin, port);
  Modelsim sim({"--output-tokens", "1000"});
  const std::string spec = "  tokenBudgets:\n"
                           "  - {name: shared, cost: outputTokens, window: 1h, limit: 1000}\n" +
                           store_yaml(port);
  Gateway a(budget_setup(sim, 2, spec));
  Gateway b(budget_setup(sim, 2, spec));
  wait_window_start(3600 * 1000, 60 * 1000);
  const std::string prefix = "infergate:budget:";
  int sent = 0;
  auto next = [&]() -> Gateway& { return sent++ % 2 ? b : a; };
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(chat(next(), 50).status, 200);
    ASSERT_TRUE(wait_redis_sum(port, prefix, 50 * (i + 1), scaled(3000)));
  }

  redis->process().kill_now();
  redis.reset();
  for (int i = 0; i < 4; ++i) {
    HttpResponse r = chat(next(), 50);
    EXPECT_EQ(r.status, 200) << "fail-open keeps serving: " << r.body;
  }
  std::string down = "token budget store: Redis at 127.0.0.1:";
  down.append(std::to_string(port)).append(" is unavailable");
  for (Gateway* gw : {&a, &b}) {
    ASSERT_TRUE(gw->process().wait_err(down, scaled(5000))) << gw->process().describe();
    EXPECT_EQ(count_of(gw->process().err(), down), 1u) << "one line per outage\n" << gw->process().err();
    const std::string prom = gw->admin("GET", "/stats/prometheus").body;
    EXPECT_NE(prom.find("infergate_token_budget_redis_errors_total"), std::string::npos);
    double errors = 0;
    for (const char* r : {"connect", "disconnected", "protocol", "timeout", "reply"})
      errors += gw->stat(std::string("token_budget.redis.errors.") + r);
    EXPECT_GE(errors, 1) << prom;
    EXPECT_EQ(gw->stat("token_budget.redis.up"), 0);
    EXPECT_EQ(gw->stat("token_budget.shared.tokens_charged"), 200);  // each served 2 + 2 requests
  }

  // Redis comes back (empty: nothing was saved): both replicas reconnect by themselves and
  // flush what they charged meanwhile; from then on the budget is shared exactly again.
  redis = std::make_unique<RedisServer>(redis_bin, port);
  ASSERT_TRUE(wait_redis_sum(port, prefix, 200, scaled(10000))) << redis_sum(port, prefix);
  for (Gateway* gw : {&a, &b}) {
    EXPECT_TRUE(gw->process().wait_err("is reachable; flushing 1 charge(s) (100 tokens)", scaled(3000)))
        << gw->process().err();
    EXPECT_TRUE(gw->wait_stat_at_least("token_budget.redis.up", 1, scaled(3000)));
  }
  int served = 0;
  for (int i = 0; i < 40; ++i) {
    HttpResponse r = chat(next(), 50);
    if (r.status != 200) {
      EXPECT_EQ(r.status, 429) << r.body;
      break;
    }
    ++served;
    ASSERT_TRUE(wait_redis_sum(port, prefix, 200 + 50 * served, scaled(3000)));
  }
  EXPECT_EQ(served, 16);  // (1000 - 200) / 50
  EXPECT_EQ(chat(next(), 50).status, 429);
}

TEST(TokenBudget, BadRepliesAreLoggedAndCountedNeverACrash) {
  Modelsim sim;
  const std::string budget = "  tokenBudgets:\n  - {name: b, window: 1h, limit: 1000000}\n";
  {
    FakeRedis garbage("HELLO this is not RESP\r\n");
    Gateway gw(budget_setup(sim, 2, budget + store_yaml(garbage.port())));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(chat(gw, 10).status, 200);
    EXPECT_TRUE(gw.process().wait_err("is unavailable (protocol:", scaled(5000))) << gw.process().err();
    EXPECT_TRUE(gw.wait_stat_at_least("token_budget.redis.errors.protocol", 1, scaled(3000)));
    EXPECT_TRUE(gw.process().running());
  }
  {
    FakeRedis wrong("+OK\r\n");  // valid RESP, not what MGET or the script return
    Gateway gw(budget_setup(sim, 2, budget + store_yaml(wrong.port())));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(chat(gw, 10).status, 200);
    EXPECT_TRUE(gw.process().wait_err("answered MGET with a status: OK", scaled(5000))) << gw.process().err();
    EXPECT_GE(gw.stat("token_budget.redis.errors.reply"), 1);
    EXPECT_GE(gw.stat("token_budget.store_fallback.fail_open"), 1);
    EXPECT_TRUE(gw.process().running());
  }
  {
    FakeRedis silent("");  // accepts, never answers: each command waits out the timeout
    Gateway gw(budget_setup(sim, 2, budget + store_yaml(silent.port())));
    for (int i = 0; i < 2; ++i) {
      const auto start = Clock::now();
      EXPECT_EQ(chat(gw, 10).status, 200);
      EXPECT_LT(Clock::now() - start, scaled(5000)) << "bounded by the store's timeout";
    }
    EXPECT_TRUE(gw.process().wait_err("is unavailable (timeout: no reply within 500ms)", scaled(5000)))
        << gw.process().err();
    EXPECT_GE(gw.stat("token_budget.redis.errors.timeout"), 1);
    EXPECT_TRUE(gw.process().running());
  }
}

TEST(TokenBudget, WrongAddressFailOpenServesFailCloseRefuses) {
  Modelsim sim;
  const uint16_t nothing = free_port();  // nobody listens there
  const std::string budget = "  tokenBudgets:\n  - {name: b, window: 1h, limit: 1000000}\n";
  {
    Gateway gw(budget_setup(sim, 1, budget + store_yaml(nothing)));
    EXPECT_TRUE(gw.process().wait_err("is unavailable (connect: ", scaled(5000))) << gw.process().err();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(chat(gw, 10).status, 200);
    EXPECT_GE(gw.stat("token_budget.redis.errors.connect"), 1);
    EXPECT_EQ(count_of(gw.process().err(), "is unavailable"), 1u) << gw.process().err();
  }
  {
    Gateway gw(budget_setup(sim, 1, budget + store_yaml(nothing, ", failureMode: FailClose")));
    EXPECT_TRUE(gw.process().wait_err("refused with 503 (failureMode FailClose)", scaled(5000))) << gw.process().err();
    HttpResponse r = chat(gw, 10);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, "token_budget_store_unavailable");
    EXPECT_GE(gw.stat("token_budget.store_fallback.fail_close"), 1);
    EXPECT_TRUE(gw.wait_log("\" 503 RLSE ", scaled(3000)));
    EXPECT_EQ(gw.terminate(scaled(5000)), 0);  // while reconnecting
  }
}

TEST(TokenBudget, ConfigErrorsNameFileDocumentAndField) {
  TempDir dir;
  GatewaySetup setup;
  setup.endpoints = {Upstream{"sim-1", 20001}};
  setup.gateway_spec_extra = "  tokenBudgets:\n"
                             "  - name: tenant\n"
                             "    key: apiKey\n"
                             "    cost: weighted\n"
                             "    weights: {input: 1, outptu: 4}\n"
                             "    window: 1h\n"
                             "    limit: 1000\n"
                             "  tokenBudgetStore: {redis: {address: redis-no-port}}\n";
  const std::string path = dir.write("budgets.yaml", render_config(setup, 20002, 20003));
  CommandResult r = run_command({infergate_path(), "--check", "--config", path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("budgets.yaml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("document 1 (GatewayConfig/e2e): spec.tokenBudgets[0].weights.outptu: unknown field"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("document 1 (GatewayConfig/e2e): spec.tokenBudgetStore.redis.address: \"redis-no-port\" is "
                       "not host:port"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace infergate::e2e
