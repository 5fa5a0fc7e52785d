// main() of the end-to-end test binaries: GoogleTest's, plus a hang watchdog.
//
// A test that hangs is killed by CTest at its TIMEOUT, and all its log then shows is
// "[ RUN ]": nothing says where it stood. The watchdog fires first (INFERGATE_TEST_WATCHDOG_S,
// which CMake sets a little under each binary's TIMEOUT): it names the test, prints the stack
// of every thread (gdb, when installed) and the child processes still running, and aborts.
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace {

using Clock = std::chrono::steady_clock;

class HangWatchdog : public ::testing::EmptyTestEventListener {
 public:
  explicit HangWatchdog(std::chrono::seconds limit) : limit_(limit), thread_([this] { run(); }) {}

  ~HangWatchdog() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void OnTestStart(const ::testing::TestInfo& t) override {
    std::lock_guard lock(mu_);
    name_ = std::string(t.test_suite_name()) + "." + t.name();
    started_ = Clock::now();
    running_ = true;
    ++generation_;
    cv_.notify_all();
  }

  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard lock(mu_);
    running_ = false;
    cv_.notify_all();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (!running_) {
        cv_.wait(lock);
        continue;
      }
      const uint64_t generation = generation_;
      const bool moved_on = cv_.wait_until(lock, started_ + limit_,
                                           [&] { return stop_ || !running_ || generation_ != generation; });
      if (!moved_on) fire(name_);
    }
  }

  [[noreturn]] void fire(const std::string& name) {
    std::fflush(stdout);
    std::fprintf(stderr,
                 "\n[ WATCHDOG ] %s is still running after %lld s, close to its CTest timeout.\n"
                 "[ WATCHDOG ] The stacks of its threads and its child processes follow; then it aborts.\n",
                 name.c_str(), static_cast<long long>(limit_.count()));
    std::fflush(stderr);
    // Yama's ptrace_scope=1 lets a process be traced only by its ancestors unless it says so.
    ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    const std::string pid = std::to_string(::getpid());
    // stdout to stderr, so that the report stays in order with the line above; `timeout` in
    // case gdb itself cannot attach and waits.
    std::system(("command -v gdb >/dev/null && timeout 60 gdb -nx -batch -p " + pid +
                 " -ex 'set pagination off' -ex 'thread apply all bt' 1>&2 2>/dev/null"
                 " || echo '[ WATCHDOG ] gdb is not installed or could not attach: no stacks' 1>&2")
                    .c_str());
    std::system(("echo '[ WATCHDOG ] child processes:' 1>&2; ps -o pid,stat,etime,args --ppid " + pid + " 1>&2")
                    .c_str());
    // A gateway that stopped answering is as likely a cause as the test itself.
    std::system(("command -v gdb >/dev/null && for c in $(pgrep -P " + pid +
                 " -x infergate); do echo \"[ WATCHDOG ] the threads of infergate $c:\" 1>&2;"
                 " timeout 60 gdb -nx -batch -p $c -ex 'set pagination off' -ex 'thread apply all bt' 1>&2 2>/dev/null;"
                 " done")
                    .c_str());
    std::fflush(stderr);
    std::abort();
  }

  const std::chrono::seconds limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string name_;
  Clock::time_point started_;
  uint64_t generation_ = 0;
  bool running_ = false, stop_ = false;
  std::thread thread_;  // last: it starts in the constructor and reads the members above
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* env = std::getenv("INFERGATE_TEST_WATCHDOG_S");
  const long seconds = env != nullptr ? std::strtol(env, nullptr, 10) : 0;
  // Listed tests (gtest_discover_tests runs --gtest_list_tests) need no watchdog.
  if (seconds > 0 && !::testing::GTEST_FLAG(list_tests))
    ::testing::UnitTest::GetInstance()->listeners().Append(new HangWatchdog(std::chrono::seconds(seconds)));
  return RUN_ALL_TESTS();
}
