// What every end-to-end test file includes: GoogleTest, the harness, and helpers
// shared by several areas.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/gateway_env.h"
#include "tests/e2e/harness.h"

// Skips the test when a client tool is missing on this machine.
#define E2E_REQUIRE_TOOL(var, name)                                                    \
  const std::string var = ::infergate::e2e::tool_path(name);                           \
  if (var.empty()) GTEST_SKIP() << name << " is not installed (found at configure time)"

namespace infergate::e2e {

// A whole file ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A file of the source tree (examples/, docker/) as text.
inline std::string read_source(const std::string& relative) { return read_file(source_path(relative)); }

inline void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

// Waits scaled for sanitizer builds.
inline milliseconds scaled(int ms) { return milliseconds(ms * time_scale()); }

// Polls `done` every 10 ms until it holds or `timeout` passes; its last answer.
inline bool wait_until(const std::function<bool()>& done, milliseconds timeout) {
  for (const auto until = Clock::now() + timeout; Clock::now() < until; std::this_thread::sleep_for(milliseconds(10)))
    if (done()) return true;
  return done();
}

// A gateway in front of one modelsim, the common setup.
inline GatewaySetup one_upstream(const Modelsim& sim, bool h2c = false) {
  GatewaySetup s;
  s.endpoints.push_back(Upstream{"sim-1", sim.port()});
  s.h2c_upstream = h2c;
  return s;
}

// Body of an OpenAI chat completion request.
inline std::string chat_body(unsigned max_tokens, bool stream) {
  return std::string(R"({"model":"sim-model","messages":[{"role":"user","content":"hello there"}],"max_tokens":)") +
         std::to_string(max_tokens) + (stream ? R"(,"stream":true})" : "}");
}

// `curl -sS ARGS...` with a bounded run time.
inline CommandResult curl(const std::string& curl_path, std::vector<std::string> args,
                          milliseconds timeout = milliseconds(20000)) {
  std::vector<std::string> argv = {curl_path, "-sS", "--max-time", std::to_string(timeout.count() / 1000)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout + milliseconds(2000));
}

}  // namespace infergate::e2e
