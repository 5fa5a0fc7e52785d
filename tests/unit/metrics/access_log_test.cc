#include "metrics/access_log.h"
#include "metrics/registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace infergate::metrics {
namespace {

namespace fs = std::filesystem;

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           std::string("metrics_access_log_")
               .append(std::to_string(::getpid()))
               .append("_")
               .append(::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name = "access.log") const { return (dir_ / name).string(); }

  static std::vector<std::string> lines(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

  static AccessLogEntry entry(const std::string& p) {
    AccessLogEntry e;
    e.method = "GET";
    e.path = p;
    e.protocol = "HTTP/1.1";
    e.response_code = 200;
    return e;
  }

  // Waiting on the writer thread, not timing it: the bound only stops a broken
  // build from hanging.
  static bool eventually(const std::function<bool()>& pred) {
    for (int i = 0; i < 2000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  }

  fs::path dir_;
};

// GCC 12 warns (-Wrestrict, a false positive) on "literal" + std::string&&.
std::string num_path(std::string_view prefix, int i) { return std::string(prefix).append(std::to_string(i)); }

TEST_F(AccessLogTest, DropsAndCountsWhenFullWhileWriterIsPaused) {
  {
    AccessLog log(path(), AccessLogFormat::Envoy, 4);
    log.pause_writer();
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(log.log(entry(num_path("/ok", i))));
    AccessLogEntry refused = entry("/refused");
    EXPECT_FALSE(log.log(std::move(refused)));
    EXPECT_FALSE(log.log(entry("/refused2")));
    EXPECT_EQ(log.dropped(), 2u);
    EXPECT_EQ(log.written(), 0u);
    log.resume_writer();
    ASSERT_TRUE(eventually([&] { return log.written() == 4; }));
    EXPECT_TRUE(log.log(entry("/after")));  // room again
  }
  const auto got = lines(path());
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_NE(got[static_cast<size_t>(i)].find(num_path("\"GET /ok", i).append(" HTTP/1.1\"")), std::string::npos);
  EXPECT_NE(got[4].find("/after"), std::string::npos);
}

TEST_F(AccessLogTest, CountsIntoRegistryCounters) {
  Registry r(1);
  AccessLogCounters counters{r.counter("log_total", "h", {{"result", "written"}}),
                             r.counter("log_total", "h", {{"result", "dropped"}})};
  {
    AccessLog log(path(), AccessLogFormat::Json, 2, counters);
    log.pause_writer();
    EXPECT_TRUE(log.log(entry("/a")));
    EXPECT_TRUE(log.log(entry("/b")));
    EXPECT_FALSE(log.log(entry("/c")));
    log.resume_writer();
    ASSERT_TRUE(eventually([&] { return log.written() == 2; }));
  }
  EXPECT_EQ(counters.written.value(), 2u);
  EXPECT_EQ(counters.dropped.value(), 1u);
}

TEST_F(AccessLogTest, ShutdownFlushesEverythingQueued) {
  {
    AccessLog log(path(), AccessLogFormat::Envoy, 128);
    log.pause_writer();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(log.log(entry(num_path("/", i))));
    // Destroyed while paused: the destructor must still write all 100.
  }
  const auto got = lines(path());
  ASSERT_EQ(got.size(), 100u);
  EXPECT_NE(got[99].find("\"GET /99 HTTP/1.1\""), std::string::npos);
}

TEST_F(AccessLogTest, ManyProducersKeepTheirOrderAndLoseNothing) {
  constexpr int kProducers = 4, kEach = 3000;
  {
    AccessLog log(path(), AccessLogFormat::Json, kProducers * kEach);
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kEach; ++i) {
          AccessLogEntry e = entry(num_path("/", p).append(num_path("/", i)));
          e.request_id = std::to_string(p);
          ASSERT_TRUE(log.log(std::move(e)));
        }
      });
    }
    for (auto& t : producers) t.join();
    EXPECT_EQ(log.dropped(), 0u);
  }
  std::vector<int> next(kProducers, 0);
  int total = 0;
  for (const std::string& l : lines(path())) {
    const nlohmann::json j = nlohmann::json::parse(l);
    const int p = std::stoi(j["request_id"].get<std::string>());
    ASSERT_EQ(j["path"], num_path("/", p).append(num_path("/", next[static_cast<size_t>(p)])));
    ++next[static_cast<size_t>(p)];
    ++total;
  }
  EXPECT_EQ(total, kProducers * kEach);
}

TEST_F(AccessLogTest, AppendsToAnExistingFile) {
  std::ofstream(path()) << "previous line\n";
  { AccessLog(path(), AccessLogFormat::Envoy).log(entry("/new")); }
  const auto got = lines(path());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "previous line");
  EXPECT_NE(got[1].find("/new"), std::string::npos);
}

TEST_F(AccessLogTest, ReopenFollowsLogRotation) {
  {
    AccessLog log(path(), AccessLogFormat::Envoy);
    ASSERT_TRUE(log.log(entry("/before")));
    ASSERT_TRUE(eventually([&] { return log.written() == 1; }));
    fs::rename(path(), path("access.log.1"));
    log.reopen();
    ASSERT_TRUE(log.log(entry("/after")));
  }
  const auto rotated = lines(path("access.log.1"));
  const auto fresh = lines(path());
  ASSERT_EQ(rotated.size(), 1u);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_NE(rotated[0].find("/before"), std::string::npos);
  EXPECT_NE(fresh[0].find("/after"), std::string::npos);
}

TEST_F(AccessLogTest, UnopenablePathThrows) {
  EXPECT_THROW(AccessLog(path("missing-dir/access.log"), AccessLogFormat::Envoy), std::system_error);
  EXPECT_THROW(AccessLog("", AccessLogFormat::Envoy), std::system_error);
}

TEST_F(AccessLogTest, ZeroCapacityMeansOne) {
  {
    AccessLog log(path(), AccessLogFormat::Envoy, 0);
    log.pause_writer();
    EXPECT_TRUE(log.log(entry("/one")));
    EXPECT_FALSE(log.log(entry("/two")));
  }
  EXPECT_EQ(lines(path()).size(), 1u);
}

}  // namespace
}  // namespace infergate::metrics
