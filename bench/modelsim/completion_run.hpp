// One chat/completions request from admission to its last byte: queueing behind
// --max-num-seqs, the TTFT/ITL latency model, SSE streaming and the streaming test hooks
// (x-modelsim-abort-after, x-modelsim-trailers).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "bench/modelsim/completion_request.hpp"
#include "bench/modelsim/http_exchange.hpp"
#include "bench/modelsim/openai_format.hpp"
#include "bench/modelsim/server_context.hpp"

namespace modelsim {

// The streaming test hooks of a request (x-modelsim-trailers, x-modelsim-abort-after).
struct CompletionHooks {
  bool trailers = false;
  std::optional<std::uint32_t> abort_after;
};

// The id, creation time and model a new completion answers with (both latency models).
CompletionIdentity new_completion_identity(ServerContext& ctx, const CompletionRequest& request);

void start_completion(ServerContext& ctx, Endpoint endpoint, const HttpRequest& request,
                      std::shared_ptr<ResponseWriter> writer);

}  // namespace modelsim
