// libFuzzer target for the model-server /metrics parser (pools/model_server_metrics.h): any
// text a scraped endpoint returns. Checks that what it reports is usable by the picker:
// queue and running counts and KV-cache use finite (sums of series included).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pools/model_server_metrics.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const infergate::pools::ModelServerSignals s = infergate::pools::parse_model_server_metrics(text);
  (void)s.empty();
  for (const auto& v : {s.waiting, s.running, s.kv_cache}) check(!v || std::isfinite(*v));
  // Every line is either read, skipped as another family, or counted malformed: never more
  // malformed lines than lines.
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  check(s.malformed_lines <= lines);
  return 0;
}
