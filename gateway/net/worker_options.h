// How a worker's connections behave: codec limits downstream, connection pools upstream.
#pragma once

#include <chrono>

#include "gateway/http/h1_server_codec.h"
#include "gateway/http/h2_server_codec.h"
#include "gateway/upstream/conn_pool.h"

namespace infergate::gateway {

struct WorkerOptions {
  H1ServerOptions h1;
  H2ServerOptions h2;
  ConnPoolOptions upstream;
  std::chrono::milliseconds idle_timeout{3600 * 1000};
  std::chrono::milliseconds request_headers_timeout{10 * 1000};  // 0 = none
};

}  // namespace infergate::gateway
