// One chat/completions request served by the continuous-batching engine (--engine, --profile
// and the other engine flags): its tokens come as the engine's steps produce them; streaming,
// the usage chunk and the test hooks work as with the fixed TTFT/ITL model.
#pragma once

#include <memory>

#include "bench/modelsim/completion_request.hpp"
#include "bench/modelsim/completion_run.hpp"
#include "bench/modelsim/http_exchange.hpp"
#include "bench/modelsim/server_context.hpp"

namespace modelsim {

void start_engine_completion(ServerContext& ctx, CompletionRequest request, CompletionHooks hooks,
                             std::shared_ptr<ResponseWriter> writer);

}  // namespace modelsim
