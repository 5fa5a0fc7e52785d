// Entry point of every request, whatever the codec: test hooks, then the route table.
#pragma once

#include <memory>

#include "bench/modelsim/http_exchange.hpp"
#include "bench/modelsim/server_context.hpp"

namespace modelsim {

// Test hooks (request headers), applied before routing:
//   x-modelsim-delay-ms: N   hold the response head back N ms
//   x-modelsim-status: S     answer S with a small JSON error instead of routing
// The request is copied when the handler outlives this call.
void handle_request(ServerContext& ctx, const HttpRequest& request,
                    std::shared_ptr<ResponseWriter> writer);

// Answers an OpenAI-style error object with the given status.
void respond_error(ResponseWriter& writer, int status, std::string message,
                   std::string type = "invalid_request_error");

}  // namespace modelsim
