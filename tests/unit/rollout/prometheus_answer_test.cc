// A rollout gate's Prometheus answer (rollout/prometheus_answer.h): the documented shapes give
// a value, every other body an error, never an exception (the reader ran inside an Asio
// handler, where one ends the process).
#include <gtest/gtest.h>

#include <cmath>

#include "rollout/prometheus_answer.h"

namespace infergate::rollout {
namespace {

TEST(PrometheusAnswer, VectorSample) {
  auto r = read_prometheus_answer(
      200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"0.25"]}]}})");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_DOUBLE_EQ(*r.value, 0.25);
}

TEST(PrometheusAnswer, ScalarAndInfinity) {
  auto r = read_prometheus_answer(200, R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}})");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_DOUBLE_EQ(*r.value, 3);
  r = read_prometheus_answer(200, R"({"status":"success","data":{"result":[{"value":[1,"+Inf"]}]}})");
  ASSERT_TRUE(r.value) << r.error;
  EXPECT_TRUE(std::isinf(*r.value));
}

// Found by fuzz_prometheus_answer: "data" of another type than an object made
// json::operator[] throw type_error outside the try, in the controller's HTTP callback.
TEST(PrometheusAnswer, DataOfAnotherTypeIsAnErrorNotAThrow) {
  for (const char* body : {R"({"status":"success","data":"x"})", R"({"status":"success","data":[1]})",
                           R"({"status":"success","data":{"result":{"a":1}}})",
                           R"({"status":"success","data":{"result":[7]}})",
                           R"({"status":"success","data":{"result":[{"value":"x"}]}})"}) {
    PrometheusResult r;
    ASSERT_NO_THROW(r = read_prometheus_answer(200, body)) << body;
    EXPECT_FALSE(r.value) << body;
    EXPECT_FALSE(r.error.empty()) << body;
  }
}

// NaN (a 0/0 ratio without traffic) compares false with every bound, so it passed both max
// and min: it must make the gate wait instead.
TEST(PrometheusAnswer, NaNIsNoValue) {
  auto r = read_prometheus_answer(200, R"({"status":"success","data":{"result":[{"value":[1,"NaN"]}]}})");
  EXPECT_FALSE(r.value);
  EXPECT_NE(r.error.find("NaN"), std::string::npos) << r.error;
}

TEST(PrometheusAnswer, PartialNumbersAndErrors) {
  EXPECT_FALSE(read_prometheus_answer(200, R"({"status":"success","data":{"result":[{"value":[1,"1abc"]}]}})").value);
  EXPECT_FALSE(read_prometheus_answer(200, R"({"status":"success","data":{"result":[{"value":[1," 1"]}]}})").value);
  EXPECT_FALSE(read_prometheus_answer(200, R"({"status":"success","data":{"result":[]}})").value);
  auto r = read_prometheus_answer(503, "unavailable");
  EXPECT_FALSE(r.value);
  EXPECT_EQ(r.error, "HTTP 503 unavailable");
  EXPECT_FALSE(read_prometheus_answer(200, R"({"status":"error","error":"bad query"})").value);
  EXPECT_FALSE(read_prometheus_answer(200, "not json").value);
}

}  // namespace
}  // namespace infergate::rollout
