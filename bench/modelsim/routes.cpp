#include "bench/modelsim/routes.hpp"

#include <charconv>
#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>

#include "bench/modelsim/completion_run.hpp"
#include "bench/modelsim/metrics_text.hpp"
#include "bench/modelsim/openai_format.hpp"
#include "bench/modelsim/transfer_handlers.hpp"

namespace modelsim {
namespace {

constexpr std::string_view kJson = "application/json";

bool is_completion(std::string_view method, std::string_view path) {
  return method == "POST" && (path == "/v1/chat/completions" || path == "/v1/completions");
}

// A uniform draw in [0, 1) per call; each io thread has its own generator.
double draw() {
  thread_local std::uint64_t state = 0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(&state);
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<double>(state >> 11) * 0x1.0p-53;
}

std::string faults_body(const ServerContext& ctx) {
  nlohmann::json j{{"error_rate", ctx.error_rate.load()}, {"delay_ms", ctx.delay_ms.load()}};
  return j.dump();
}

// POST /modelsim/faults {"error_rate": 0.2, "delay_ms": 150}: either field, for the
// completions that start from now on. Answers the faults in force.
void handle_faults(ServerContext& ctx, const HttpRequest& request, ResponseWriter& writer) {
  if (request.method == "POST") {
    auto j = nlohmann::json::parse(request.body, nullptr, false);
    if (!j.is_object()) return respond_error(writer, 400, "body must be a JSON object");
    auto number = [&](const char* key, double max) -> std::optional<double> {
      if (!j.contains(key)) return std::nullopt;
      if (!j[key].is_number() || j[key].get<double>() < 0 || j[key].get<double>() > max) return -1.0;
      return j[key].get<double>();
    };
    const auto rate = number("error_rate", 1.0);
    const auto delay = number("delay_ms", 3600.0 * 1000.0);
    if ((rate && *rate < 0) || (delay && *delay < 0))
      return respond_error(writer, 400, "error_rate must be 0..1 and delay_ms 0..3600000");
    if (rate) ctx.error_rate.store(*rate);
    if (delay) ctx.delay_ms.store(*delay);
  }
  writer.respond(200, kJson, faults_body(ctx));
}

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
  if (is_completion(method, path)) {
    const double rate = ctx.error_rate.load(std::memory_order_relaxed);
    if (rate > 0 && draw() < rate) {
      respond_error(*writer, 500, "modelsim: injected fault (error_rate " + std::to_string(rate) + ")",
                    "modelsim_injected_error");
      return;
    }
  }
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
  } else if ((method == "GET" || method == "POST") && path == "/modelsim/faults") {
    handle_faults(ctx, request, *writer);
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
  double delay = 0;
  if (!delay_header.empty()) {
    auto delay_ms = parse_number(delay_header, 3'600'000);
    if (!delay_ms) {
      respond_error(*writer, 400, "x-modelsim-delay-ms must be 0..3600000");
      return;
    }
    delay = static_cast<double>(*delay_ms);
  }
  if (is_completion(request.method, request.path())) delay += ctx.delay_ms.load(std::memory_order_relaxed);
  if (delay <= 0) {
    route(ctx, request, std::move(writer));
    return;
  }
  auto held = std::make_shared<HttpRequest>(request);
  auto timer = std::make_shared<boost::asio::steady_timer>(writer->executor());
  timer->expires_after(std::chrono::microseconds(static_cast<int64_t>(delay * 1000)));
  timer->async_wait([&ctx, held, timer, writer](boost::system::error_code ec) {
    if (ec || writer->gone()) return;
    route(ctx, *held, writer);
  });
}

}  // namespace modelsim
