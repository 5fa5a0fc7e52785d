// EppChannel / EppCall against the real test EPP (tests/epp_sim) run as a child process.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "pools/ext_proc/epp_client.h"

extern char** environ;

namespace infergate::ext_proc {
namespace {

using namespace std::chrono_literals;

// The test EPP as a child process; collects its stdout lines.
class SimProcess {
 public:
  explicit SimProcess(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    args.insert(args.begin(), EPP_SIM_PATH);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, EPP_SIM_PATH, &fa, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot spawn epp_sim");
    }
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    fd_ = fds[0];
    reader_ = std::thread([this] { read_loop(); });
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, 10s, [&] { return !lines_.empty() || eof_; }) || lines_.empty() ||
        lines_[0].rfind("listening ", 0) != 0) {
      throw std::runtime_error("epp_sim did not report its port");
    }
    target_ = lines_[0].substr(std::string("listening ").size());
  }
  ~SimProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 300 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    reader_.join();
    close(fd_);
  }
  const std::string& target() const { return target_; }
  void signal(int sig) { kill(pid_, sig); }
  bool wait_line(const std::string& line, std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] {
      return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
    });
  }

 private:
  void read_loop() {
    std::string buf;
    char chunk[4096];
    while (true) {
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::lock_guard lk(mu_);
        lines_.push_back(buf.substr(0, nl));
        buf.erase(0, nl + 1);
        cv_.notify_all();
      }
    }
    std::lock_guard lk(mu_);
    eof_ = true;
    cv_.notify_all();
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::string target_;
};

// Stands in for a gateway worker: one thread running posted functions in order. Its queue
// outlives the Worker object, so late posts from gRPC threads are dropped safely.
class Worker {
 public:
  Worker() : q_(std::make_shared<Queue>()) {
    thread_ = std::thread([q = q_] {
      std::unique_lock lk(q->mu);
      while (true) {
        q->cv.wait(lk, [&] { return q->stop || !q->tasks.empty(); });
        if (q->tasks.empty()) return;
        auto f = std::move(q->tasks.front());
        q->tasks.pop_front();
        lk.unlock();
        f();
        lk.lock();
      }
    });
  }
  ~Worker() {
    {
      std::lock_guard lk(q_->mu);
      q_->stop = true;
    }
    q_->cv.notify_all();
    thread_.join();
    std::lock_guard lk(q_->mu);
    q_->tasks.clear();
  }
  EppCall::PostFn post() {
    return [q = q_](std::function<void()> f) {
      std::lock_guard lk(q->mu);
      if (q->stop) return;
      q->tasks.push_back(std::move(f));
      q->cv.notify_all();
    };
  }
  void run_sync(std::function<void()> f) {
    std::promise<void> done;
    post()([&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> tasks;
    bool stop = false;
  };
  std::shared_ptr<Queue> q_;
  std::thread thread_;
};

Headers request_headers(const std::string& mode = "normal", int pick = -1) {
  Headers h{{":method", "POST"},
            {":path", "/v1/chat/completions"},
            {":authority", "gw.example"},
            {":scheme", "http"},
            {"content-type", "application/json"},
            {"x-epp-sim-mode", mode}};
  if (pick >= 0) h.emplace_back("x-epp-sim-pick", std::to_string(pick));
  return h;
}

const std::vector<std::string> kBody = {R"({"model":"m1",)", R"("messages":[]})"};

struct CallSpec {
  Headers headers = request_headers();
  std::vector<std::string> body = kBody;
  EppCallOptions options;
  std::string served;  // reported in response headers when set and endpoints came back
};

class EppClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sim_ = new SimProcess({"--endpoints", "10.0.0.1:8000,10.0.0.2:8000,10.0.0.3:8000",
                           "--fallbacks", "2", "--delay-ms", "1500"});
  }
  static void TearDownTestSuite() {
    delete sim_;
    sim_ = nullptr;
  }
  void SetUp() override {
    EppChannelOptions o;
    o.target = sim_->target();
    channel_ = EppChannel::create(o);
  }

  // Runs one call on the worker; returns its result (the call is finished afterwards).
  EppResult call(const CallSpec& spec, std::shared_ptr<EppChannel> channel = nullptr) {
    if (!channel) channel = channel_;
    auto promise = std::make_shared<std::promise<EppResult>>();
    auto future = promise->get_future();
    auto holder = std::make_shared<std::unique_ptr<EppCall>>();
    auto runs = std::make_shared<std::atomic<int>>(0);
    worker_.run_sync([&] {
      *holder = std::make_unique<EppCall>(
          channel, worker_.post(),
          [promise, holder, runs, served = spec.served](EppResult r) {
            if (runs->fetch_add(1) != 0) return;
            if (r.kind == ResultKind::kEndpoints && !served.empty()) {
              (*holder)->send_response_headers(
                  {{":status", "200"}, {std::string(kDestinationEndpointServedHeader), served}},
                  false, served, [](std::optional<HeaderMutations>) {});
            }
            (*holder)->finish();
            promise->set_value(std::move(r));
          },
          spec.options);
      (*holder)->start(spec.headers, spec.body.empty());
      for (std::size_t i = 0; i < spec.body.size(); ++i) {
        (*holder)->send_body(spec.body[i], i + 1 == spec.body.size());
      }
    });
    if (future.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no result within 10 s";
      worker_.run_sync([&] { holder->reset(); });
      return {};
    }
    EppResult r = future.get();
    worker_.run_sync([&] {
      EXPECT_TRUE((*holder)->result_delivered());
      holder->reset();
    });
    EXPECT_EQ(runs->load(), 1);
    return r;
  }

  static SimProcess* sim_;
  std::shared_ptr<EppChannel> channel_;
  Worker worker_;
};
SimProcess* EppClientTest::sim_ = nullptr;

TEST_F(EppClientTest, EndpointsWithFallbacks) {
  CallSpec spec;
  spec.headers = request_headers("normal", 1);
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kEndpoints) << r.failure.message;
  EXPECT_EQ(r.endpoints,
            (std::vector<std::string>{"10.0.0.2:8000", "10.0.0.3:8000", "10.0.0.1:8000"}));
  bool saw_endpoint_set = false, saw_mode = false;
  for (const auto& s : r.mutations.set) {
    if (s.key == kDestinationEndpointHeader) {
      saw_endpoint_set = true;
      EXPECT_EQ(s.value, "10.0.0.2:8000,10.0.0.3:8000,10.0.0.1:8000");
      EXPECT_EQ(s.action, AppendAction::kOverwriteIfExistsOrAdd);
    }
    if (s.key == "x-epp-sim-mode") saw_mode = s.value == "normal";
  }
  EXPECT_TRUE(saw_endpoint_set);
  EXPECT_TRUE(saw_mode);
  EXPECT_TRUE(r.mutations.clear_route_cache);
  EXPECT_GT(r.latency.count(), 0);
  EXPECT_EQ(channel_->stats().endpoints.load(), 1u);
}

TEST_F(EppClientTest, RequestWithoutBody) {
  CallSpec spec;
  spec.headers = request_headers("normal", 0);
  spec.body.clear();
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kEndpoints) << r.failure.message;
  EXPECT_EQ(r.endpoints.front(), "10.0.0.1:8000");
}

TEST_F(EppClientTest, LargeBodyIsChunkedAndEchoed) {
  CallSpec spec;
  spec.body = {std::string(200 * 1024, 'x'), std::string(10, 'y')};
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kEndpoints) << r.failure.message;
  EXPECT_EQ(r.endpoints.size(), 3u);
}

TEST_F(EppClientTest, HeadersAnsweredBeforeBodyStillSendsBody) {
  CallSpec spec;
  spec.headers = request_headers("early", 2);
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kEndpoints) << r.failure.message;
  EXPECT_EQ(r.endpoints.front(), "10.0.0.3:8000");
}

TEST_F(EppClientTest, ResultOnEndpointDeliversBeforeBodyEnds) {
  // The EPP names the endpoint before any body was sent; with result_on_endpoint the result
  // comes without the body, which is then still streamed and echoed.
  auto promise = std::make_shared<std::promise<EppResult>>();
  auto future = promise->get_future();
  std::unique_ptr<EppCall> c;
  EppCallOptions opts;
  opts.result_on_endpoint = true;
  worker_.run_sync([&] {
    c = std::make_unique<EppCall>(channel_, worker_.post(),
                                  [promise](EppResult r) { promise->set_value(std::move(r)); },
                                  opts);
    c->start(request_headers("early", 0), false);
  });
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EppResult r = future.get();
  ASSERT_EQ(r.kind, ResultKind::kEndpoints) << r.failure.message;
  EXPECT_EQ(r.endpoints.front(), "10.0.0.1:8000");
  worker_.run_sync([&] {
    c->send_body("hello", true);
    c->send_response_headers({{":status", "200"},
                              {std::string(kDestinationEndpointServedHeader), "10.0.0.1:8000"}},
                             false, "10.0.0.1:8000", [](std::optional<HeaderMutations>) {});
    c->finish();
    c.reset();
  });
}

TEST_F(EppClientTest, EndpointFromDynamicMetadataOnly) {
  CallSpec spec;
  spec.headers = request_headers("metadata", 1);
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kEndpoints) << r.failure.message;
  EXPECT_EQ(r.endpoints.front(), "10.0.0.2:8000");
  for (const auto& s : r.mutations.set) EXPECT_NE(s.key, kDestinationEndpointHeader);
}

TEST_F(EppClientTest, SubsetHintIsSent) {
  CallSpec spec;
  spec.options.subset_hint = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"10.0.0.3:8000"});
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kEndpoints) << r.failure.message;
  EXPECT_EQ(r.endpoints, std::vector<std::string>{"10.0.0.3:8000"});
  // Proposal 004: nothing eligible in the subset is the EPP's 503.
  spec.options.subset_hint = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"10.9.9.9:80"});
  r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kImmediateResponse);
  EXPECT_EQ(r.immediate.status, 503);
}

TEST_F(EppClientTest, Shed429) {
  CallSpec spec;
  spec.headers = request_headers("shed");
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kImmediateResponse);
  EXPECT_EQ(r.immediate.status, 429);
  EXPECT_EQ(r.immediate.body, "epp_sim: request shed");
  ASSERT_EQ(r.immediate.headers.size(), 1u);
  EXPECT_EQ(r.immediate.headers[0], (std::pair<std::string, std::string>{"x-epp-sim", "shed"}));
  EXPECT_EQ(channel_->stats().immediate.load(), 1u);
}

TEST_F(EppClientTest, NoneReady503) {
  CallSpec spec;
  spec.headers = request_headers("none-ready");
  spec.body.clear();
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kImmediateResponse);
  EXPECT_EQ(r.immediate.status, 503);
}

TEST_F(EppClientTest, SlowEppTimesOut) {
  CallSpec spec;
  spec.headers = request_headers("slow");
  spec.options.message_timeout = 200ms;
  auto t0 = std::chrono::steady_clock::now();
  EppResult r = call(spec);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.kind, ResultKind::kFailure);
  EXPECT_EQ(r.failure.kind, FailureKind::kTimeout) << r.failure.message;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 1400ms);  // well before the EPP's 1.5 s answer
  EXPECT_EQ(channel_->stats().timeouts.load(), 1u);
}

TEST_F(EppClientTest, NothingListeningIsUnavailable) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);  // the port is now (very likely) free and nothing listens on it
  EppChannelOptions o;
  o.target = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto dead = EppChannel::create(o);
  EppResult r = call(CallSpec{}, dead);
  ASSERT_EQ(r.kind, ResultKind::kFailure);
  EXPECT_EQ(r.failure.kind, FailureKind::kUnavailable) << r.failure.message;
  EXPECT_EQ(r.failure.grpc_code, 14);
  EXPECT_EQ(dead->stats().unavailable.load(), 1u);
}

TEST_F(EppClientTest, GarbageEndpointIsProtocolError) {
  CallSpec spec;
  spec.headers = request_headers("garbage");
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kFailure);
  EXPECT_EQ(r.failure.kind, FailureKind::kProtocolError);
  EXPECT_NE(r.failure.message.find("not-an-endpoint"), std::string::npos) << r.failure.message;
}

TEST_F(EppClientTest, MissingEndpointIsProtocolError) {
  CallSpec spec;
  spec.headers = request_headers("noendpoint");
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kFailure);
  EXPECT_EQ(r.failure.kind, FailureKind::kProtocolError) << r.failure.message;
}

TEST_F(EppClientTest, StreamClosedWithUnavailable) {
  CallSpec spec;
  spec.headers = request_headers("close");
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kFailure);
  EXPECT_EQ(r.failure.kind, FailureKind::kUnavailable) << r.failure.message;
  EXPECT_EQ(r.failure.grpc_code, 14);
}

TEST_F(EppClientTest, ServedReportReachesTheEpp) {
  CallSpec spec;
  spec.headers = request_headers("normal", 2);
  spec.served = "10.0.0.3:8000";
  EppResult r = call(spec);
  ASSERT_EQ(r.kind, ResultKind::kEndpoints) << r.failure.message;
  EXPECT_TRUE(sim_->wait_line("served 10.0.0.3:8000", 5s));
}

TEST_F(EppClientTest, TheResponseHeadersAnswerComesBackThroughPost) {
  auto result = std::make_shared<std::promise<EppResult>>();
  auto answer = std::make_shared<std::promise<std::optional<HeaderMutations>>>();
  std::unique_ptr<EppCall> c;
  worker_.run_sync([&] {
    c = std::make_unique<EppCall>(channel_, worker_.post(), [result](EppResult r) { result->set_value(std::move(r)); });
    c->start(request_headers("normal", 2), true);
  });
  auto rf = result->get_future();
  ASSERT_EQ(rf.wait_for(5s), std::future_status::ready);
  ASSERT_EQ(rf.get().kind, ResultKind::kEndpoints);
  bool waits = false;
  worker_.run_sync([&] {
    waits = c->send_response_headers({{":status", "200"}}, false, "10.0.0.3:8000",
                                     [answer](std::optional<HeaderMutations> m) { answer->set_value(std::move(m)); });
  });
  ASSERT_TRUE(waits);
  auto af = answer->get_future();
  ASSERT_EQ(af.wait_for(5s), std::future_status::ready);
  auto m = af.get();
  ASSERT_TRUE(m);
  std::string served;
  for (const auto& set : m->set)
    if (set.key == "x-conformance-test-served-endpoint") served = set.value;
  EXPECT_EQ(served, "10.0.0.3:8000");  // epp_sim read it from metadata envoy.lb
  EXPECT_EQ(channel_->stats().response_mutations.load(), 1u);
  worker_.run_sync([&] {
    c->finish();
    c.reset();
  });
}

TEST(EppChannelHealth, NotServingMakesTheChannelNotReadyUntilItServes) {
  SimProcess sim({"--endpoints", "10.0.0.1:8000", "--health", "not-serving"});
  EppChannelOptions o;
  o.target = sim.target();
  o.health_interval = 100ms;
  auto channel = EppChannel::create(o);
  auto until = [&](bool want) {
    for (int i = 0; i < 100; ++i) {
      if (channel->ready() == want) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  EXPECT_TRUE(until(false));
  sim.signal(SIGUSR2);  // SERVING
  EXPECT_TRUE(until(true));
  EXPECT_GE(channel->stats().health_checks.load(), 2u);
  EXPECT_GE(channel->stats().health_failures.load(), 1u);
  // Dropped while its health thread may be inside a check: no crash, no use after free.
  channel.reset();
}

TEST_F(EppClientTest, CancelInFlightNeverCallsBack) {
  // Cancel at different points (before the network, mid-stream, while the EPP sleeps), and
  // drop handles without cancel: no callback, no crash, no leak (checked under ASan).
  auto calls = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < 20; ++i) {
    std::unique_ptr<EppCall> c;
    worker_.run_sync([&] {
      c = std::make_unique<EppCall>(channel_, worker_.post(),
                                    [calls](EppResult) { calls->fetch_add(1); });
      c->start(request_headers("slow"), false);
      if (i % 4 == 0) c->cancel();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(i % 5));
    worker_.run_sync([&] {
      c->send_body("partial", i % 2 == 0);
      if (i % 4 == 1) c->cancel();
      if (i % 4 == 2) c->cancel(), c->cancel();  // idempotent
    });
    worker_.run_sync([&] { c.reset(); });  // i % 4 == 3: dropped without cancel
  }
  std::this_thread::sleep_for(300ms);
  worker_.run_sync([] {});
  EXPECT_EQ(calls->load(), 0);
  EXPECT_EQ(channel_->stats().cancelled.load(), 20u);
  // The channel still works afterwards.
  EXPECT_EQ(call(CallSpec{}).kind, ResultKind::kEndpoints);
}

TEST_F(EppClientTest, FiftyConcurrentCalls) {
  constexpr int kCalls = 50;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<EppResult> results;
  std::vector<std::unique_ptr<EppCall>> calls(kCalls);
  worker_.run_sync([&] {
    for (int i = 0; i < kCalls; ++i) {
      calls[i] = std::make_unique<EppCall>(
          channel_, worker_.post(), [&, i](EppResult r) {
            calls[i]->finish();
            std::lock_guard lk(mu);
            results.push_back(std::move(r));
            cv.notify_all();
          });
      calls[i]->start(request_headers("normal"), false);
      calls[i]->send_body("{\"model\":\"m\"}", true);
    }
  });
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, 10s, [&] { return results.size() == kCalls; }));
  }
  std::set<std::string> primaries;
  for (const auto& r : results) {
    ASSERT_EQ(r.kind, ResultKind::kEndpoints) << r.failure.message;
    EXPECT_EQ(r.endpoints.size(), 3u);
    primaries.insert(r.endpoints.front());
  }
  EXPECT_EQ(primaries.size(), 3u);  // round-robin reached every endpoint
  worker_.run_sync([&] { calls.clear(); });
  EXPECT_EQ(channel_->stats().calls.load(), static_cast<std::uint64_t>(kCalls));
}

}  // namespace
}  // namespace infergate::ext_proc
