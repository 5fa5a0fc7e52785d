// libFuzzer target for the token-usage reader (metrics/token_usage.h): a model server's
// response body as JSON and as an SSE stream, whole, under every split into two pieces (128
// evenly spaced ones past 128 bytes) and byte by byte: every split must give the whole's answer.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "metrics/token_usage.h"

using infergate::metrics::TokenUsageReader;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct Answer {
  std::optional<uint64_t> prompt, completion;
  uint32_t events;
  bool operator==(const Answer&) const = default;
};

Answer read(TokenUsageReader::Body kind, std::string_view body, size_t split) {
  TokenUsageReader r(kind);
  r.feed(body.substr(0, split));
  r.feed(body.substr(split));
  r.finish();
  return {r.prompt_tokens(), r.completion_tokens(), r.data_events()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto kind : {TokenUsageReader::Body::Json, TokenUsageReader::Body::EventStream}) {
    const Answer whole = read(kind, body, size);
    if (kind == TokenUsageReader::Body::Json) check(whole.events == 0);
    const size_t step = size <= 128 ? 1 : size / 127;  // every split of short inputs, 128 of long ones
    for (size_t i = 0; i < size; i += step) check(read(kind, body, i) == whole);
    TokenUsageReader bytes(kind);
    for (size_t i = 0; i < size; ++i) bytes.feed(body.substr(i, 1));
    bytes.finish();
    check((Answer{bytes.prompt_tokens(), bytes.completion_tokens(), bytes.data_events()}) == whole);
  }
  (void)TokenUsageReader::body_of(body.substr(0, 64));
  return 0;
}
