#include "bench/modelsim/completion_run.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/modelsim/engine_run.hpp"
#include "bench/modelsim/openai_format.hpp"
#include "bench/modelsim/routes.hpp"
#include "bench/modelsim/text_model.hpp"

namespace modelsim {
namespace {

using Clock = std::chrono::steady_clock;

Clock::duration millis(double ms) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}

using Hooks = CompletionHooks;

std::optional<Hooks> read_hooks(const HttpRequest& request, ResponseWriter& writer) {
  Hooks hooks;
  hooks.trailers = request.header("x-modelsim-trailers") == "1";
  if (auto abort = request.header("x-modelsim-abort-after"); !abort.empty()) {
    std::uint32_t n = 0;
    auto [end, ec] = std::from_chars(abort.data(), abort.data() + abort.size(), n);
    if (ec != std::errc{} || end != abort.data() + abort.size()) {
      respond_error(writer, 400, "x-modelsim-abort-after must be a non-negative integer");
      return std::nullopt;
    }
    hooks.abort_after = n;
  }
  return hooks;
}

}  // namespace

CompletionIdentity new_completion_identity(ServerContext& ctx, const CompletionRequest& request) {
  CompletionIdentity identity;
  identity.endpoint = request.endpoint;
  identity.id = completion_id(request.endpoint, ctx.next_request_id.fetch_add(1, std::memory_order_relaxed));
  identity.created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  identity.model_json = ctx.model_json;
  return identity;
}

namespace {

class CompletionRun : public std::enable_shared_from_this<CompletionRun> {
 public:
  CompletionRun(ServerContext& ctx, std::shared_ptr<ResponseWriter> writer,
                CompletionRequest request, Hooks hooks)
      : ctx_(ctx),
        writer_(std::move(writer)),
        request_(std::move(request)),
        hooks_(hooks),
        hash_(prompt_hash(request_.prompt_text, ctx.options.seed)),
        tokens_(output_token_count(request_, ctx.options.output_tokens)),
        finish_reason_(finish_reason(request_, ctx.options.output_tokens)),
        timer_(writer_->executor()) {
    identity_ = new_completion_identity(ctx, request_);
  }

  // The common case of a load test: nothing to wait for, nothing to hook, a slot free.
  static bool try_answer_at_once(ServerContext& ctx, const CompletionRequest& request,
                                 const Hooks& hooks, ResponseWriter& writer) {
    if (request.stream || hooks.trailers || hooks.abort_after || ctx.options.ttft_ms > 0 ||
        ctx.options.itl_ms > 0) {
      return false;
    }
    const std::uint32_t tokens = output_token_count(request, ctx.options.output_tokens);
    const KvRequest kv{request.prompt_text, request.prompt_tokens, tokens};
    if (!ctx.scheduler.try_admit(kv)) return false;
    CompletionIdentity identity;
    identity.endpoint = request.endpoint;
    identity.id = completion_id(request.endpoint,
                                ctx.next_request_id.fetch_add(1, std::memory_order_relaxed));
    identity.created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    identity.model_json = ctx.model_json;
    std::string body;
    body.reserve(512 + tokens * 10);
    append_completion_body(body, identity, prompt_hash(request.prompt_text, ctx.options.seed),
                           finish_reason(request, ctx.options.output_tokens),
                           Usage{request.prompt_tokens, tokens});
    ctx.scheduler.add_prompt_tokens(request.prompt_tokens);
    ctx.scheduler.add_generation_tokens(tokens);
    ctx.scheduler.add_success();
    ctx.scheduler.release(kv);
    writer.respond(200, "application/json", std::move(body));
    return true;
  }

  void start() {
    if (request_.stream) {
      // Like vLLM, the head goes out at once; TTFT is the wait for the first event.
      writer_->begin_stream(200, "text/event-stream", hooks_.trailers);
      if (hooks_.abort_after == 0u) {
        writer_->abort();
        return;
      }
    } else if (hooks_.abort_after) {
      // Non-streaming: the connection closes before any response byte.
      writer_->abort();
      return;
    }
    const KvRequest kv = kv_request();
    if (ctx_.scheduler.try_admit(kv)) {
      on_running();
      return;
    }
    auto self = shared_from_this();
    auto executor = writer_->executor();
    if (ctx_.scheduler.admit_or_wait(kv, [self, executor] {
          boost::asio::post(executor, [self] { self->on_running(); });
        })) {
      on_running();
    }
  }

 private:
  KvRequest kv_request() const { return {request_.prompt_text, request_.prompt_tokens, tokens_}; }

  void on_running() {
    running_ = true;
    if (writer_->gone()) {
      release();
      return;
    }
    first_token_at_ = Clock::now() + millis(ctx_.options.ttft_ms / ctx_.options.time_scale);
    if (request_.stream) {
      wait_until(first_token_at_, &CompletionRun::send_next_event);
    } else {
      const auto done_at = first_token_at_ + millis(itl_ms() * (tokens_ - 1));
      wait_until(done_at, &CompletionRun::answer_whole);
    }
  }

  double itl_ms() const { return ctx_.options.itl_ms / ctx_.options.time_scale; }

  void wait_until(Clock::time_point at, void (CompletionRun::*next)()) {
    // A stall (POST /modelsim/faults {"stall_ms": D}) pushes the rest of the request back.
    if (const auto stalled = ctx_.stall_until(); stalled > at) {
      first_token_at_ += stalled - at;
      at = stalled;
    }
    if (at <= Clock::now()) {
      (this->*next)();
      return;
    }
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this(), next](boost::system::error_code ec) {
      if (ec) {
        self->release();
        return;
      }
      ((*self).*next)();
    });
  }

  void answer_whole() {
    if (writer_->gone()) {
      release();
      return;
    }
    std::string body;
    append_completion_body(body, identity_, hash_, finish_reason_, Usage{request_.prompt_tokens, tokens_});
    ctx_.scheduler.add_prompt_tokens(request_.prompt_tokens);
    ctx_.scheduler.add_generation_tokens(tokens_);
    ctx_.scheduler.add_success();
    release();
    if (hooks_.trailers) {
      writer_->begin_stream(200, "application/json", true);
      writer_->write(std::move(body), [] {});
      writer_->finish(trailers());
    } else {
      writer_->respond(200, "application/json", std::move(body));
    }
  }

  // Events in order: one per token, the usage chunk when asked for, then [DONE].
  std::uint32_t event_count() const { return tokens_ + (request_.include_usage ? 1 : 0) + 1; }

  void send_next_event() {
    if (writer_->gone()) {
      release();
      return;
    }
    std::string event;
    if (events_sent_ < tokens_) {
      const bool last = events_sent_ + 1 == tokens_;
      append_token_event(event, identity_, hash_, events_sent_,
                         last ? std::optional<std::string_view>(finish_reason_) : std::nullopt);
      if (events_sent_ == 0) ctx_.scheduler.add_prompt_tokens(request_.prompt_tokens);
      ctx_.scheduler.add_generation_tokens(1);
      if (last) release();  // generation is over; the rest is bookkeeping on the wire
    } else if (request_.include_usage && events_sent_ == tokens_) {
      append_usage_event(event, identity_, Usage{request_.prompt_tokens, tokens_});
    } else {
      event = kDoneEvent;
    }
    writer_->write(std::move(event), [self = shared_from_this()] { self->after_event(); });
  }

  void after_event() {
    ++events_sent_;
    if (writer_->gone()) {
      release();
      return;
    }
    if (hooks_.abort_after && events_sent_ >= *hooks_.abort_after) {
      release();
      writer_->abort();
      return;
    }
    if (events_sent_ == event_count()) {
      ctx_.scheduler.add_success();
      writer_->finish(hooks_.trailers ? trailers() : HeaderList{});
      return;
    }
    if (events_sent_ < tokens_) {
      wait_until(first_token_at_ + millis(itl_ms() * events_sent_),
                 &CompletionRun::send_next_event);
    } else {
      send_next_event();
    }
  }

  HeaderList trailers() const { return {{"x-modelsim-tokens", std::to_string(tokens_)}}; }

  void release() {
    if (!running_ || released_) return;
    released_ = true;
    ctx_.scheduler.release(kv_request());
  }

  ServerContext& ctx_;
  std::shared_ptr<ResponseWriter> writer_;
  CompletionRequest request_;
  Hooks hooks_;
  CompletionIdentity identity_;
  std::uint64_t hash_;
  std::uint32_t tokens_;
  std::string_view finish_reason_;
  boost::asio::steady_timer timer_;
  Clock::time_point first_token_at_{};
  std::uint32_t events_sent_ = 0;
  bool running_ = false;
  bool released_ = false;
};

}  // namespace

void start_completion(ServerContext& ctx, Endpoint endpoint, const HttpRequest& request,
                      std::shared_ptr<ResponseWriter> writer) {
  auto parsed = parse_completion_request(endpoint, request.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) {
    writer->respond(error->status, "application/json", error_body(*error));
    return;
  }
  auto& completion = std::get<CompletionRequest>(parsed);
  if (!completion.model.empty() && completion.model != ctx.options.model &&
      !ctx.adapters.serves(completion.model)) {
    ApiError error;
    error.status = 404;
    error.message = "The model `" + completion.model + "` does not exist.";
    error.param = "model";
    error.code = "model_not_found";
    writer->respond(404, "application/json", error_body(error));
    return;
  }
  auto hooks = read_hooks(request, *writer);
  if (!hooks) return;
  if (ctx.engine) {
    start_engine_completion(ctx, std::move(completion), *hooks, std::move(writer));
    return;
  }
  if (CompletionRun::try_answer_at_once(ctx, completion, *hooks, *writer)) return;
  std::make_shared<CompletionRun>(ctx, std::move(writer), std::move(completion), *hooks)->start();
}

}  // namespace modelsim
