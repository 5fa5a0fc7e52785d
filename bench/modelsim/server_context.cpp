#include "bench/modelsim/server_context.hpp"

#include <chrono>

#include "bench/modelsim/openai_format.hpp"

namespace modelsim {

ServerContext::ServerContext(Options opts, std::string instance_name)
    : options(std::move(opts)),
      instance(std::move(instance_name)),
      model_json(json_quote(options.model)),
      started_at(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count()),
      scheduler(options.max_num_seqs, std::make_unique<TokenCountKvModel>()),
      error_rate(options.error_rate),
      delay_ms(options.delay_ms) {}

}  // namespace modelsim
