// Routes that move raw bytes for the gateway's tests: /echo, /bytes, /upload.
#pragma once

#include <memory>

#include "bench/modelsim/http_exchange.hpp"
#include "bench/modelsim/server_context.hpp"

namespace modelsim {

// 200 {method, path, host, headers:{name: value...}, body_bytes, pod, namespace, httpPort};
// repeated headers joined by ", ". pod is the instance name (--name), namespace --namespace,
// httpPort the bound port: the fields the Gateway API conformance echo server reports, which
// tests read to tell which pod served. A request header "X-Echo-Set-Header: name:value[,...]"
// sets those response headers (as that echo server does); entries that are not legal header
// text are skipped.
void handle_echo(const ServerContext& ctx, const HttpRequest& request, ResponseWriter& writer);

// GET /bytes?n=N: N bytes of application/octet-stream in 64 KiB writes, each waiting for the
// previous to flush, so memory stays flat whatever N is.
void start_byte_stream(const HttpRequest& request, std::shared_ptr<ResponseWriter> writer);

// POST /upload: the body was counted while it streamed in; answers {"bytes": N}.
void handle_upload(const HttpRequest& request, ResponseWriter& writer);

}  // namespace modelsim
