#include "bench/modelsim/engine_run.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/modelsim/engine_driver.hpp"
#include "bench/modelsim/kv_block_manager.hpp"
#include "bench/modelsim/openai_format.hpp"
#include "bench/modelsim/routes.hpp"
#include "bench/modelsim/text_model.hpp"

namespace modelsim {
namespace {

class EngineRun : public std::enable_shared_from_this<EngineRun> {
 public:
  EngineRun(ServerContext& ctx, std::shared_ptr<ResponseWriter> writer, CompletionRequest request,
            CompletionHooks hooks)
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

  void start() {
    Engine& engine = ctx_.engine->engine();
    const std::uint64_t wanted = std::uint64_t{request_.prompt_tokens} + tokens_;
    if (wanted > engine.capacity_tokens()) {
      // vLLM's answer when a request cannot fit the model's context.
      respond_error(*writer_, 400,
                    "This model's maximum context length is " + std::to_string(engine.capacity_tokens()) +
                        " tokens. However, you requested " + std::to_string(wanted) + " tokens (" +
                        std::to_string(request_.prompt_tokens) + " in the messages, " +
                        std::to_string(tokens_) + " in the completion). Please reduce the length of the "
                        "messages or completion.");
      return;
    }
    if (request_.stream) {
      writer_->begin_stream(200, "text/event-stream", hooks_.trailers);
      if (hooks_.abort_after == 0u) {
        writer_->abort();
        return;
      }
    } else if (hooks_.abort_after) {
      writer_->abort();
      return;
    }
    SequenceSpec spec;
    if (!request_.model.empty() && request_.model != ctx_.options.model) spec.adapter = request_.model;
    spec.prompt_tokens = request_.prompt_tokens;
    spec.max_tokens = tokens_;
    if (engine.config().enable_prefix_caching) {
      spec.block_hashes = prompt_block_hashes(request_.prompt_text, engine.config().block_size, spec.adapter);
    }
    sequence_ = std::make_shared<Sequence>(std::move(spec));
    auto executor = writer_->executor();
    sequence_->notify = [self = shared_from_this(), executor](std::uint32_t generated, bool finished) {
      boost::asio::post(executor, [self, generated, finished] { self->on_progress(generated, finished); });
    };
    // --ttft-ms with the engine: fixed time before the request reaches the scheduler.
    const double overhead_ms = ctx_.options.ttft_ms / ctx_.options.time_scale;
    if (overhead_ms <= 0) {
      ctx_.engine->submit(sequence_);
      return;
    }
    timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double, std::milli>(overhead_ms)));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->writer_->gone()) {
        self->sequence_->notify = nullptr;  // never submitted: nothing else holds it
        return;
      }
      self->ctx_.engine->submit(self->sequence_);
    });
  }

 private:
  void on_progress(std::uint32_t generated, bool finished) {
    ready_ = generated;
    finished_ = finished_ || finished;
    if (writer_->gone()) {
      cancel();
      return;
    }
    if (request_.stream) {
      pump();
    } else if (finished_) {
      answer_whole();
    }
  }

  void cancel() {
    if (cancelled_ || finished_) return;
    cancelled_ = true;
    ctx_.engine->cancel(sequence_);
  }

  void answer_whole() {
    std::string body;
    append_completion_body(body, identity_, hash_, finish_reason_, Usage{request_.prompt_tokens, tokens_});
    ctx_.scheduler.add_prompt_tokens(request_.prompt_tokens);
    ctx_.scheduler.add_generation_tokens(tokens_);
    ctx_.scheduler.add_success();
    if (hooks_.trailers) {
      writer_->begin_stream(200, "application/json", true);
      writer_->write(std::move(body), [] {});
      writer_->finish(trailers());
    } else {
      writer_->respond(200, "application/json", std::move(body));
    }
  }

  // Token events: the first token alone, then --stream-interval tokens per event (the last
  // event takes what is left); then the usage chunk when asked for, then [DONE].
  void pump() {
    if (writing_ || cancelled_) return;
    std::string event;
    pending_tokens_ = 0;
    if (tokens_sent_ < tokens_) {
      const std::uint32_t ready = ready_ - tokens_sent_;
      const std::uint32_t interval = std::max<std::uint32_t>(1, ctx_.options.stream_interval);
      if (ready == 0) return;  // the engine has not produced it yet
      if (tokens_sent_ > 0 && ready < interval && ready_ < tokens_) return;
      const std::uint32_t count = tokens_sent_ == 0 ? 1 : std::min(ready, interval);
      const bool last = tokens_sent_ + count == tokens_;
      append_token_event(event, identity_, hash_, tokens_sent_,
                         last ? std::optional<std::string_view>(finish_reason_) : std::nullopt, count);
      if (tokens_sent_ == 0) ctx_.scheduler.add_prompt_tokens(request_.prompt_tokens);
      ctx_.scheduler.add_generation_tokens(count);
      pending_tokens_ = count;
    } else if (request_.include_usage && !usage_sent_) {
      append_usage_event(event, identity_, Usage{request_.prompt_tokens, tokens_});
      usage_sent_ = true;
    } else {
      event = kDoneEvent;
      done_sent_ = true;
    }
    writing_ = true;
    writer_->write(std::move(event), [self = shared_from_this()] { self->after_event(); });
  }

  void after_event() {
    writing_ = false;
    ++events_sent_;
    tokens_sent_ += pending_tokens_;
    if (writer_->gone()) {
      cancel();
      return;
    }
    if (hooks_.abort_after && events_sent_ >= *hooks_.abort_after) {
      cancel();
      writer_->abort();
      return;
    }
    if (done_sent_) {
      ctx_.scheduler.add_success();
      writer_->finish(hooks_.trailers ? trailers() : HeaderList{});
      return;
    }
    pump();
  }

  HeaderList trailers() const { return {{"x-modelsim-tokens", std::to_string(tokens_)}}; }

  ServerContext& ctx_;
  std::shared_ptr<ResponseWriter> writer_;
  CompletionRequest request_;
  CompletionHooks hooks_;
  CompletionIdentity identity_;
  std::uint64_t hash_;
  std::uint32_t tokens_;
  std::string_view finish_reason_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Sequence> sequence_;
  std::uint32_t ready_ = 0;        // tokens the engine produced
  std::uint32_t events_sent_ = 0;  // SSE events written
  std::uint32_t tokens_sent_ = 0;  // tokens in them
  std::uint32_t pending_tokens_ = 0;
  bool usage_sent_ = false;
  bool done_sent_ = false;
  bool writing_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
};

}  // namespace

void start_engine_completion(ServerContext& ctx, CompletionRequest request, CompletionHooks hooks,
                             std::shared_ptr<ResponseWriter> writer) {
  std::make_shared<EngineRun>(ctx, std::move(writer), std::move(request), hooks)->start();
}

}  // namespace modelsim
