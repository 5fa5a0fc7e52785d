// libFuzzer target for an EPP's ext_proc answers (pools/ext_proc/epp_protocol.h): the input is
// a stream of ProcessingResponse messages, each [2-byte length][bytes], decoded with
// protobuf's ParseFromArray (undecodable ones are skipped, as gRPC would drop the stream)
// and run through the request phase that decides the call's result; then the EPP closes
// the stream. Checks: an endpoints result names only literal ip:port endpoints (what
// parse_endpoint_list accepts), an immediate response has an HTTP status, and a streamed
// body never exceeds the limit.
#include <cstdint>
#include <cstdlib>
#include <optional>

#include <google/protobuf/stubs/logging.h>

#include "pools/ext_proc/epp_protocol.h"

using namespace infergate::ext_proc;
using namespace infergate::ext_proc::detail;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr size_t kMaxBody = 4096;

void check_result(const EppResult& r) {
  switch (r.kind) {
    case ResultKind::kEndpoints:
      check(!r.endpoints.empty());
      for (const auto& e : r.endpoints) check(parse_endpoint_list(e).has_value());
      check(!r.body || r.body->size() <= kMaxBody);
      break;
    case ResultKind::kImmediateResponse:
      check(r.immediate.status >= 200 && r.immediate.status <= 599);
      break;
    case ResultKind::kFailure:
      (void)to_string(r.failure.kind);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // ParseFromArray logs every string field that is not UTF-8; the decode failing is the answer.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  RequestPhase phase(data[0] & 1, data[0] & 2, kMaxBody);
  size_t at = 1;
  std::optional<EppResult> result;
  while (!result && at + 2 <= size) {
    const size_t len = std::min<size_t>((size_t{data[at]} << 8) | data[at + 1], size - at - 2);
    at += 2;
    pb::ProcessingResponse msg;
    const bool ok = msg.ParseFromArray(data + at, static_cast<int>(len));
    at += len;
    if (!ok) continue;
    (void)header_mutations(msg.request_headers().response().header_mutation());
    result = phase.on_response(msg);
  }
  if (result) check_result(*result);
  else check_result(phase.on_closed_ok());
  return 0;
}
