#include "bench/modelsim/routes.hpp"

#include <charconv>
#include <chrono>
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include "bench/modelsim/completion_run.hpp"
#include "bench/modelsim/metrics_text.hpp"
#include "bench/modelsim/openai_format.hpp"
#include "bench/modelsim/transfer_handlers.hpp"

namespace modelsim {
namespace {

constexpr std::string_view kJson = "application/json";

std::optional<std::uint64_t> parse_number(std::string_view text, std::uint64_t max) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

void route(ServerContext& ctx, const HttpRequest& request, std::shared_ptr<ResponseWriter> writer) {
  if (auto status = request.header("x-modelsim-status"); !status.empty()) {
    auto code = parse_number(status, 599);
    if (!code || *code < 200) {
      respond_error(*writer, 400, "x-modelsim-status must be a status code 200..599");
      return;
    }
    respond_error(*writer, static_cast<int>(*code),
                  "modelsim: injected status " + std::string(status), "modelsim_injected_error");
    return;
  }

  const std::string_view path = request.path();
  const std::string_view method = request.method;
  if (method == "POST" && path == "/v1/chat/completions") {
    start_completion(ctx, Endpoint::kChat, request, std::move(writer));
  } else if (method == "POST" && path == "/v1/completions") {
    start_completion(ctx, Endpoint::kCompletion, request, std::move(writer));
  } else if (method == "GET" && path == "/v1/models") {
    writer->respond(200, kJson, models_body(ctx.model_json, ctx.started_at));
  } else if (method == "GET" && path == "/health") {
    writer->respond(200, {}, {});
  } else if (method == "GET" && path == "/metrics") {
    writer->respond(200, kMetricsContentType,
                    render_metrics(ctx.scheduler.snapshot(), ctx.options.model));
  } else if ((method == "GET" || method == "POST") && path == "/echo") {
    handle_echo(request, *writer);
  } else if (method == "GET" && path == "/bytes") {
    start_byte_stream(request, std::move(writer));
  } else if (method == "POST" && path == "/upload") {
    handle_upload(request, *writer);
  } else {
    respond_error(*writer, 404,
                  "no route for " + std::string(method) + " " + std::string(path),
                  "not_found_error");
  }
}

}  // namespace

void respond_error(ResponseWriter& writer, int status, std::string message, std::string type) {
  ApiError error;
  error.status = status;
  error.message = std::move(message);
  error.type = std::move(type);
  writer.respond(status, kJson, error_body(error));
}

void handle_request(ServerContext& ctx, const HttpRequest& request,
                    std::shared_ptr<ResponseWriter> writer) {
  auto delay_header = request.header("x-modelsim-delay-ms");
  if (delay_header.empty()) {
    route(ctx, request, std::move(writer));
    return;
  }
  auto delay_ms = parse_number(delay_header, 3'600'000);
  if (!delay_ms) {
    respond_error(*writer, 400, "x-modelsim-delay-ms must be 0..3600000");
    return;
  }
  auto held = std::make_shared<HttpRequest>(request);
  auto timer = std::make_shared<boost::asio::steady_timer>(writer->executor());
  timer->expires_after(std::chrono::milliseconds(*delay_ms));
  timer->async_wait([&ctx, held, timer, writer](boost::system::error_code ec) {
    if (ec || writer->gone()) return;
    route(ctx, *held, writer);
  });
}

}  // namespace modelsim
