#include "tests/conformance/echo_round_trip.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <thread>

#include "tests/e2e/e2e_test.h"

namespace infergate::conformance {

using e2e::Clock;
using e2e::milliseconds;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string echoed_string(const nlohmann::json& echoed, const char* field) {
  return echoed.is_object() && echoed.contains(field) && echoed[field].is_string() ? echoed[field].get<std::string>()
                                                                                  : std::string();
}

std::string codes(const std::vector<int>& v) {
  std::string out;
  for (int c : v) {
    if (!out.empty()) out += ",";
    out += std::to_string(c);
  }
  return out;
}

}  // namespace

std::string RoundTrip::pod() const { return echoed_string(echoed, "pod"); }
std::string RoundTrip::ns() const { return echoed_string(echoed, "namespace"); }
std::string RoundTrip::http_port() const { return echoed_string(echoed, "httpPort"); }

RoundTrip round_trip(uint16_t port, const Request& request) {
  e2e::Headers headers = request.headers;
  if (!request.host.empty()) headers.emplace_back("Host", request.host);
  RoundTrip rt;
  rt.response = e2e::http_request(port, request.method, request.path, headers, request.body, milliseconds(10000));
  rt.echoed = nlohmann::json::parse(rt.response.body, nullptr, false);
  if (rt.echoed.is_discarded()) rt.echoed = nullptr;
  return rt;
}

std::string compare(const ExpectedResponse& expected, const RoundTrip& rt) {
  const int status = rt.response.status;
  if (std::find(expected.status_codes.begin(), expected.status_codes.end(), status) == expected.status_codes.end())
    return "expected status in [" + codes(expected.status_codes) + "], got " + std::to_string(status) + ": " +
           rt.response.body.substr(0, 300);
  for (const auto& [name, value] : expected.response_headers) {
    if (!rt.response.has_header(lower(name))) return "response header " + name + " missing";
    if (rt.response.header(lower(name)) != value)
      return "response header " + name + ": expected " + value + ", got " + rt.response.header(lower(name));
  }
  if (status < 200 || status >= 300) return {};
  const Request& req = expected.request;
  if (!rt.echoed.is_object()) return "the 2xx body is not the echo server's JSON: " + rt.response.body.substr(0, 300);
  if (echoed_string(rt.echoed, "method") != req.method)
    return "expected method " + req.method + ", the backend got " + echoed_string(rt.echoed, "method");
  if (echoed_string(rt.echoed, "path") != req.path)
    return "expected path " + req.path + ", the backend got " + echoed_string(rt.echoed, "path");
  if (!req.host.empty() && echoed_string(rt.echoed, "host") != req.host)
    return "expected host " + req.host + ", the backend got " + echoed_string(rt.echoed, "host");
  for (const auto& [name, value] : req.headers) {
    const nlohmann::json& got = rt.echoed["headers"];
    if (!got.is_object() || !got.contains(lower(name)) || got[lower(name)] != value)
      return "request header " + name + ": " + value + " did not reach the backend as sent";
  }
  if (rt.ns() != expected.ns) return "expected namespace " + expected.ns + ", the backend says " + rt.ns();
  if (!rt.pod().starts_with(expected.backend))
    return "expected a pod named " + expected.backend + "*, served by " + rt.pod();
  return {};
}

milliseconds max_time_to_consistency() { return e2e::scaled(60000); }

::testing::AssertionResult eventually_consistent(uint16_t port, const ExpectedResponse& expected, milliseconds timeout) {
  constexpr int kRequiredConsecutiveSuccesses = 3;
  int in_a_row = 0;
  std::string last = "no request sent";
  for (const auto until = Clock::now() + timeout; Clock::now() < until;) {
    const std::string why = compare(expected, round_trip(port, expected.request));
    if (why.empty()) {
      if (++in_a_row >= kRequiredConsecutiveSuccesses) return ::testing::AssertionSuccess();
      continue;
    }
    in_a_row = 0;
    last = why;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return ::testing::AssertionFailure() << expected.request.method << " " << expected.request.host
                                       << expected.request.path << " never answered as expected "
                                       << kRequiredConsecutiveSuccesses << " times in a row; last: " << last;
}

::testing::AssertionResult send_all(uint16_t port, const ExpectedResponse& expected, int total, int concurrency,
                                    milliseconds per_request,
                                    const std::function<std::string(const RoundTrip&)>& judge) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string first_error;
  auto fail = [&](const std::string& why) {
    std::lock_guard lock(mu);
    if (!failed.exchange(true)) first_error = why;
  };
  auto worker = [&] {
    while (!failed && next.fetch_add(1) < total) {
      const auto until = Clock::now() + per_request;
      for (;;) {
        const RoundTrip rt = round_trip(port, expected.request);
        const std::string why = compare(expected, rt);
        if (why.empty()) {
          if (std::string verdict = judge(rt); !verdict.empty()) fail(verdict);
          break;
        }
        const int status = rt.response.status;
        if (status != 0 && status != 404 && status != 503) {
          fail("expectation failed: " + why);
          break;
        }
        if (Clock::now() >= until) {
          fail("expectation failed after retries: " + why);
          break;
        }
        std::this_thread::sleep_for(milliseconds(500));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (failed) return ::testing::AssertionFailure() << first_error;
  return ::testing::AssertionSuccess();
}

}  // namespace infergate::conformance
