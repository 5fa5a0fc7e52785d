#include "bench/modelsim/kv_cache_model.hpp"

#include <algorithm>

namespace modelsim {

TokenCountKvModel::TokenCountKvModel(std::uint64_t capacity_tokens)
    : capacity_(std::max<std::uint64_t>(1, capacity_tokens)) {}

void TokenCountKvModel::on_admit(const KvRequest& request) {
  reserved_ += std::uint64_t{request.prompt_tokens} + request.output_tokens;
}

void TokenCountKvModel::on_release(const KvRequest& request) {
  reserved_ -= std::min(reserved_, std::uint64_t{request.prompt_tokens} + request.output_tokens);
}

double TokenCountKvModel::usage() const {
  return std::min(1.0, static_cast<double>(reserved_) / static_cast<double>(capacity_));
}

}  // namespace modelsim
