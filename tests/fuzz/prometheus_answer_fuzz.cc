// libFuzzer target for a Prometheus query answer as a rollout's gate reads it
// (rollout/prometheus_answer.h): any body, with status 200 or not. Checks that the reader
// never throws (it runs in an Asio handler), and that it gives a value or an error, never
// both and never NaN (which would pass every bound).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rollout/prometheus_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int status = (data[0] & 1) ? 200 : 100 + data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const infergate::rollout::PrometheusResult r = infergate::rollout::read_prometheus_answer(status, body);
  if (r.value.has_value() == !r.error.empty()) std::abort();
  if (r.value && std::isnan(*r.value)) std::abort();
  if (r.value && status != 200) std::abort();
  return 0;
}
