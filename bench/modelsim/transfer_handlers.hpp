// Routes that move raw bytes for the gateway's tests: /echo, /bytes, /upload.
#pragma once

#include <memory>

#include "bench/modelsim/http_exchange.hpp"

namespace modelsim {

// 200 {method, path, headers:{name: value...}, body_bytes}; repeated headers joined by ", ".
void handle_echo(const HttpRequest& request, ResponseWriter& writer);

// GET /bytes?n=N: N bytes of application/octet-stream in 64 KiB writes, each waiting for the
// previous to flush, so memory stays flat whatever N is.
void start_byte_stream(const HttpRequest& request, std::shared_ptr<ResponseWriter> writer);

// POST /upload: the body was counted while it streamed in; answers {"bytes": N}.
void handle_upload(const HttpRequest& request, ResponseWriter& writer);

}  // namespace modelsim
